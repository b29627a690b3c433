#pragma once
// Cumulative per-version counters in the shape of Triton's statistics extension (counts and total
// nanoseconds), read by GET /v2/models/.../stats. Recording is relaxed atomic adds: no lock, and a
// reader may see one counter a request ahead of another, which cumulative statistics tolerate.
#include <atomic>
#include <cstdint>

#include "core/clock.h"

namespace seraph {

// How often something happened and the total time it took.
class DurationStat {
 public:
  void add(uint64_t count, Clock::duration each) {
    count_.fetch_add(count, std::memory_order_relaxed);
    ns_.fetch_add(count * static_cast<uint64_t>(std::chrono::nanoseconds(each).count()), std::memory_order_relaxed);
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t ns() const { return ns_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> ns_{0};
};

class InferenceStatistics {
 public:
  // A finished request: success (2xx) or failure, with its duration from arrival to answer.
  void record_request(bool success, Clock::duration took, int64_t finished_ms_since_epoch) {
    (success ? success_ : fail_).add(1, took);
    last_inference_ms_.store(finished_ms_since_epoch, std::memory_order_relaxed);
  }
  void record_queue(Clock::duration waited) { queue_.add(1, waited); }
  // One successful runtime execution serving `requests` requests of `rows` rows in all. Each
  // request is charged the whole execution's phases, as Triton does for dynamically batched requests.
  void record_execution(uint64_t rows, uint64_t requests, Clock::duration input, Clock::duration infer,
                        Clock::duration output) {
    inference_count_.fetch_add(rows, std::memory_order_relaxed);
    execution_count_.fetch_add(1, std::memory_order_relaxed);
    compute_input_.add(requests, input);
    compute_infer_.add(requests, infer);
    compute_output_.add(requests, output);
  }

  int64_t last_inference_ms() const { return last_inference_ms_.load(std::memory_order_relaxed); }
  uint64_t inference_count() const { return inference_count_.load(std::memory_order_relaxed); }
  uint64_t execution_count() const { return execution_count_.load(std::memory_order_relaxed); }
  const DurationStat& success() const { return success_; }
  const DurationStat& fail() const { return fail_; }
  const DurationStat& queue() const { return queue_; }
  const DurationStat& compute_input() const { return compute_input_; }
  const DurationStat& compute_infer() const { return compute_infer_; }
  const DurationStat& compute_output() const { return compute_output_; }

 private:
  std::atomic<int64_t> last_inference_ms_{0};
  std::atomic<uint64_t> inference_count_{0};
  std::atomic<uint64_t> execution_count_{0};
  DurationStat success_, fail_, queue_, compute_input_, compute_infer_, compute_output_;
};

}  // namespace seraph
