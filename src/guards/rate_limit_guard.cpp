#include "guards/rate_limit_guard.h"

#include <algorithm>

#include <fmt/format.h>

#include "guards/auth_guard.h"
#include "guards/guard_chain.h"
#include "limits/redis_rate_limiter.h"

namespace seraph {
namespace {

int64_t ceil_seconds(std::chrono::milliseconds ms) { return (ms.count() + 999) / 1000; }

// The rule's key for this request; empty: the rule does not apply (no caller, no such header).
std::string key_for(const RateLimitRuleSettings& rule, const Exchange& exchange) {
  switch (rule.key) {
    case RateLimitRuleSettings::Key::kClient: return exchange.client_address;
    case RateLimitRuleSettings::Key::kSubject: return exchange.principal.subject;
    case RateLimitRuleSettings::Key::kTenant: return exchange.principal.tenant;
    case RateLimitRuleSettings::Key::kHeader: return std::string(exchange.headers.header(rule.header));
    case RateLimitRuleSettings::Key::kDeployment: return exchange.request ? exchange.request->model : std::string();
  }
  return {};
}

// Rows in the request: the first dimension of its first input (1 for /predict's single text).
int64_t rows_of(const Exchange& exchange) {
  if (!exchange.request || exchange.request->inputs.empty()) return 1;
  const Shape& shape = exchange.request->inputs.front().shape;
  return shape.size() > 1 && shape.front() > 0 ? shape.front() : 1;
}

}  // namespace

RateLimitGuard::RateLimitGuard(std::string_view name, Stage stage, const RateLimitSettings& settings,
                               const RateLimitRules& rules, RedisClient* redis, MetricsRegistry& metrics)
    : name_(name),
      stage_(stage),
      on_failure_(settings.on_redis_failure),
      rules_(rules),
      redis_(settings.store == RateLimitSettings::Store::kRedis && redis
                 ? std::make_unique<RedisRateLimiter>(*redis, "seraph:ratelimit:")
                 : nullptr),
      admitted_(metrics.counter("seraph_rate_limit_requests_total", "Requests rate limits checked, by outcome.")
                    .get({{"stage", std::string(name)}, {"outcome", "admitted"}})),
      limited_(metrics.counter("seraph_rate_limit_requests_total", "").get({{"stage", std::string(name)}, {"outcome", "limited"}})),
      failed_open_(metrics
                       .counter("seraph_rate_limit_store_failures_total",
                                "Rate-limit checks Redis did not answer in time, by what was done instead.")
                       .get({{"action", "admitted"}})),
      failed_closed_(metrics.counter("seraph_rate_limit_store_failures_total", "").get({{"action", "refused"}})),
      failed_local_(metrics.counter("seraph_rate_limit_store_failures_total", "").get({{"action", "local"}})) {}

RateLimitGuard::~RateLimitGuard() = default;

RequestVerdict RateLimitGuard::apply(Exchange& exchange, const RateDecision& decision) {
  auto& headers = exchange.response_headers;
  headers.emplace_back("RateLimit-Limit", std::to_string(decision.limit));
  headers.emplace_back("RateLimit-Remaining", std::to_string(decision.remaining));
  headers.emplace_back("RateLimit-Reset", std::to_string(ceil_seconds(decision.reset_after)));
  if (decision.allowed) {
    admitted_.add();
    return RequestVerdict::kContinue;
  }
  limited_.add();
  if (decision.cost_exceeds_burst) {
    exchange.status = {StatusCode::kResourceExhausted,
                       fmt::format("the request costs more than rate limit '{}' ever admits at once ({})", decision.rule,
                                   decision.limit)};
    return RequestVerdict::kRespond;
  }
  headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, ceil_seconds(decision.retry_after))));
  exchange.status = {StatusCode::kResourceExhausted,
                     fmt::format("rate limit '{}' exceeded: retry in {} ms", decision.rule, decision.retry_after.count())};
  return RequestVerdict::kRespond;
}

RequestVerdict RateLimitGuard::on_store_failure(Exchange& exchange, std::vector<RateCheck> checks, int64_t cost,
                                                const Status& why) {
  switch (on_failure_) {
    case RateLimitSettings::OnRedisFailure::kOpen:
      failed_open_.add();
      return RequestVerdict::kContinue;
    case RateLimitSettings::OnRedisFailure::kClosed:
      failed_closed_.add();
      exchange.status = unavailable("the rate limiter's store is unavailable: " + why.message());
      return RequestVerdict::kRespond;
    case RateLimitSettings::OnRedisFailure::kLocal:
      failed_local_.add();
      return apply(exchange, local_.check(checks, cost, Clock::now()));
  }
  return RequestVerdict::kContinue;
}

// The checks of this stage's rules that apply to the request, and whether they cost rows.
std::vector<RateCheck> RateLimitGuard::checks_for(const Exchange& exchange, const RateLimitRuleSet& set,
                                                  bool& cost_rows) const {
  std::vector<RateCheck> checks;
  cost_rows = false;
  for (const RateLimitRuleSettings& r : set.rules) {
    if (r.per_inference() != (stage_ == Stage::kInference)) continue;
    if (!r.deployments.empty() && (!exchange.request || std::find(r.deployments.begin(), r.deployments.end(),
                                                                  exchange.request->model) == r.deployments.end())) {
      continue;
    }
    std::string key = key_for(r, exchange);
    if (key.empty()) continue;
    checks.push_back({&r.rule, std::move(key)});
    cost_rows = cost_rows || r.cost_rows;  // one cost per stage: the rules agree (check_one_cost_per_stage)
  }
  return checks;
}

RequestVerdict RateLimitGuard::on_request(Exchange& exchange) {
  if (is_probe_path(exchange.path)) return RequestVerdict::kContinue;  // an orchestrator's probes are never limited
  bool cost_rows = false;
  if (!redis_) {
    std::vector<RateCheck> checks = checks_for(exchange, rules_.current(), cost_rows);
    if (checks.empty()) return RequestVerdict::kContinue;
    return apply(exchange, local_.check(checks, cost_rows ? rows_of(exchange) : 1, Clock::now()));
  }
  // The set is held until Redis answers: a fallback to the local limiter reads its rules then.
  std::shared_ptr<const RateLimitRuleSet> set = rules_.load();
  std::vector<RateCheck> checks = checks_for(exchange, *set, cost_rows);
  if (checks.empty()) return RequestVerdict::kContinue;
  const int64_t cost = cost_rows ? rows_of(exchange) : 1;
  auto ex = exchange.shared_from_this();
  // The guard outlives the request: the router, which owns the chains, stops after the server.
  redis_->check(checks, cost, [this, ex, set, checks, cost](Status status, RateDecision decision) mutable {
    // From the Redis client's thread: the exchange is touched on its own I/O thread only.
    ex->loop->dispatch([this, ex, set = std::move(set), checks = std::move(checks), cost, status = std::move(status),
                        decision]() mutable {
      const RequestVerdict verdict =
          status.is_ok() ? apply(*ex, decision) : on_store_failure(*ex, std::move(checks), cost, status);
      GuardChain::resume_request(*ex, stage_, verdict);
    });
  });
  return RequestVerdict::kPause;
}

}  // namespace seraph
