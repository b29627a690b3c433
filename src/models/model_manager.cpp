#include "models/model_manager.h"

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace seraph {

bool is_valid_model_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

namespace {
std::optional<int64_t> parse_version(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1 || text.front() == '0') return std::nullopt;
  return v;
}
}  // namespace

ModelManager::ModelManager(std::filesystem::path repository, ExecutionLimits limits, MetricsRegistry& metrics)
    : repository_(std::move(repository)), limits_(limits), families_(metrics), table_(std::make_shared<Table>()) {}

ModelManager::~ModelManager() = default;

void ModelManager::load_all() {
  auto table = std::make_shared<Table>();
  std::error_code ec;
  for (const auto& model_dir : std::filesystem::directory_iterator(repository_, ec)) {
    const std::string name = model_dir.path().filename().string();
    if (!model_dir.is_directory() || !is_valid_model_name(name)) continue;
    ModelEntry entry{name, {}};
    std::error_code version_ec;
    for (const auto& version_dir : std::filesystem::directory_iterator(model_dir.path(), version_ec)) {
      auto version = parse_version(version_dir.path().filename().string());
      if (!version_dir.is_directory() || !version) continue;
      entry.versions.push_back(std::make_shared<ModelVersion>(name, *version, version_dir.path(), families_));
    }
    std::sort(entry.versions.begin(), entry.versions.end(),
              [](const auto& a, const auto& b) { return a->version() < b->version(); });
    if (!entry.versions.empty()) table->emplace(name, std::move(entry));
  }
  if (ec) spdlog::error(R"({{"msg":"cannot read model repository","path":"{}","error":"{}"}})", repository_.string(), ec.message());
  table_.store(table, std::memory_order_release);

  for (auto& [name, entry] : *table) {
    for (auto& version : entry.versions) {
      version->load(limits_);
      if (version->state() == ModelState::kReady) {
        spdlog::info(R"({{"msg":"model loaded","model":"{}","version":{},"runtime":"{}","load_ms":{:.1f}}})", name,
                     version->version(), version->config().runtime, version->load_seconds() * 1000);
      } else {
        spdlog::error(R"({{"msg":"model failed to load","model":"{}","version":{},"reason":"{}"}})", name,
                      version->version(), version->reason());
      }
    }
  }
  loaded_.store(true, std::memory_order_release);
}

void ModelManager::shutdown() {
  auto table = table_.exchange(std::make_shared<Table>(), std::memory_order_acq_rel);
  for (auto& [name, entry] : *table) {
    for (auto& version : entry.versions) version->unload();
  }
}

bool ModelManager::all_ready() const {
  if (!loaded()) return false;
  for (const auto& [name, entry] : *snapshot()) {
    for (const auto& version : entry.versions) {
      if (version->state() != ModelState::kReady) return false;
    }
  }
  return true;
}

std::shared_ptr<ModelVersion> ModelManager::find(std::string_view model, std::optional<int64_t> version,
                                                 Status& status) const {
  auto table = snapshot();
  auto it = table->find(model);
  if (it == table->end()) {
    status = not_found(fmt::format("unknown model '{}'", model));
    return nullptr;
  }
  const auto& versions = it->second.versions;
  if (version) {
    for (const auto& v : versions) {
      if (v->version() != *version) continue;
      if (v->state() != ModelState::kReady) {
        status = unavailable(fmt::format("model '{}' version {} is not ready ({}{}{})", model, *version,
                                         state_name(v->state()), v->reason().empty() ? "" : ": ", v->reason()));
        return nullptr;
      }
      return v;
    }
    status = not_found(fmt::format("unknown version {} of model '{}'", *version, model));
    return nullptr;
  }
  for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
    if ((*v)->state() == ModelState::kReady) return *v;
  }
  status = unavailable(fmt::format("model '{}' has no ready version", model));
  return nullptr;
}

}  // namespace seraph
