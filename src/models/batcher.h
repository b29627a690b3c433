#pragma once
// Dynamic batching for one model version: concurrent requests wait in a bounded queue, and each
// execution thread merges up to max_batch_size rows (waiting at most max_queue_delay for more
// after the first) into one runtime call, then splits the outputs back to each request in order.
// A request whose deadline passes while queued is answered 504 and never run.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/inference.h"
#include "core/semaphore.h"
#include "core/status.h"
#include "models/runtime.h"
#include "observe/metric_shards.h"
#include "observe/model_metrics.h"

namespace seraph {

struct BatchingPolicy {
  int max_batch_size = 0;                          // rows per runtime call; 0 or 1: no merging
  std::chrono::microseconds max_queue_delay{0};    // how long the first request waits for company
  size_t max_queue_size = 1024;                    // queued requests before 503
  int instances = 1;                               // execution threads
};

class Batcher {
 public:
  // Called once per request, on an execution thread (or on the submitting thread when refused).
  using Done = std::function<void(Status, std::vector<Tensor> outputs, double compute_ms)>;

  Batcher(Runtime& runtime, BatchingPolicy policy, ModelMetrics& metrics);
  ~Batcher();  // stop()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues a validated request (inputs in config order, batched on dim 0). Answers 503 at once
  // when the queue is full or the batcher is stopping.
  void submit(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done);
  // Runs a validated request at once on the calling thread, unbatched, with the same metrics and
  // error handling as a queued one: for models cheaper than a hand-off to an execution thread.
  // When `instances` runtime calls are already running it waits up to `wait` for one to end (a
  // cheap call of another I/O thread's ends sooner than a hand-off would take), then gives up:
  // false, having done nothing, and the caller queues the request.
  bool try_run_inline(const InferRequest& request, Done& done, std::chrono::nanoseconds wait);
  // Mean compute time of recent runtime calls (exponentially weighted, per thread, published when
  // it moves by an eighth), 0 before the first.
  double recent_compute_us() const { return recent_compute_us_.load(std::memory_order_relaxed); }
  // Refuses new requests, runs what is queued, joins the threads. Idempotent; must not be called
  // from an execution thread.
  void stop();

 private:
  struct Pending {
    std::shared_ptr<const InferRequest> request;
    Done done;
    TimePoint enqueued;
    TimePoint deadline;
    int64_t rows = 0;
  };

  void run();
  // Takes the next batch, waiting for company up to the policy's delay; expired requests found on
  // the way go to `expired`. Empty when stopping with nothing left.
  std::vector<Pending> take_batch(std::unique_lock<std::mutex>& lock, std::vector<Pending>& expired);
  void execute(std::vector<Pending>& batch);
  // One runtime call with its metrics; a runtime's exception becomes a 500.
  Status run_runtime(std::span<const Tensor> inputs, int64_t rows, size_t requests, std::vector<Tensor>& outputs,
                     double& compute_ms);

  Runtime& runtime_;
  const BatchingPolicy policy_;
  ModelMetrics& metrics_;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  // The published mean, read by every request, on a line of its own that calls seldom write; and
  // each thread's own mean, which every call writes.
  alignas(kCacheLine) std::atomic<double> recent_compute_us_{0};
  struct alignas(kCacheLine) RecentCompute {
    std::atomic<double> us{0};
  };
  std::array<RecentCompute, kMetricShards> recent_compute_;
  // At most `instances` runtime calls at once, inline and queued together: some runtimes (libtorch
  // over a serial BLAS) give wrong answers to more concurrent calls than they were given threads.
  // On a line of its own: every call takes and gives back a slot.
  alignas(kCacheLine) Semaphore running_;
};

}  // namespace seraph
