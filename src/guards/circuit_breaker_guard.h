#pragma once
// A circuit breaker per local model version ("model:<name>:<version>"; resilience/circuit_breaker.h):
// while the version's circuit is open, its requests are answered 503 at once, with Retry-After,
// and never reach it. The response half records the backend call's outcome and time: 5xx answers
// (504 included) are failures, 4xx are the caller's doing and count as successes. Faults injected
// after this guard count as the backend's. Remote variants have their breakers per endpoint,
// inside their backend (models/remote/remote_backend.h), and pass here untouched.
#include "guards/guard.h"

namespace seraph {

class CircuitBreaker;
class CircuitBreakers;
class ModelVersion;

class CircuitBreakerGuard final : public Guard {
 public:
  explicit CircuitBreakerGuard(CircuitBreakers& breakers) : breakers_(breakers) {}
  std::string_view name() const override { return "circuit_breaker"; }
  RequestVerdict on_request(Exchange& exchange) override;
  ResponseVerdict on_response(Exchange& exchange) override;

 private:
  CircuitBreaker& breaker_of(const ModelVersion& version);

  CircuitBreakers& breakers_;
};

}  // namespace seraph
