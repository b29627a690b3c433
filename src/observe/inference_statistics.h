#pragma once
// Cumulative per-version counters in the shape of Triton's statistics extension (counts and total
// nanoseconds), read by GET /v2/models/.../stats. Recording is relaxed atomic adds on the thread's
// own shard: no lock, and a reader may see one counter a request ahead of another, which
// cumulative statistics tolerate.
#include <atomic>
#include <cstdint>

#include "core/clock.h"
#include "observe/metric_shards.h"

namespace seraph {

// How often something happened and the total time it took.
class DurationStat {
 public:
  void add(uint64_t count, Clock::duration each) {
    counts_.add(kCount, count);
    counts_.add(kNs, count * static_cast<uint64_t>(std::chrono::nanoseconds(each).count()));
  }
  uint64_t count() const { return counts_.value(kCount); }
  uint64_t ns() const { return counts_.value(kNs); }

 private:
  static constexpr size_t kCount = 0, kNs = 1;
  ShardedCounts<2> counts_;
};

class InferenceStatistics {
 public:
  // A finished request: success (2xx) or failure, with its duration from arrival to answer.
  void record_request(bool success, Clock::duration took, int64_t finished_ms_since_epoch) {
    (success ? success_ : fail_).add(1, took);
    executions_.store(kLastInferenceMs, static_cast<uint64_t>(finished_ms_since_epoch));
  }
  void record_queue(Clock::duration waited) { queue_.add(1, waited); }
  // One successful runtime execution serving `requests` requests of `rows` rows in all. Each
  // request is charged the whole execution's phases, as Triton does for dynamically batched requests.
  void record_execution(uint64_t rows, uint64_t requests, Clock::duration input, Clock::duration infer,
                        Clock::duration output) {
    executions_.add(kInferences, rows);
    executions_.add(kExecutions, 1);
    compute_input_.add(requests, input);
    compute_infer_.add(requests, infer);
    compute_output_.add(requests, output);
  }

  int64_t last_inference_ms() const { return static_cast<int64_t>(executions_.max(kLastInferenceMs)); }
  uint64_t inference_count() const { return executions_.value(kInferences); }
  uint64_t execution_count() const { return executions_.value(kExecutions); }
  const DurationStat& success() const { return success_; }
  const DurationStat& fail() const { return fail_; }
  const DurationStat& queue() const { return queue_; }
  const DurationStat& compute_input() const { return compute_input_; }
  const DurationStat& compute_infer() const { return compute_infer_; }
  const DurationStat& compute_output() const { return compute_output_; }

 private:
  static constexpr size_t kInferences = 0, kExecutions = 1, kLastInferenceMs = 2;
  ShardedCounts<3> executions_;
  DurationStat success_, fail_, queue_, compute_input_, compute_infer_, compute_output_;
};

}  // namespace seraph
