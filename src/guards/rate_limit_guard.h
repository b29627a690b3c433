#pragma once
// Rate limits: GCRA rules (a rolling window: no edge where a fixed window admits twice the limit),
// each keyed by the client's address, the caller's subject or tenant, a request header, or the
// deployment called; a request must pass every rule that applies to it, and is charged by none if
// one refuses. A request may cost its batch's rows. In process by default; through Redis (one
// atomic script, Redis's clock) so a limit holds across replicas, the request paused meanwhile.
// When Redis does not answer in time: admit, refuse with 503, or fall back to the in-process
// limiter, as configured, each counted.
//
// Liveness and readiness probes are never limited. Over the limit: 429 with Retry-After; every answer the guard checked carries RateLimit-Limit,
// RateLimit-Remaining and RateLimit-Reset of the rule closest to refusing.
//
// Two rows use it: rules that need the decoded request (keyed by deployment, costing rows, or
// limited to some deployments) run in the inference stage, the others in the endpoint stage for
// every request. One check is atomic over its rules, so one cost applies to all of a stage's
// rules: an inference stage that mixes rules costing rows with others is refused. The rules come
// from the config and the admin API (guards/rate_limit_rules.h) and may change at any time.
#include <memory>
#include <vector>

#include "guards/guard.h"
#include "guards/guard_chain.h"
#include "guards/guard_settings.h"
#include "guards/rate_limit_rules.h"
#include "limits/local_rate_limiter.h"
#include "observe/metrics.h"

namespace seraph {

class RedisClient;
class RedisRateLimiter;

class RateLimitGuard final : public Guard {
 public:
  // Checks the rules of `rules` that belong to `stage`. `redis`: required when the store is Redis.
  RateLimitGuard(std::string_view name, Stage stage, const RateLimitSettings& settings, const RateLimitRules& rules,
                 RedisClient* redis, MetricsRegistry& metrics);
  ~RateLimitGuard() override;
  std::string_view name() const override { return name_; }
  RequestVerdict on_request(Exchange& exchange) override;

 private:
  std::vector<RateCheck> checks_for(const Exchange& exchange, const RateLimitRuleSet& set, bool& cost_rows) const;
  // Answers the request per `decision`: its headers, and 429 when refused.
  RequestVerdict apply(Exchange& exchange, const RateDecision& decision);
  // Redis did not answer: what the config says to do instead.
  RequestVerdict on_store_failure(Exchange& exchange, std::vector<RateCheck> checks, int64_t cost, const Status& why);

  const std::string_view name_;
  const Stage stage_;
  const RateLimitSettings::OnRedisFailure on_failure_;
  const RateLimitRules& rules_;
  LocalRateLimiter local_;
  std::unique_ptr<RedisRateLimiter> redis_;  // null: in process
  Counter& admitted_;
  Counter& limited_;
  Counter& failed_open_;
  Counter& failed_closed_;
  Counter& failed_local_;
};

}  // namespace seraph
