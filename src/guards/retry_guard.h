#pragma once
// Retries a failed backend call (guards.retry) when the failure says nothing about the request (the
// backend unreachable, the connection broken, 502, 503 or 504 from the backend: guards.retry.retry_on)
// and the request may run twice (inference may, unless guards.retry.idempotent or the deployment
// says no). Each retry waits a full-jitter exponential back-off, only when the back-off ends well
// before the request's deadline, and only within the backend's retry budget: retries in flight at
// most budget_percent of its requests in flight, min_retry_concurrency at least. The guards after
// this one (circuit breaker, fault injection) run again, then the backend; a remote backend sends
// the retry to its next endpoint, with the time that remains. With guards.retry.hedge.enabled, a
// remote backend's slow calls are hedged (guards/hedging_backend.h). Answers say X-Retry-Count when
// retried and X-Hedged: 1 when a hedge answered.
#include <random>

#include "guards/guard.h"
#include "guards/guard_settings.h"
#include "observe/metrics.h"

namespace seraph {

class RetryGuard final : public Guard {
 public:
  RetryGuard(RetrySettings settings, MetricsRegistry& metrics);
  std::string_view name() const override { return "retry"; }
  RequestVerdict on_request(Exchange& exchange) override;
  ResponseVerdict on_response(Exchange& exchange) override;

 private:
  bool idempotent(const Exchange& exchange) const;
  // The back-off before retry number `attempt` (0: the first).
  std::chrono::microseconds backoff(int attempt) const;
  // Answers as they are: says how often the request was retried, and whether a hedge answered.
  void mark(Exchange& exchange) const;

  const RetrySettings settings_;
  Family<Counter>& retries_;    // seraph_retries_total{backend,reason}
  Family<Counter>& exhausted_;  // seraph_retry_budget_exhausted_total{backend}
  Family<Counter>& hedges_;     // seraph_hedges_total{backend,outcome}
};

}  // namespace seraph
