#pragma once
// One loaded version of a model: its config, runtime, execution threads, state and metrics.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/inference.h"
#include "models/batcher.h"
#include "models/model_config.h"
#include "models/runtime.h"
#include "observe/model_metrics.h"

namespace seraph {

enum class ModelState { kLoading, kReady, kUnloading, kUnavailable };
const char* state_name(ModelState state);

struct ExecutionLimits {
  size_t max_queue = 1024;  // requests waiting per version before answering 503, unless model.yaml says
};

class ModelVersion {
 public:
  // Runs on an execution thread once the request has been executed (or failed).
  using Done = std::function<void(Status, InferResponse)>;

  ModelVersion(std::string model, int64_t version, std::filesystem::path dir, ModelMetricFamilies& families);
  ~ModelVersion();

  // Reads model.yaml, loads the artifact and starts the execution threads; on failure the state
  // becomes UNAVAILABLE with the reason.
  void load(const ExecutionLimits& limits);
  // Answers 503 to new requests, finishes queued ones and stops the execution threads. Called by
  // the manager's thread, so a version is never torn down by one of its own threads.
  void unload();

  // Validates `request` against the model contract, then queues it for its batcher. Invalid
  // requests and a full queue are answered at once on the calling thread.
  void infer(InferRequest request, Done done);

  const std::string& model() const { return model_; }
  int64_t version() const { return version_; }
  const std::filesystem::path& dir() const { return dir_; }
  const ModelConfig& config() const { return config_; }
  ModelState state() const { return state_.load(std::memory_order_acquire); }
  std::string reason() const;
  double load_seconds() const { return load_seconds_; }
  ModelMetrics& metrics() { return metrics_; }

 private:
  void set_state(ModelState state, std::string reason = {});

  const std::string model_;
  const int64_t version_;
  const std::filesystem::path dir_;
  ModelConfig config_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<Batcher> batcher_;
  std::atomic<ModelState> state_{ModelState::kLoading};
  mutable std::mutex reason_mutex_;
  std::string reason_;
  double load_seconds_ = 0;
  ModelMetrics metrics_;
};

}  // namespace seraph
