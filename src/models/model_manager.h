#pragma once
// Owns every model version found in the repository and answers "which version serves this?".
// Readers take an immutable snapshot of the table, so lookups on the hot path take no lock. One
// loader thread loads and unloads versions: eager ones at start, lazy ones on their first request,
// and it unloads the least recently used idle versions when the loaded ones exceed the memory
// budget. A version in use is never unloaded.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/model_name.h"
#include "models/model_version.h"
#include "models/version_policy.h"
#include "observe/metric_shards.h"

namespace seraph {

struct ModelEntry {
  std::string name;
  std::vector<std::shared_ptr<ModelVersion>> versions;  // ascending version numbers
};

struct LifecycleOptions {
  ExecutionLimits limits;
  int64_t memory_budget_bytes = 0;  // 0: no budget
  std::chrono::milliseconds poll_interval{0};  // repository watching; 0: off
  std::chrono::milliseconds unload_timeout{30000};  // repository API unload: wait for requests this long
  VersionPolicy version_policy;                // for models without a policy.yaml
};

class ModelManager {
 public:
  ModelManager(std::filesystem::path repository, LifecycleOptions options, MetricsRegistry& metrics);
  ~ModelManager();  // stops the loader thread

  // Finds every `<model>/<version>/` in the repository, reads each model.yaml, and loads the eager
  // versions (blocking until they are done). Versions appear in the table at once, so /models
  // shows progress.
  void load_all();
  // Unloads every version after its queued requests ran; for process shutdown.
  void shutdown();

  // True once load_all has finished.
  bool loaded() const { return loaded_.load(std::memory_order_acquire); }
  // True when loaded and every version is READY or ready to load on request.
  bool all_ready() const;

  // The version to serve: the one asked for, or the highest servable one; while that one is
  // LOADING, the highest READY one keeps serving (as in TensorFlow Serving). 404 for an unknown
  // model or version, 503 when the model has nothing servable.
  std::shared_ptr<ModelVersion> find(std::string_view model, std::optional<int64_t> version, Status& status) const;

  // The repository API: load (or reload) every version of a model (503 naming the versions that
  // failed), or unload them, waiting up to the unload timeout for requests in progress (409 naming
  // the versions still in use, which stay loaded). `done` runs on the loader thread when finished.
  void load_model(const std::string& model, std::function<void(Status)> done);
  void unload_model(const std::string& model, std::function<void(Status)> done);
  // Loads one version (with its warm-up) unless it is READY already; `done` runs on the loader
  // thread, or at once for an unknown or ready version.
  void load_version(const std::string& model, int64_t version, std::function<void(Status)> done);

  using Table = std::map<std::string, ModelEntry, std::less<>>;
  std::shared_ptr<const Table> snapshot() const { return table_.load(std::memory_order_acquire); }
  int64_t loaded_bytes() const;

 private:
  void run_loader();
  void run_watcher();
  // One look at the repository (loader thread): adds versions that appeared and are complete and
  // loads the eager ones, then retires versions whose directory is gone, and versions the version
  // policy no longer serves once a version it serves is READY.
  void rescan();
  // Adds the complete new versions to the table; `serving` receives each model's served versions.
  std::vector<std::shared_ptr<ModelVersion>> add_found_versions(std::map<std::string, std::set<int64_t>>& serving);
  void retire_versions(const std::map<std::string, std::set<int64_t>>& serving);
  // Unloads `version` once no request uses it, trying until `deadline`; false when it is still loaded.
  static bool unload_when_idle(ModelVersion& version, const std::string& reason, const char* metric_reason,
                               std::chrono::steady_clock::time_point deadline);
  std::shared_ptr<ModelVersion> make_version(const std::string& model, int64_t version, const std::filesystem::path& dir);
  // The version numbers in a model directory that its version policy serves.
  std::set<int64_t> served_versions(const std::filesystem::path& model_dir);
  void enqueue(std::function<void()> job);
  void load_version(ModelVersion& version);
  // Unloads least recently used idle versions (never `keep`) while the loaded ones exceed the budget.
  void enforce_budget(const ModelVersion* keep);
  // Replaces the table and tells find()'s copies.
  void publish(std::shared_ptr<const Table> next);

  const std::filesystem::path repository_;
  const LifecycleOptions options_;
  ModelMetricFamilies families_;
  Gauge& budget_gauge_;
  Gauge& loaded_gauge_;
  Counter& evictions_;
  Counter& scans_;
  std::atomic<std::shared_ptr<const Table>> table_;
  // find()'s copies of the table pointer, one per metric shard (so one per I/O thread): loading
  // table_ takes libstdc++ 12's spin lock and counts a reference on a line every I/O thread writes,
  // where a copy's lock and pointer stay in its thread's cache. The copies die with the manager; a
  // thread_local copy would keep model versions (and their batcher threads) alive past it.
  // Each copy also counts the versions it hands out on control blocks of its own (each holding one
  // count on its version), so a request's count on its version stays on its thread's lines too.
  struct alignas(kCacheLine) TableCopy {
    std::mutex mutex;  // only threads sharing a shard compete for it
    uint64_t generation = 0;
    std::shared_ptr<const Table> table;
    std::unordered_map<const ModelVersion*, std::shared_ptr<ModelVersion>> counted;
  };
  // `version` as `copy` counts it (mutex held).
  static std::shared_ptr<ModelVersion> counted_in(TableCopy& copy, const std::shared_ptr<ModelVersion>* version);
  // find() over one table: the table's own pointer to the version (null: `status` says why).
  static const std::shared_ptr<ModelVersion>* find_in(const Table& table, std::string_view model,
                                                      std::optional<int64_t> version, Status& status);
  mutable std::array<TableCopy, kMetricShards> copies_;
  std::atomic<uint64_t> generation_{1};
  std::atomic<bool> loaded_{false};

  std::mutex jobs_mutex_;
  std::condition_variable jobs_cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread loader_;
  // Repository watching: a new version is added once its files look the same on two polls.
  std::map<std::filesystem::path, std::string> pending_fingerprints_;
  std::vector<std::shared_ptr<ModelVersion>> retiring_;  // removed from disk, unloaded once idle
  std::thread watcher_;
};

}  // namespace seraph
