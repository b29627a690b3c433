#pragma once
// Envoy's retry budget for one backend: retries (and hedges) in flight may be at most a share of the
// requests in flight there, with a floor so that a quiet backend may still retry. A backend that
// fails everything then sees at most that share more load, never a retry storm. Starting and
// finishing a request touches only the calling thread's shard; the budget is summed only when a
// retry asks for it, which is rare.
#include <atomic>
#include <cstdint>

#include "observe/metric_shards.h"

namespace seraph {

class RetryBudget {
 public:
  void start_request() { requests_.add(kStarted, 1); }
  void finish_request() { requests_.add(kFinished, 1); }

  // Counts one more retry in flight when fewer than max(min_concurrency, percent% of the requests
  // in flight) are; false (and nothing counted) otherwise.
  bool try_start_retry(double percent, int min_concurrency);
  void finish_retry() { retries_.fetch_sub(1, std::memory_order_relaxed); }

  int64_t active_requests() const;
  int64_t retries_in_flight() const { return retries_.load(std::memory_order_relaxed); }

 private:
  enum : size_t { kStarted, kFinished };
  ShardedCounts<2> requests_;
  std::atomic<int64_t> retries_{0};
};

}  // namespace seraph
