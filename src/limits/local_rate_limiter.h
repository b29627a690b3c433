#pragma once
// GCRA rate limiting within this process (see rate_limit.h), for one replica or as the fallback
// when Redis is away. Called from every I/O thread at once: the state is split in 64 shards by key
// hash, each its own mutex and map, so there is no global lock; a check locks only the shards of
// its keys, in a fixed order.
//
// Bounded: each shard holds at most max_keys / 64 keys (rounded up). A shard that is full first
// drops the keys whose TAT has passed (they are at full allowance: dropping one loses nothing);
// when none has, it evicts the key with the earliest TAT, the one closest to its full allowance,
// so an eviction admits as little extra as it can. Refusing new keys instead would refuse clients
// that sent nothing yet.
#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "limits/rate_limit.h"

namespace seraph {

class LocalRateLimiter {
 public:
  explicit LocalRateLimiter(size_t max_keys = 100000);
  LocalRateLimiter(const LocalRateLimiter&) = delete;
  LocalRateLimiter& operator=(const LocalRateLimiter&) = delete;

  // All rules must admit `cost` (>= 0; 0 only looks); if any refuses, none is charged (atomic over
  // the set). The rules must pass validate_rate_limit_rule and the (rule name, key) pairs be
  // distinct. Throws std::invalid_argument on a negative cost.
  RateDecision check(std::span<const RateCheck> checks, int64_t cost, TimePoint now);

  size_t key_count() const;  // (rule, key) pairs held now

 private:
  static constexpr size_t kShards = 64;

  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  struct alignas(64) Shard {  // a cache line of its own: neighbours' locks do not share one
    mutable std::mutex mutex;
    std::unordered_map<std::string, int64_t, KeyHash, std::equal_to<>> tats;  // TAT in ns of the steady clock
  };

  void make_room(Shard& shard, int64_t now, std::span<const std::string> keep);

  const size_t keys_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace seraph
