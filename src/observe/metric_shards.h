#pragma once
// Per-thread shards for hot metrics. Every request updates dozens of counters; on one shared cache
// line each update from an I/O thread steals the line from the others. Each thread writes the shard
// it was given instead, and readers (a scrape, a statistics request) sum the shards.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace seraph {

inline constexpr size_t kMetricShards = 8;
inline constexpr size_t kCacheLine = 64;

// This thread's shard: threads take them in turn, so the first kMetricShards threads (the I/O
// threads start first) have one each.
size_t metric_shard();

// N uint64 counts summed over shards; adds touch only the calling thread's cache line, which holds
// all N (so counts recorded together, like a count and its total time, cost one line).
template <size_t N>
class ShardedCounts {
  static_assert(N * sizeof(uint64_t) <= kCacheLine, "one shard's counts fit one cache line");

 public:
  void add(size_t which, uint64_t n) { cells_[metric_shard()].values[which].fetch_add(n, std::memory_order_relaxed); }
  uint64_t value(size_t which) const {
    uint64_t total = 0;
    for (const Cell& c : cells_) total += c.values[which].load(std::memory_order_relaxed);
    return total;
  }
  // For a latest-time mark rather than a count: each thread stores its own, readers take the max.
  void store(size_t which, uint64_t v) { cells_[metric_shard()].values[which].store(v, std::memory_order_relaxed); }
  uint64_t max(size_t which) const {
    uint64_t most = 0;
    for (const Cell& c : cells_) most = std::max(most, c.values[which].load(std::memory_order_relaxed));
    return most;
  }

 private:
  struct alignas(kCacheLine) Cell {
    std::array<std::atomic<uint64_t>, N> values{};
  };
  std::array<Cell, kMetricShards> cells_;
};

}  // namespace seraph
