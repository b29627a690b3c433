// One line per runtime: adding a runtime is a new file in this folder and one entry here.
#include <stdexcept>
#include <string_view>

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

bool is_known_runtime(const std::string& name) {
  for (const auto& entry : kRuntimes) {
    if (entry.name == name) return true;
  }
  return false;
}

std::unique_ptr<Runtime> create_runtime(const ModelConfig& config, const std::filesystem::path& version_dir) {
  for (const auto& entry : kRuntimes) {
    if (entry.name == config.runtime) return entry.make(config, version_dir);
  }
  throw std::runtime_error("unknown runtime '" + config.runtime + "'");
}

}  // namespace seraph
