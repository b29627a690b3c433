#pragma once
// The series of remote backends, per backend and endpoint. Series are resolved when the backend is
// built; recording is a relaxed atomic add.
#include <string>
#include <vector>

#include "observe/metrics.h"

namespace seraph {

// Families shared by every remote backend; created once per registry.
struct BackendMetricFamilies {
  explicit BackendMetricFamilies(MetricsRegistry& registry);
  Family<Counter>& requests;
  Family<Histogram>& request_duration;
  Family<Gauge>& active_connections;
  Family<Gauge>& pending;
  Family<Counter>& ejections;
  Family<Gauge>& healthy;
};

// How a call to a remote backend ended.
enum class CallOutcome {
  kSuccess,
  kClientError,
  kServerError,
  kConnectFailure,
  kTimeout,
  kOverloaded,
  kNoEndpoint,
  kCount
};
const char* outcome_name(CallOutcome outcome);

class BackendMetrics {
 public:
  BackendMetrics(BackendMetricFamilies& families, const std::string& backend,
                 const std::vector<std::string>& endpoints);

  // `endpoint` is an index into the endpoints, or kNone for a call refused before one was chosen.
  static constexpr size_t kNone = static_cast<size_t>(-1);
  void record(size_t endpoint, CallOutcome outcome, double seconds);
  Gauge& active_connections(size_t endpoint) { return *endpoints_[endpoint].active_connections; }
  Gauge& healthy(size_t endpoint) { return *endpoints_[endpoint].healthy; }
  Counter& ejections(size_t endpoint) { return *endpoints_[endpoint].ejections; }
  Gauge& pending() { return pending_; }

 private:
  struct Series {
    std::vector<Counter*> requests;  // by CallOutcome
    Histogram* duration = nullptr;
    Gauge* active_connections = nullptr;
    Gauge* healthy = nullptr;
    Counter* ejections = nullptr;
  };
  std::vector<Series> endpoints_;
  Series none_;  // calls refused before an endpoint was chosen: endpoint="none"
  Gauge& pending_;
};

}  // namespace seraph
