#include "models/model_manager.h"

#include <algorithm>
#include <charconv>
#include <future>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace seraph {

namespace {
std::optional<int64_t> parse_version(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1 || text.front() == '0') return std::nullopt;
  return v;
}
}  // namespace

ModelManager::ModelManager(std::filesystem::path repository, LifecycleOptions options, MetricsRegistry& metrics)
    : repository_(std::move(repository)),
      options_(options),
      families_(metrics),
      budget_gauge_(metrics.gauge("seraph_models_memory_budget_bytes", "Memory budget for loaded model versions, in bytes (0: none).").get({})),
      loaded_gauge_(metrics.gauge("seraph_models_memory_loaded_bytes", "Memory the loaded model versions take, in bytes.").get({})),
      evictions_(metrics.counter("seraph_model_evictions_total", "Model versions unloaded to keep within the memory budget.").get({})),
      scans_(metrics.counter("seraph_model_repository_scans_total", "Looks at the model repository for new and removed versions.").get({})),
      table_(std::make_shared<Table>()),
      loader_([this] { run_loader(); }) {
  budget_gauge_.set(static_cast<double>(options_.memory_budget_bytes));
}

ModelManager::~ModelManager() {
  {
    std::lock_guard lock(jobs_mutex_);
    stopping_ = true;
  }
  jobs_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  loader_.join();
}

void ModelManager::run_watcher() {
  std::unique_lock lock(jobs_mutex_);
  while (!jobs_cv_.wait_for(lock, options_.poll_interval, [this] { return stopping_; })) {
    jobs_.push_back([this] { rescan(); });
    jobs_cv_.notify_all();
  }
}

std::shared_ptr<ModelVersion> ModelManager::make_version(const std::string& model, int64_t version,
                                                        const std::filesystem::path& dir) {
  auto request_load = [this](ModelVersion& v) { enqueue([this, &v] { load_version(v); }); };
  auto v = std::make_shared<ModelVersion>(model, version, dir, families_, options_.limits, request_load);
  v->read_config();
  return v;
}

namespace {
// What a version directory's files look like now: model.yaml and its artifact, by size and time.
// Empty while model.yaml does not parse or the artifact is missing.
std::string fingerprint(const std::filesystem::path& dir) {
  ModelConfig config;
  if (!load_model_config(dir / "model.yaml", config).is_ok()) return "";
  std::string print;
  for (const auto& file : {dir / "model.yaml", dir / config.artifact}) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) return "";
    const auto time = std::filesystem::last_write_time(file, ec);
    if (ec) return "";
    print += std::to_string(size) + "@" + std::to_string(time.time_since_epoch().count()) + ";";
  }
  return print;
}
}  // namespace

std::set<int64_t> ModelManager::served_versions(const std::filesystem::path& model_dir) {
  std::vector<int64_t> found;
  std::error_code ec;
  for (const auto& version_dir : std::filesystem::directory_iterator(model_dir, ec)) {
    auto number = parse_version(version_dir.path().filename().string());
    if (version_dir.is_directory() && number) found.push_back(*number);
  }
  VersionPolicy policy;
  if (Status s = model_version_policy(model_dir, options_.version_policy, policy); !s.is_ok()) {
    spdlog::error(R"({{"msg":"bad version policy: serving every version","error":"{}"}})", s.message());
    policy = {};
  }
  return policy.select(found);
}

void ModelManager::rescan() {
  std::map<std::string, std::set<int64_t>> serving;
  for (const auto& v : add_found_versions(serving)) {
    if (!v->lazy() && v->state() == ModelState::kLoading) load_version(*v);
  }
  retire_versions(serving);
  scans_.add();
}

