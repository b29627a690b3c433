#pragma once
// Requests per API handler and status code, and their latency, for every HTTP request (including
// ones refused before any model was chosen).
#include <array>
#include <memory>

#include "observe/metrics.h"
#include "observe/model_metrics.h"

namespace seraph {

enum class Handler {
  kPredict, kPredictBatch, kV2Infer, kV2ModelMetadata, kV2ModelReady, kV2Server, kV2Health,
  kHealth, kMetrics, kModels, kNotFound, kCount
};
const char* handler_name(Handler handler);

class HttpMetrics {
 public:
  explicit HttpMetrics(MetricsRegistry& registry);
  void record(Handler handler, unsigned status, double seconds);

 private:
  struct PerHandler {
    std::unique_ptr<StatusCodeCounters> requests;
    Histogram* duration = nullptr;
  };
  std::array<PerHandler, static_cast<size_t>(Handler::kCount)> handlers_;
};

}  // namespace seraph
