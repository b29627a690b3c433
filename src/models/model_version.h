#pragma once
// One version of a model: its config, and while loaded its runtime and execution threads; its
// state, metrics, and the requests using it.
//
// Lifecycle: an eager version loads at start; a lazy one when its first request arrives (later
// requests wait for that one load). A loaded version may be unloaded to keep within the memory
// budget, but never while a request is using it: infer() counts itself in before it looks at the
// state, and try_unload() announces UNLOADING before it looks at the count, so one of them always
// sees the other.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/inference.h"
#include "models/backend.h"
#include "models/batcher.h"
#include "models/in_use_count.h"
#include "models/model_config.h"
#include "models/runtime.h"
#include "observe/model_metrics.h"
#include "resilience/backend_resilience.h"

namespace seraph {

enum class ModelState { kLoading, kReady, kUnloading, kUnavailable };
const char* state_name(ModelState state);

struct ExecutionLimits {
  size_t max_queue = 1024;     // requests waiting per version before answering 503, unless model.yaml says
  bool lazy_by_default = false;  // models.load_policy: lazy
};

// A version is the local backend: execute() runs a request on its runtime, inline or queued.
class ModelVersion final : public Backend {
 public:
  // Asks for load() to run on the manager's loader thread.
  using RequestLoad = std::function<void(ModelVersion&)>;

  ModelVersion(std::string model, int64_t version, std::filesystem::path dir, ModelMetricFamilies& families,
               ExecutionLimits limits, RequestLoad request_load);
  ~ModelVersion();

  // Reads model.yaml. A version whose config is broken stays UNAVAILABLE with the reason; a lazy
  // one waits, UNAVAILABLE, for its first request; an eager one is LOADING until load().
  void read_config();
  bool lazy() const { return lazy_; }

  // Loads the artifact and starts the execution threads, then runs the requests that waited. On
  // failure the version is UNAVAILABLE with the reason and they are answered 503. Loader thread only.
  void load();
  // Unloads unless a request is using the version (then returns false). A `reloadable` version
  // loads again on its next request. Loader thread (or shutdown) only.
  bool try_unload(const std::string& reason, const char* metric_reason, bool reloadable);
  // Lets an explicitly unloaded or failed version load again on request.
  void allow_reload();

  // Runs a request validated against config() (validate_request): inline on this thread when the
  // model is cheap, else queued for the batcher, after waiting for a load if need be. A full queue
  // is answered at once. `done` runs on the thread that executed, or at once when refused.
  void execute(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done) override;
  BackendResilience* resilience() override { return &resilience_; }

  const std::string& model() const { return model_; }
  int64_t version() const { return version_; }
  const std::filesystem::path& dir() const { return dir_; }
  const ModelConfig& config() const { return config_; }
  ModelState state() const { return state_.load(); }
  // READY, or able to load when asked (lazy, evicted): what clients may be routed to.
  bool servable() const;
  std::string reason() const;
  double load_seconds() const { return load_seconds_.load(std::memory_order_relaxed); }
  int64_t in_use() const { return in_use_.value(); }
  int64_t last_used_ns() const { return last_used_ns_.load(std::memory_order_relaxed); }
  int64_t footprint_bytes() const { return footprint_bytes_.load(std::memory_order_relaxed); }
  ModelMetrics& metrics() { return metrics_; }

 private:
  struct Waiting {  // a request that arrived while the version was loading
    std::shared_ptr<const InferRequest> request;
    TimePoint deadline;
    Done done;
  };

  void set_state(ModelState state, std::string reason = {});
  // Runs or queues a request; the version is READY. The request counts as in use until answered.
  void submit(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done);
  bool runs_inline() const;
  // Answers a request that will not run, and counts it out.
  void refuse(Done& done, Status status);
  // Answers or submits the requests that waited for a load or unload to finish.
  void release_waiting(std::vector<Waiting> waiting, const Status& refusal);

  const std::string model_;
  const int64_t version_;
  const std::filesystem::path dir_;
  const ExecutionLimits limits_;
  const RequestLoad request_load_;
  ModelConfig config_;  // read once, before the version serves; immutable afterwards
  bool lazy_ = false;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<Batcher> batcher_;
  std::atomic<ModelState> state_{ModelState::kLoading};
  InUseCount in_use_;
  // On a line of its own: every request may write it, while state_ is only read.
  alignas(kCacheLine) std::atomic<int64_t> last_used_ns_{0};
  std::atomic<int64_t> footprint_bytes_{0};
  std::atomic<double> load_seconds_{0};
  mutable std::mutex mutex_;  // guards reason_, loadable_, waiting_ and the state transitions
  std::string reason_;
  bool loadable_ = false;     // UNAVAILABLE, but loads on request
  std::vector<Waiting> waiting_;
  ModelMetrics metrics_;
  BackendResilience resilience_;
};

}  // namespace seraph
