#include "guards/retry_guard.h"

#include <algorithm>

#include "control/deployments.h"
#include "guards/guard_chain.h"
#include "guards/hedging_backend.h"
#include "models/backend.h"
#include "resilience/backoff.h"
#include "resilience/retry_reason.h"

namespace seraph {
namespace {

// Sets the answer's header `name` to `value`: the response half may run more than once (a fallback
// after retries), the header must not repeat.
void set_header(Exchange& exchange, std::string_view name, std::string value) {
  for (auto& [n, v] : exchange.response_headers) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  exchange.response_headers.emplace_back(std::string(name), std::move(value));
}

}  // namespace

RetryGuard::RetryGuard(RetrySettings settings, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      retries_(metrics.counter("seraph_retries_total", "Backend calls retried, by backend and the failure retried.")),
      exhausted_(metrics.counter("seraph_retry_budget_exhausted_total",
                                 "Retries and hedges the backend's retry budget refused, by backend.")),
      hedges_(metrics.counter("seraph_hedges_total", "Hedged copies of backend calls, by backend and outcome.")) {}

RequestVerdict RetryGuard::on_request(Exchange& exchange) {
  Exchange::RetryState& state = exchange.retry;
  // Again when a guard before this one asked for the call again (a fallback), perhaps pointing the
  // exchange elsewhere: the request counts against the budget of the backend it goes to now.
  state.release();
  if (state.hedging && exchange.backend != state.hedging) state.hedging.reset();
  BackendResilience* target = exchange.backend ? exchange.backend->resilience() : nullptr;
  if (!target) return RequestVerdict::kContinue;
  state.counted = target;
  target->budget.start_request();
  if (!state.hedging && settings_.hedge.enabled && target->hedgeable && idempotent(exchange)) {
    state.hedging = std::make_shared<HedgingBackend>(std::move(exchange.backend), exchange.loop, settings_, hedges_,
                                                     exhausted_);
    exchange.backend = state.hedging;
  }
  return RequestVerdict::kContinue;
}

ResponseVerdict RetryGuard::on_response(Exchange& exchange) {
  Exchange::RetryState& state = exchange.retry;
  BackendResilience* target = state.counted;
  if (!target) return ResponseVerdict::kPass;
  if (state.retry_in_flight) {  // the retry has answered
    target->budget.finish_retry();
    state.retry_in_flight = false;
  }
  const auto reason = exchange.status.is_ok() || exchange.cancelled() ? std::nullopt : retry_reason_of(exchange.status);
  if (!reason || !(settings_.retry_on & (1u << static_cast<unsigned>(*reason))) ||
      state.retries >= settings_.max_retries || !idempotent(exchange)) {
    mark(exchange);
    state.release();
    return ResponseVerdict::kPass;
  }
  // The back-off must end well before the deadline: by half the time that remains.
  const TimePoint now = Clock::now();
  const std::chrono::microseconds wait = backoff(state.retries);
  if (exchange.deadline <= now || wait >= (exchange.deadline - now) / 2) {
    mark(exchange);
    state.release();
    return ResponseVerdict::kPass;
  }
  if (!target->budget.try_start_retry(settings_.budget_percent, settings_.min_retry_concurrency)) {
    exhausted_.get({{"backend", target->label}}).add();
    mark(exchange);
    state.release();
    return ResponseVerdict::kPass;
  }
  state.retry_in_flight = true;
  ++state.retries;
  retries_.get({{"backend", target->label}, {"reason", std::string(retry_reason_name(*reason))}}).add();
  // A guard before this one may point the exchange elsewhere while the back-off waits (when the
  // deadline answers meanwhile): the budget's owner stays alive until the count is released.
  state.owner = state.hedging ? state.hedging->inner() : exchange.backend;
  exchange.loop->run_at(now + wait, [ex = exchange.shared_from_this()] {
    ex->status = {};
    GuardChain::resume_response(*ex, Stage::kInference, ResponseVerdict::kRetry);
  });
  return ResponseVerdict::kPause;
}

bool RetryGuard::idempotent(const Exchange& exchange) const {
  if (!settings_.idempotent) return false;
  if (!exchange.deployment) return true;
  const auto& listed = settings_.non_idempotent_deployments;
  return std::find(listed.begin(), listed.end(), exchange.deployment->name) == listed.end();
}

std::chrono::microseconds RetryGuard::backoff(int attempt) const {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return full_jitter_backoff(std::chrono::milliseconds(settings_.backoff_base_ms),
                             std::chrono::milliseconds(settings_.backoff_max_ms), attempt, generator);
}

void RetryGuard::mark(Exchange& exchange) const {
  const Exchange::RetryState& state = exchange.retry;
  if (state.retries > 0) set_header(exchange, "X-Retry-Count", std::to_string(state.retries));
  if (state.hedging && state.hedging->hedge_won()) set_header(exchange, "X-Hedged", "1");
}

}  // namespace seraph
