#pragma once
// One remote model server (config `backends:`): its endpoints, timeouts, bounds, health checks,
// outlier ejection and its endpoints' circuit breakers.
#include <cstdint>
#include <string>
#include <vector>

#include "resilience/circuit_breaker.h"

namespace seraph {

struct RemoteBackendConfig {
  std::string name;
  std::vector<std::string> endpoints;  // "host:port"
  int64_t connect_timeout_ms = 1000;
  int64_t request_timeout_ms = 30000;  // a call never waits longer, whatever the request's deadline
  int max_connections = 64;            // per endpoint
  int max_pending = 1024;              // requests admitted and not yet answered, over all endpoints
  struct HealthCheck {
    int64_t interval_ms = 1000;
    int64_t timeout_ms = 1000;
    std::string path = "/v2/health/ready";
    int unhealthy_threshold = 2;  // consecutive failed checks before a healthy endpoint gets no traffic
    int healthy_threshold = 1;    // consecutive passed checks before an unhealthy one gets traffic again
  } health_check;
  struct Outlier {
    int consecutive_failures = 5;  // 5xx answers or connect failures in a row
    int64_t base_ejection_ms = 30000;
    int64_t max_ejection_ms = 300000;
    int max_ejection_percent = 50;
  } outlier;
  CircuitBreakerSettings circuit_breaker;  // guards.circuit_breaker with the backend's own overrides
};

// "host:port" split; false when it is not of that form.
bool split_host_port(const std::string& endpoint, std::string& host, std::string& port);

}  // namespace seraph
