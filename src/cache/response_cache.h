#pragma once
// The in-process response cache: answers by CacheKey, with a time to live and a byte budget.
// I/O threads call it concurrently, so it is split into shards by key, each with its own mutex and
// least-recently-used order; no lock covers the whole cache.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/cache_key.h"
#include "core/clock.h"
#include "core/inference.h"

namespace seraph {

struct CachedAnswer {
  InferResponse response;  // its id is cleared: it belonged to the request that computed it
  TimePoint stored_at;
  TimePoint expires_at;
  size_t bytes = 0;  // what the entry counts against the budget
};

struct ResponseCacheOptions {
  size_t max_bytes = 256 << 20;          // split evenly across the shards
  std::chrono::milliseconds ttl{60000};  // for store() without a ttl of its own
  size_t shards = 16;
  // How long past its expiry an entry may still be served while a fresh one is computed.
  std::chrono::milliseconds stale_while_revalidate{0};
  // How long past its expiry an entry is kept to answer for a backend that fails (the fallback
  // guard's stale_cache step); beyond both windows an entry is dropped when it is next looked up.
  std::chrono::milliseconds stale_if_error{0};
};

// What an answer is taken to cost in memory: its tensors' data, strings and names, plus a fixed
// overhead for the entry's bookkeeping.
size_t estimated_answer_bytes(const InferResponse& response);

class ResponseCache {
 public:
  explicit ResponseCache(ResponseCacheOptions options);
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  // kStale: expired, but inside stale_while_revalidate. kExpired: past that, but inside
  // stale_if_error: not to be served unless the backend fails.
  enum class Freshness { kMiss, kFresh, kStale, kExpired };

  // The entry for `key` and how fresh it is at `now`; `out` is set unless kMiss. The entry
  // is shared: an eviction meanwhile does not free an answer still being rendered.
  Freshness lookup(const CacheKey& key, TimePoint now, std::shared_ptr<const CachedAnswer>& out);

  // Stores (or replaces) the answer for `key`, evicting least recently used entries of its shard
  // to stay in budget. Not stored: an answer bigger than a shard's budget, or a ttl that is not positive.
  void store(const CacheKey& key, InferResponse response, TimePoint now, std::chrono::milliseconds ttl);
  void store(const CacheKey& key, InferResponse response, TimePoint now) {
    store(key, std::move(response), now, options_.ttl);
  }

  struct Counts {
    uint64_t entries = 0;
    uint64_t bytes = 0;
    uint64_t evictions = 0;    // removed for room while still servable
    uint64_t expirations = 0;  // removed because they were past expiry and the stale windows
    uint64_t too_large = 0;    // answers not stored because they exceed a shard's budget
  };
  Counts counts() const;

 private:
  struct Entry {
    CacheKey key;
    std::shared_ptr<const CachedAnswer> answer;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::list<Entry> recency;  // most recently used first
    std::unordered_map<CacheKey, std::list<Entry>::iterator, CacheKeyHash> index;
    size_t bytes = 0;
    uint64_t evictions = 0;
    uint64_t expirations = 0;
    uint64_t too_large = 0;
  };

  Shard& shard_of(const CacheKey& key) { return shards_[key.high % shards_.size()]; }
  // Past both the stale-while-revalidate and the stale-if-error windows: of no use any more.
  bool past_stale_window(const CachedAnswer& answer, TimePoint now) const;
  // Removes `it` from `shard`, whose mutex the caller holds.
  void erase(Shard& shard, std::list<Entry>::iterator it);

  const ResponseCacheOptions options_;
  const size_t shard_budget_;
  std::vector<Shard> shards_;
};

}  // namespace seraph
