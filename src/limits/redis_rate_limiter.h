#pragma once
// GCRA rate limiting shared by every replica through Redis (see rate_limit.h): the same semantics
// as LocalRateLimiter, applied atomically by one Lua script on Redis's own clock (TIME inside the
// script), so replicas whose clocks disagree still agree on the limit. The script runs by EVALSHA;
// its SHA1 is computed here, and a Redis that does not know it yet (NOSCRIPT, after a restart or a
// SCRIPT FLUSH) gets it once by EVAL.
//
// State: one string per (rule, key), "<key_prefix><rule name>:<key>", holding the TAT in
// microseconds of Redis's clock; it expires (PX) once the key is back to its full allowance, so
// idle keys cost Redis nothing. Microseconds: Lua's numbers are doubles, exact to 2^53, which
// microsecond timestamps stay under and nanosecond ones do not; a limit above 1,000,000 per second
// per key is thereby held to 1,000,000. All the keys of one check go to one script, so on a Redis
// Cluster they would need a shared hash tag in the prefix.
#include <functional>
#include <span>
#include <string>

#include "core/status.h"
#include "limits/rate_limit.h"
#include "store/redis_client.h"

namespace seraph {

class RedisRateLimiter {
 public:
  // `redis` must outlive this limiter and every check's callback.
  RedisRateLimiter(RedisClient& redis, std::string key_prefix);

  using Callback = std::function<void(Status, RateDecision)>;
  // All rules must admit `cost` (>= 0; 0 only looks); if any refuses, none is charged. The rules
  // must pass validate_rate_limit_rule; they are copied, so they need not outlive the call. `done` is
  // called once, on the Redis client's thread, with a decision or the failure (kUnavailable when
  // Redis cannot answer by the client's command timeout; twice that when the script had to be
  // sent whole). The guard decides what a failure means: fail open, closed, or check locally.
  // Nothing to check, or a negative cost (kInvalidArgument), is answered at once on this thread.
  void check(std::span<const RateCheck> checks, int64_t cost, Callback done);

 private:
  RedisClient& redis_;
  const std::string key_prefix_;
};

}  // namespace seraph
