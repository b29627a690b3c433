#include "guards/guard_table.h"

#include "guards/access_guard.h"
#include "guards/admission_guard.h"
#include "guards/auth_guard.h"
#include "guards/cache_guard.h"
#include "guards/circuit_breaker_guard.h"
#include "guards/content_guard.h"
#include "guards/deadline_guard.h"
#include "guards/fallback_guard.h"
#include "guards/fault_injection_guard.h"
#include "guards/rate_limit_guard.h"
#include "guards/request_id_guard.h"
#include "guards/retry_guard.h"
#include "guards/route_guard.h"
#include "guards/validation_guard.h"
#include "observe/metrics.h"

namespace seraph {
namespace {

template <class G>
std::unique_ptr<Guard> make_plain(const GuardContext&) {
  return std::make_unique<G>();
}

// The rate-limit guard of one stage (its rules may come later, through the admin API).
template <Stage kStage>
std::unique_ptr<Guard> make_rate_limit(const GuardContext& c) {
  return std::make_unique<RateLimitGuard>(kStage == Stage::kEndpoint ? "rate_limit" : "deployment_rate_limit", kStage,
                                          c.settings.rate_limit, *c.rate_limits, c.redis, c.metrics);
}

constexpr GuardRow kGuards[] = {
    // Endpoint stage: every HTTP request.
    {"request_id", Stage::kEndpoint, "request_id", Switch::kAlways, make_plain<RequestIdGuard>},
    {"auth", Stage::kEndpoint, "auth", Switch::kOffByDefault,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<AuthGuard>(
           c.settings.auth, c.api_keys, c.jwt_keys,
           c.metrics.counter("seraph_auth_requests_total", "Requests the auth guard saw, by outcome."));
     }},
    {"rate_limit", Stage::kEndpoint, "rate_limit", Switch::kOffByDefault, make_rate_limit<Stage::kEndpoint>},
    // Inference stage, in DESIGN.md's order.
    {"deadline", Stage::kInference, "deadline", Switch::kAlways,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<DeadlineGuard>(c.request_timeout);
     }},
    {"access", Stage::kInference, "auth", Switch::kOffByDefault,
     [](const GuardContext& c) -> std::unique_ptr<Guard> { return std::make_unique<AccessGuard>(c.settings.auth); }},
    {"deployment_rate_limit", Stage::kInference, "rate_limit", Switch::kOffByDefault, make_rate_limit<Stage::kInference>},
    {"route", Stage::kInference, "route", Switch::kAlways,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<RouteGuard>(c.models, c.deployments, c.backends);
     }},
    {"validation", Stage::kInference, "validation", Switch::kAlways, make_plain<ValidationGuard>},
    // Before the cache: a hit passes the content checks' response half too (redaction), and a
    // request refused by them is never looked up.
    {"content", Stage::kInference, "content", Switch::kOffByDefault,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<ContentGuard>(
           c.settings.content,
           c.metrics.counter("seraph_content_checks_total", "Content checks by deployment, check and outcome."));
     }},
    {"cache", Stage::kInference, "cache", Switch::kOffByDefault,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<CacheGuard>(c.settings.cache, c.metrics, c.redis);
     }},
    // Before the guards around a backend call (admission, retry, circuit breaker, faults), which run
    // again for a fallback variant; after the cache, whose response half sees what a fallback gave.
    {"fallback", Stage::kInference, "fallback", Switch::kOnByDefault,
     [](const GuardContext& c) -> std::unique_ptr<Guard> { return std::make_unique<FallbackGuard>(c.models, c.backends); }},
    {"admission", Stage::kInference, "admission", Switch::kOffByDefault,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<AdmissionGuard>(c.settings.admission, c.metrics);
     }},
    {"retry", Stage::kInference, "retry", Switch::kOnByDefault,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<RetryGuard>(c.settings.retry, c.metrics);
     }},
    // After retry (each attempt is one call it judges), before fault injection (an injected fault
    // counts as the backend's failure).
    {"circuit_breaker", Stage::kInference, "circuit_breaker", Switch::kOnByDefault,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<CircuitBreakerGuard>(*c.breakers);
     }},
    // Last: an injected fault looks like the backend's own failure to every guard before it.
    {"fault_injection", Stage::kInference, "fault_injection", Switch::kOnByDefault,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<FaultInjectionGuard>(c.settings.fault_injection, c.backend_faults, c.metrics);
     }},
};

}  // namespace

std::span<const GuardRow> guard_table() { return kGuards; }

const GuardRow* find_guard_row(std::string_view name) {
  for (const GuardRow& row : kGuards) {
    if (row.name == name) return &row;
  }
  return nullptr;
}

bool is_enabled(const GuardRow& row, const GuardSettings& settings) {
  if (row.on == Switch::kAlways) return true;
  if (auto it = settings.enabled.find(row.section); it != settings.enabled.end()) return it->second;
  return row.on == Switch::kOnByDefault;
}

std::vector<std::unique_ptr<Guard>> build_guards(Stage stage, const GuardContext& context) {
  std::vector<std::unique_ptr<Guard>> guards;
  for (const GuardRow& row : kGuards) {
    if (row.stage == stage && is_enabled(row, context.settings)) guards.push_back(row.make(context));
  }
  return guards;
}

}  // namespace seraph