std::vector<std::shared_ptr<ModelVersion>> ModelManager::add_found_versions(
    std::map<std::string, std::set<int64_t>>& serving) {
  auto next = std::make_shared<Table>(*snapshot());
  std::vector<std::shared_ptr<ModelVersion>> added;
  std::map<std::filesystem::path, std::string> seen;
  std::error_code ec;
  for (const auto& model_dir : std::filesystem::directory_iterator(repository_, ec)) {
    const std::string name = model_dir.path().filename().string();
    if (!model_dir.is_directory() || !is_valid_model_name(name)) continue;
    const std::set<int64_t> served = served_versions(model_dir.path());
    serving[name] = served;
    std::error_code version_ec;
    for (const auto& version_dir : std::filesystem::directory_iterator(model_dir.path(), version_ec)) {
      auto number = parse_version(version_dir.path().filename().string());
      if (!version_dir.is_directory() || !number || !served.count(*number)) continue;
      auto& versions = (*next)[name].versions;
      (*next)[name].name = name;
      if (std::any_of(versions.begin(), versions.end(), [&](const auto& v) { return v->version() == *number; })) continue;
      // A version still being copied changes between polls (or does not parse yet): wait.
      const std::string print = fingerprint(version_dir.path());
      if (print.empty()) continue;
      seen[version_dir.path()] = print;
      auto previous = pending_fingerprints_.find(version_dir.path());
      if (previous == pending_fingerprints_.end() || previous->second != print) continue;
      auto v = make_version(name, *number, version_dir.path());
      versions.push_back(v);
      added.push_back(v);
      std::sort(versions.begin(), versions.end(),
                [](const auto& a, const auto& b) { return a->version() < b->version(); });
      spdlog::info(R"({{"msg":"model version found","model":"{}","version":{}}})", name, *number);
    }
  }
  pending_fingerprints_.swap(seen);
  std::erase_if(*next, [](const auto& item) { return item.second.versions.empty(); });
  // Published while LOADING: shown in /models, and asked for by number it waits for its load;
  // find() keeps unversioned requests on the READY versions meanwhile.
  if (!added.empty()) publish(next);
  return added;
}

void ModelManager::retire_versions(const std::map<std::string, std::set<int64_t>>& serving) {
  auto next = std::make_shared<Table>(*snapshot());
  bool changed = false;
  for (auto& [name, entry] : *next) {
    auto it = serving.find(name);
    const std::set<int64_t> served = it == serving.end() ? std::set<int64_t>{} : it->second;
    auto on_disk = [](const auto& v) { return std::filesystem::exists(v->dir() / "model.yaml"); };
    // A version the policy no longer serves (a newer one arrived under "latest N") keeps serving
    // until a version the policy serves is READY, so unversioned requests always have one to use.
    const bool successor_ready = std::any_of(entry.versions.begin(), entry.versions.end(), [&](const auto& v) {
      return served.count(v->version()) && v->state() == ModelState::kReady && on_disk(v);
    });
    auto gone = std::stable_partition(entry.versions.begin(), entry.versions.end(), [&](const auto& v) {
      return on_disk(v) && (served.count(v->version()) || !successor_ready);
    });
    for (auto v = gone; v != entry.versions.end(); ++v) {
      spdlog::info(R"({{"msg":"model version removed","model":"{}","version":{}}})", name, (*v)->version());
      retiring_.push_back(*v);
    }
    if (gone != entry.versions.end()) changed = true;
    entry.versions.erase(gone, entry.versions.end());
  }
  std::erase_if(*next, [](const auto& item) { return item.second.versions.empty(); });
  if (changed) publish(next);
  // Retired versions unload once no request uses them.
  std::erase_if(retiring_, [](const auto& v) {
    return v->state() != ModelState::kReady || v->try_unload("removed from the repository", "requested", false);
  });
}

