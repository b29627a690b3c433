#pragma once
// Owns every model version found in the repository and answers "which version serves this?"
// Readers take an immutable snapshot of the table; loading swaps in a new one, so lookups on the
// hot path take no lock.
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/model_version.h"

namespace seraph {

struct ModelEntry {
  std::string name;
  std::vector<std::shared_ptr<ModelVersion>> versions;  // ascending version numbers
};

class ModelManager {
 public:
  ModelManager(std::filesystem::path repository, ExecutionLimits limits, MetricsRegistry& metrics);
  ~ModelManager();

  // Finds every `<model>/<version>/` in the repository, then loads each version (blocking).
  // Versions appear in the table as LOADING at once, so /models shows progress.
  void load_all();

  // Unloads every version after its queued requests ran; for process shutdown.
  void shutdown();

  // True once every version found has finished loading, successfully or not.
  bool loaded() const { return loaded_.load(std::memory_order_acquire); }
  // True when loaded and every version is READY.
  bool all_ready() const;

  // The version to serve: the one asked for, or the highest READY one. 404 for an unknown model or
  // version, 503 when the model has no ready version.
  std::shared_ptr<ModelVersion> find(std::string_view model, std::optional<int64_t> version, Status& status) const;

  using Table = std::map<std::string, ModelEntry, std::less<>>;
  std::shared_ptr<const Table> snapshot() const { return table_.load(std::memory_order_acquire); }
  const std::filesystem::path& repository() const { return repository_; }

 private:
  const std::filesystem::path repository_;
  const ExecutionLimits limits_;
  ModelMetricFamilies families_;
  std::atomic<std::shared_ptr<const Table>> table_;
  std::atomic<bool> loaded_{false};
};

// Model names: letters, digits, '_', '-', '.'; not starting with '.'.
bool is_valid_model_name(std::string_view name);

}  // namespace seraph
