#include "observe/http_metrics.h"

namespace seraph {

const char* handler_name(Handler handler) {
  switch (handler) {
    case Handler::kPredict: return "predict";
    case Handler::kPredictBatch: return "predict_batch";
    case Handler::kV2Infer: return "v2_infer";
    case Handler::kV2ModelMetadata: return "v2_model_metadata";
    case Handler::kV2ModelReady: return "v2_model_ready";
    case Handler::kV2Server: return "v2_server_metadata";
    case Handler::kV2Health: return "v2_health";
    case Handler::kV2Repository: return "v2_repository";
    case Handler::kV2ModelConfig: return "v2_model_config";
    case Handler::kV2ModelStats: return "v2_model_stats";
    case Handler::kHealth: return "health";
    case Handler::kMetrics: return "metrics";
    case Handler::kModels: return "models";
    case Handler::kAdmin: return "admin";
    case Handler::kFeedback: return "feedback";
    case Handler::kNotFound: return "not_found";
    case Handler::kCount: break;
  }
  return "unknown";
}

HttpMetrics::HttpMetrics(MetricsRegistry& registry) {
  auto& requests = registry.counter("seraph_http_requests_total", "HTTP requests answered, by API handler, outcome and status code.");
  auto& duration = registry.histogram("seraph_http_request_duration_seconds", "Time from request received to answer ready, by API handler, in seconds.", latency_buckets());
  for (size_t i = 0; i < handlers_.size(); ++i) {
    Labels labels{{"handler", handler_name(static_cast<Handler>(i))}};
    handlers_[i].requests = std::make_unique<StatusCodeCounters>(requests, labels);
    handlers_[i].duration = &duration.get(labels);
  }
}

void HttpMetrics::on_finished(const FinishedRequest& request) {
  auto& h = handlers_[static_cast<size_t>(request.handler)];
  h.requests->add(request.status);
  h.duration->observe(request.seconds);
  if (request.model_metrics) request.model_metrics->record_request(request.status, request.seconds, request.finished);
}

}  // namespace seraph