void ModelManager::enqueue(std::function<void()> job) {
  {
    std::lock_guard lock(jobs_mutex_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
  }
  jobs_cv_.notify_one();
}

void ModelManager::run_loader() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(jobs_mutex_);
      jobs_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

void ModelManager::load_version(ModelVersion& version) {
  version.load();
  if (version.state() == ModelState::kReady) {
    spdlog::info(R"({{"msg":"model loaded","model":"{}","version":{},"runtime":"{}","load_ms":{:.1f},"bytes":{}}})",
                 version.model(), version.version(), version.config().runtime, version.load_seconds() * 1000,
                 version.footprint_bytes());
    enforce_budget(&version);
  } else {
    spdlog::error(R"({{"msg":"model failed to load","model":"{}","version":{},"reason":"{}"}})", version.model(),
                  version.version(), version.reason());
  }
  loaded_gauge_.set(static_cast<double>(loaded_bytes()));
}

int64_t ModelManager::loaded_bytes() const {
  int64_t total = 0;
  for (const auto& [name, entry] : *snapshot()) {
    for (const auto& v : entry.versions) {
      if (v->state() == ModelState::kReady) total += v->footprint_bytes();
    }
  }
  return total;
}

void ModelManager::enforce_budget(const ModelVersion* keep) {
  if (options_.memory_budget_bytes <= 0) return;
  auto table = snapshot();
  while (loaded_bytes() > options_.memory_budget_bytes) {
    ModelVersion* victim = nullptr;
    for (const auto& [name, entry] : *table) {
      for (const auto& v : entry.versions) {
        if (v.get() == keep || v->state() != ModelState::kReady || v->in_use() > 0) continue;
        if (!victim || v->last_used_ns() < victim->last_used_ns()) victim = v.get();
      }
    }
    const std::string reason = fmt::format("unloaded to keep within the memory budget of {} bytes", options_.memory_budget_bytes);
    if (!victim || !victim->try_unload(reason, "evicted", /*reloadable=*/true)) {
      if (!victim) {
        spdlog::warn(R"({{"msg":"over the memory budget: every other loaded version is in use","loaded_bytes":{},"budget_bytes":{}}})",
                     loaded_bytes(), options_.memory_budget_bytes);
        return;
      }
      continue;  // it became busy at the last moment; look again
    }
    evictions_.add();
    spdlog::info(R"({{"msg":"model evicted","model":"{}","version":{},"reason":"memory budget"}})", victim->model(),
                 victim->version());
  }
}

void ModelManager::load_all() {
  auto table = std::make_shared<Table>();
  std::error_code ec;
  for (const auto& model_dir : std::filesystem::directory_iterator(repository_, ec)) {
    const std::string name = model_dir.path().filename().string();
    if (!model_dir.is_directory() || !is_valid_model_name(name)) continue;
    ModelEntry entry{name, {}};
    const std::set<int64_t> served = served_versions(model_dir.path());
    std::error_code version_ec;
    for (const auto& version_dir : std::filesystem::directory_iterator(model_dir.path(), version_ec)) {
      auto version = parse_version(version_dir.path().filename().string());
      if (!version_dir.is_directory() || !version || !served.count(*version)) continue;
      entry.versions.push_back(make_version(name, *version, version_dir.path()));
    }
    std::sort(entry.versions.begin(), entry.versions.end(),
              [](const auto& a, const auto& b) { return a->version() < b->version(); });
    if (!entry.versions.empty()) table->emplace(name, std::move(entry));
  }
  if (ec) spdlog::error(R"({{"msg":"cannot read model repository","path":"{}","error":"{}"}})", repository_.string(), ec.message());
  publish(table);

  // Eager versions load now, one after another on the loader thread; broken configs are reported.
  std::promise<void> eager_done;
  for (auto& [name, entry] : *table) {
    for (auto& version : entry.versions) {
      if (version->state() == ModelState::kUnavailable && !version->lazy()) {
        spdlog::error(R"({{"msg":"model failed to load","model":"{}","version":{},"reason":"{}"}})", name,
                      version->version(), version->reason());
      } else if (!version->lazy()) {
        enqueue([this, v = version.get()] { load_version(*v); });
      }
    }
  }
  enqueue([&eager_done] { eager_done.set_value(); });
  eager_done.get_future().wait();
  loaded_.store(true, std::memory_order_release);
  if (options_.poll_interval.count() > 0) watcher_ = std::thread([this] { run_watcher(); });
}

void ModelManager::publish(std::shared_ptr<const Table> next) {
  table_.store(std::move(next), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

void ModelManager::shutdown() {
  auto table = table_.exchange(std::make_shared<Table>(), std::memory_order_acq_rel);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::promise<void> done;
  enqueue([&] {
    std::vector<std::shared_ptr<ModelVersion>> all = std::move(retiring_);
    for (auto& [name, entry] : *table) all.insert(all.end(), entry.versions.begin(), entry.versions.end());
    for (auto& version : all) {
      // Requests in progress finish first: the server drained before this.
      if (!unload_when_idle(*version, "unloaded: shutting down", "shutdown",
                            std::chrono::steady_clock::now() + std::chrono::seconds(5))) {
        spdlog::warn(R"({{"msg":"still in use at shutdown: left loaded","model":"{}","version":{},"requests":{}}})",
                     version->model(), version->version(), version->in_use());
      }
    }
    done.set_value();
  });
  done.get_future().wait();
}

void ModelManager::load_model(const std::string& model, std::function<void(Status)> done) {
  auto table = snapshot();
  auto it = table->find(model);
  if (it == table->end()) return done(not_found(fmt::format("unknown model '{}'", model)));
  enqueue([this, table, versions = it->second.versions, model, done = std::move(done)] {
    std::string failures;
    for (const auto& v : versions) {
      v->allow_reload();
      load_version(*v);
      if (v->state() != ModelState::kReady) failures += fmt::format("{}version {}: {}", failures.empty() ? "" : "; ", v->version(), v->reason());
    }
    if (failures.empty()) return done({});
    // 503 like a request to a version that failed to load: the server cannot serve it now.
    done(unavailable(fmt::format("model '{}' failed to load: {}", model, failures)));
  });
}

void ModelManager::load_version(const std::string& model, int64_t version, std::function<void(Status)> done) {
  std::shared_ptr<ModelVersion> found;
  auto table = snapshot();
  if (auto it = table->find(model); it != table->end()) {
    for (const auto& v : it->second.versions) {
      if (v->version() == version) found = v;
    }
  }
  if (!found) return done(not_found(fmt::format("unknown version {} of model '{}'", version, model)));
  if (found->state() == ModelState::kReady) return done({});
  enqueue([this, found, done = std::move(done)] {
    found->allow_reload();
    load_version(*found);
    if (found->state() == ModelState::kReady) return done({});
    done(unavailable(fmt::format("model '{}' version {} failed to load: {}", found->model(), found->version(), found->reason())));
  });
}

void ModelManager::unload_model(const std::string& model, std::function<void(Status)> done) {
  auto table = snapshot();
  auto it = table->find(model);
  if (it == table->end()) return done(not_found(fmt::format("unknown model '{}'", model)));
  enqueue([this, versions = it->second.versions, model, done = std::move(done)] {
    const auto deadline = std::chrono::steady_clock::now() + options_.unload_timeout;
    std::string still_in_use;
    for (const auto& v : versions) {
      if (unload_when_idle(*v, "unloaded through the repository API", "requested", deadline)) continue;
      still_in_use += fmt::format("{}version {} ({} requests in progress)", still_in_use.empty() ? "" : ", ",
                                  v->version(), v->in_use());
    }
    loaded_gauge_.set(static_cast<double>(loaded_bytes()));
    if (still_in_use.empty()) return done({});
    done(conflict(fmt::format("model '{}' is still in use after {} ms and stays loaded: {}", model,
                              options_.unload_timeout.count(), still_in_use)));
  });
}

bool ModelManager::unload_when_idle(ModelVersion& version, const std::string& reason, const char* metric_reason,
                                    std::chrono::steady_clock::time_point deadline) {
  while (version.state() == ModelState::kReady && !version.try_unload(reason, metric_reason, false)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool ModelManager::all_ready() const {
  if (!loaded()) return false;
  for (const auto& [name, entry] : *snapshot()) {
    for (const auto& version : entry.versions) {
      if (!version->servable()) return false;
    }
  }
  return true;
}

std::shared_ptr<ModelVersion> ModelManager::counted_in(TableCopy& copy, const std::shared_ptr<ModelVersion>* version) {
  if (!version) return nullptr;
  auto [it, inserted] = copy.counted.try_emplace(version->get());
  if (inserted) it->second = {std::make_shared<std::shared_ptr<ModelVersion>>(*version), version->get()};
  return it->second;
}

std::shared_ptr<ModelVersion> ModelManager::find(std::string_view model, std::optional<int64_t> version,
                                                 Status& status) const {
  TableCopy& copy = copies_[metric_shard()];
  std::lock_guard lock(copy.mutex);
  if (const uint64_t generation = generation_.load(std::memory_order_acquire); copy.generation != generation) {
    copy.table = snapshot();
    copy.counted.clear();  // requests still holding a count keep their version
    copy.generation = generation;
  }
  return counted_in(copy, find_in(*copy.table, model, version, status));
}

const std::shared_ptr<ModelVersion>* ModelManager::find_in(const Table& table, std::string_view model,
                                                           std::optional<int64_t> version, Status& status) {
  auto it = table.find(model);
  if (it == table.end()) {
    status = not_found(fmt::format("unknown model '{}'", model));
    return nullptr;
  }
  const auto& versions = it->second.versions;
  if (version) {
    for (const auto& v : versions) {
      if (v->version() != *version) continue;
      if (!v->servable()) {
        status = unavailable(fmt::format("model '{}' version {} is not ready ({}{}{})", model, *version,
                                         state_name(v->state()), v->reason().empty() ? "" : ": ", v->reason()));
        return nullptr;
      }
      return &v;
    }
    status = not_found(fmt::format("unknown version {} of model '{}'", *version, model));
    return nullptr;
  }
  // A newer version LOADING (found by the watcher, or asked for) does not hold up unversioned
  // requests while an older one is READY.
  const std::shared_ptr<ModelVersion>* loading = nullptr;
  for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
    if (!(*v)->servable()) continue;
    const ModelState state = (*v)->state();
    if (state == ModelState::kLoading) {
      if (!loading) loading = &*v;
      continue;
    }
    if (loading && state != ModelState::kReady) break;  // rather wait for that load than start another
    return &*v;
  }
  if (loading) return loading;
  status = unavailable(fmt::format("model '{}' has no ready version", model));
  return nullptr;
}

}  // namespace seraph
