#include "resilience/latency_window.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace seraph {

void LatencyWindow::record(std::chrono::microseconds latency) {
  const auto us = std::clamp<int64_t>(latency.count(), 0, std::numeric_limits<uint32_t>::max());
  const uint64_t at = recorded_.fetch_add(1, std::memory_order_relaxed);
  samples_[at % kSize].store(static_cast<uint32_t>(us), std::memory_order_relaxed);
}

std::optional<std::chrono::microseconds> LatencyWindow::quantile(double q) const {
  const size_t n = std::min<uint64_t>(recorded_.load(std::memory_order_relaxed), kSize);
  if (n < kMinSamples) return std::nullopt;
  std::array<uint32_t, kSize> copy;
  for (size_t i = 0; i < n; ++i) copy[i] = samples_[i].load(std::memory_order_relaxed);
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n))) - 1;
  const auto at = copy.begin() + static_cast<ptrdiff_t>(std::min(rank, n - 1));
  std::nth_element(copy.begin(), at, copy.begin() + static_cast<ptrdiff_t>(n));
  return std::chrono::microseconds(*at);
}

}  // namespace seraph
