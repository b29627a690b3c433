#pragma once
// The requests inside a model version, counted per thread. Every request counts itself in and out;
// on one shared counter each of those took the cache line from the other I/O threads. Entries and
// exits are counted apart (a request may leave on another thread than it entered) and summed when
// an unload asks. All operations are sequentially consistent, as the unload protocol needs: a
// request counts itself in, then reads the state; an unload announces UNLOADING, then reads the count.
#include <array>
#include <atomic>
#include <cstdint>

#include "observe/metric_shards.h"

namespace seraph {

class InUseCount {
 public:
  void enter() { shards_[metric_shard()].entered.fetch_add(1); }
  void leave() { shards_[metric_shard()].left.fetch_add(1); }

  // Never less than the requests inside when it returns: exits are read before entries, so a
  // request that enters and leaves meanwhile counts as inside rather than cancelling one that is.
  int64_t value() const {
    uint64_t left = 0;
    for (const Shard& s : shards_) left += s.left.load();
    uint64_t entered = 0;
    for (const Shard& s : shards_) entered += s.entered.load();
    return static_cast<int64_t>(entered - left);
  }

 private:
  struct alignas(kCacheLine) Shard {
    std::atomic<uint64_t> entered{0};
    std::atomic<uint64_t> left{0};
  };
  std::array<Shard, kMetricShards> shards_;
};

}  // namespace seraph
