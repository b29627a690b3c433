#include "resilience/retry_budget.h"

#include <algorithm>
#include <cmath>

namespace seraph {

int64_t RetryBudget::active_requests() const {
  // Finished is read first: a request that starts and finishes between the two reads adds to
  // started only, so the difference never goes below the truth's floor of zero.
  const uint64_t finished = requests_.value(kFinished);
  const uint64_t started = requests_.value(kStarted);
  return std::max<int64_t>(0, static_cast<int64_t>(started - finished));
}

bool RetryBudget::try_start_retry(double percent, int min_concurrency) {
  const auto allowed = std::max<int64_t>(
      min_concurrency, static_cast<int64_t>(std::floor(static_cast<double>(active_requests()) * percent / 100.0)));
  int64_t current = retries_.load(std::memory_order_relaxed);
  while (current < allowed) {
    if (retries_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

}  // namespace seraph
