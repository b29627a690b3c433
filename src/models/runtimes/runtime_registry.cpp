// One line per runtime: adding a runtime is a new file in this folder and one entry here.
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/runtime.h"

namespace seraph {

std::unique_ptr<Runtime> make_fasttext_runtime(const ModelConfig&, const std::filesystem::path&);
std::unique_ptr<Runtime> make_xgboost_runtime(const ModelConfig&, const std::filesystem::path&);
std::unique_ptr<Runtime> make_torchscript_runtime(const ModelConfig&, const std::filesystem::path&);

namespace {
struct RuntimeEntry {
  std::string_view name;
  std::unique_ptr<Runtime> (*make)(const ModelConfig&, const std::filesystem::path&);
};
constexpr RuntimeEntry kRuntimes[] = {
    {"fasttext", make_fasttext_runtime},
    {"xgboost", make_xgboost_runtime},
    {"torchscript", make_torchscript_runtime},
};
}  // namespace

namespace {
struct AddedRuntimes {
  std::mutex mutex;
  std::vector<std::pair<std::string, RuntimeFactory>> entries;
};
AddedRuntimes& added_runtimes() {
  static AddedRuntimes added;
  return added;
}
// The factory registered under `name`, or null.
RuntimeFactory added_runtime(const std::string& name) {
  AddedRuntimes& added = added_runtimes();
  std::lock_guard lock(added.mutex);
  for (const auto& [added_name, make] : added.entries) {
    if (added_name == name) return make;
  }
  return nullptr;
}
}  // namespace

void register_runtime(std::string name, RuntimeFactory make) {
  AddedRuntimes& added = added_runtimes();
  std::lock_guard lock(added.mutex);
  added.entries.emplace_back(std::move(name), std::move(make));
}

bool is_known_runtime(const std::string& name) {
  for (const auto& entry : kRuntimes) {
    if (entry.name == name) return true;
  }
  return added_runtime(name) != nullptr;
}

std::unique_ptr<Runtime> create_runtime(const ModelConfig& config, const std::filesystem::path& version_dir) {
  for (const auto& entry : kRuntimes) {
    if (entry.name == config.runtime) return entry.make(config, version_dir);
  }
  if (RuntimeFactory make = added_runtime(config.runtime)) return make(config, version_dir);
  throw std::runtime_error("unknown runtime '" + config.runtime + "'");
}

}  // namespace seraph
