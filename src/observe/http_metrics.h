#pragma once
// Requests per API handler and status code, and their latency, for every HTTP request (including
// ones refused before any model was chosen), and the serving model version's request series.
#include <array>
#include <memory>

#include "observe/metrics.h"
#include "observe/model_metrics.h"
#include "observe/request_observer.h"

namespace seraph {


// Records every finished request in the per-handler series and, when a model version served it,
// in that version's series.
class HttpMetrics final : public RequestObserver {
 public:
  explicit HttpMetrics(MetricsRegistry& registry);
  void on_finished(const FinishedRequest& request) override;

 private:
  struct PerHandler {
    std::unique_ptr<StatusCodeCounters> requests;
    Histogram* duration = nullptr;
  };
  std::array<PerHandler, static_cast<size_t>(Handler::kCount)> handlers_;
};

}  // namespace seraph
