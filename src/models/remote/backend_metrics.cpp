#include "models/remote/backend_metrics.h"

namespace seraph {

BackendMetricFamilies::BackendMetricFamilies(MetricsRegistry& registry)
    : requests(registry.counter("seraph_backend_requests_total",
                                "Calls to remote backends, by backend, endpoint and outcome.")),
      request_duration(registry.histogram("seraph_backend_request_duration_seconds",
                                          "Time from a call's admission to its answer, in seconds.",
                                          latency_buckets())),
      active_connections(
          registry.gauge("seraph_backend_active_connections", "Open connections to the endpoint, idle or busy.")),
      pending(registry.gauge("seraph_backend_pending_requests", "Calls admitted to the backend and not yet answered.")),
      ejections(
          registry.counter("seraph_backend_ejections_total", "Times the endpoint was ejected by outlier detection.")),
      healthy(registry.gauge("seraph_backend_endpoint_healthy",
                             "1 while the endpoint passes its health checks, else 0.")) {}

const char* outcome_name(CallOutcome outcome) {
  switch (outcome) {
    case CallOutcome::kSuccess: return "success";
    case CallOutcome::kClientError: return "client_error";
    case CallOutcome::kServerError: return "server_error";
    case CallOutcome::kConnectFailure: return "connect_failure";
    case CallOutcome::kTimeout: return "timeout";
    case CallOutcome::kOverloaded: return "overloaded";
    case CallOutcome::kNoEndpoint: return "no_endpoint";
    case CallOutcome::kCount: break;
  }
  return "unknown";
}

BackendMetrics::BackendMetrics(BackendMetricFamilies& families, const std::string& backend,
                               const std::vector<std::string>& endpoints)
    : pending_(families.pending.get({{"backend", backend}})) {
  auto series = [&](const std::string& endpoint, bool full) {
    Series s;
    const Labels labels{{"backend", backend}, {"endpoint", endpoint}};
    for (int o = 0; o < static_cast<int>(CallOutcome::kCount); ++o) {
      Labels with = labels;
      with.emplace_back("outcome", outcome_name(static_cast<CallOutcome>(o)));
      s.requests.push_back(&families.requests.get(with));
    }
    s.duration = &families.request_duration.get(labels);
    if (full) {
      s.active_connections = &families.active_connections.get(labels);
      s.healthy = &families.healthy.get(labels);
      s.ejections = &families.ejections.get(labels);
    }
    return s;
  };
  for (const std::string& e : endpoints) endpoints_.push_back(series(e, true));
  none_ = series("none", false);
}

void BackendMetrics::record(size_t endpoint, CallOutcome outcome, double seconds) {
  Series& s = endpoint == kNone ? none_ : endpoints_[endpoint];
  s.requests[static_cast<size_t>(outcome)]->add();
  s.duration->observe(seconds);
}

}  // namespace seraph
