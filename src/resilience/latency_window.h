#pragma once
// A backend's recent latencies, for a hedge's delay: the last kSize answers in a ring, and a
// quantile of them on demand. Recorded only for backends that hedge; a read copies kSize numbers.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace seraph {

class LatencyWindow {
 public:
  static constexpr size_t kSize = 128;
  // Fewer samples than this say too little for a tail quantile: quantile() has no answer.
  static constexpr size_t kMinSamples = 20;

  void record(std::chrono::microseconds latency);
  // The q-quantile (0 < q < 1) of the samples in the window; none until kMinSamples were recorded.
  std::optional<std::chrono::microseconds> quantile(double q) const;

 private:
  std::array<std::atomic<uint32_t>, kSize> samples_{};  // microseconds, saturated
  std::atomic<uint64_t> recorded_{0};
};

}  // namespace seraph
