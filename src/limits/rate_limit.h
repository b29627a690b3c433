#pragma once
// What the rate limiters share: a rule, one rule applied to one key, the decision, and the rule in
// the terms of GCRA (the generic cell rate algorithm), which both limiters run.
//
// GCRA keeps one time per (rule, key): its theoretical arrival time (TAT), when the key would be
// back to its full allowance. Each cost unit moves the TAT forward by the emission interval
// (period / limit); a request is admitted when its new TAT is at most `burst` intervals ahead of
// now. A rolling window, then: unlike fixed windows, there is no window edge across which twice
// the limit passes; at most `burst` at once, and `limit` per period after that.
#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace seraph {

struct RateLimitRule {
  std::string name;   // e.g. "per_second"; part of the state's key, so no ':' in it
  int64_t limit = 0;  // requests (cost units) per period
  std::chrono::milliseconds period{0};
  int64_t burst = 0;  // 0: the limit itself (a full period's worth may arrive at once)
};

// One rule applied to one key (a tenant, an API key, a client address...).
struct RateCheck {
  const RateLimitRule* rule;
  std::string key;
};

struct RateDecision {
  bool allowed = true;
  // Refused for good: the cost is above the deciding rule's burst, so no wait would let it pass
  // (retry_after is 0). The guard answers 429 saying so rather than a Retry-After.
  bool cost_exceeds_burst = false;
  int64_t limit = 0;      // of the deciding rule
  int64_t remaining = 0;  // cost units of the deciding rule that could pass now (after this request when admitted)
  std::chrono::milliseconds retry_after{0};  // when refused: until the request would be admitted (rounded up)
  std::chrono::milliseconds reset_after{0};  // until the key is back to its full allowance (rounded up)
  // Which rule decided: when admitted, the one with the least remaining; when refused, the refusing
  // one with the longest retry_after. Empty when there was nothing to check.
  std::string rule;
};

// A rule in GCRA's terms, in whole ticks of the clock that applies it (nanoseconds in process,
// microseconds in Redis): integers, so nothing drifts.
struct GcraRule {
  int64_t interval;  // what one cost unit moves the TAT: period / limit, rounded up so rounding never admits more
  int64_t burst;     // cost units that may pass at once
  int64_t tolerance() const { return interval * burst; }  // how far ahead of now the TAT may run
};

template <typename Tick>
GcraRule gcra_rule(const RateLimitRule& rule) {
  const int64_t period = std::chrono::duration_cast<Tick>(rule.period).count();
  const int64_t interval = (period + rule.limit - 1) / rule.limit;
  return {interval > 0 ? interval : 1, rule.burst > 0 ? rule.burst : rule.limit};
}

// Rejects rules GCRA cannot apply, with a message for the config's author. The bounds keep every
// time in range: nanoseconds in an int64, microseconds exact in Redis's Lua doubles.
inline Status validate_rate_limit_rule(const RateLimitRule& rule) {
  constexpr std::chrono::hours kLongestPeriod{24 * 366};
  constexpr int64_t kLongestTolerance = int64_t{10} * 366 * 24 * 3600 * 1000000000;  // ten years of nanoseconds
  if (rule.name.empty() || rule.name.find(':') != std::string::npos) {
    return invalid_argument("a rate limit rule needs a name without ':' (got '" + rule.name + "')");
  }
  if (rule.limit < 1) return invalid_argument("rate limit rule " + rule.name + ": the limit must be at least 1");
  if (rule.period.count() < 1 || rule.period > kLongestPeriod) {
    return invalid_argument("rate limit rule " + rule.name + ": the period must be positive and at most a year");
  }
  if (rule.burst < 0) return invalid_argument("rate limit rule " + rule.name + ": the burst cannot be negative");
  const GcraRule gcra = gcra_rule<std::chrono::nanoseconds>(rule);
  int64_t tolerance = 0;
  if (__builtin_mul_overflow(gcra.interval, gcra.burst, &tolerance) || tolerance > kLongestTolerance) {
    return invalid_argument("rate limit rule " + rule.name + ": the burst is worth more than ten years at the limit");
  }
  return Status::ok();
}

}  // namespace seraph
