#pragma once
// Observers see every finished request (answered, refused or failed) after its answer is ready.
// They must be quick and never block: they run on the request's thread.
#include <cstdint>
#include <string_view>

#include "core/clock.h"

namespace seraph {

class ModelMetrics;

// Where a request's outcome is also recorded for the deployment variant that served it (the
// control plane's variant statistics), without this layer knowing what keeps them.
class OutcomeSink {
 public:
  virtual ~OutcomeSink() = default;
  virtual void record(unsigned status, double latency_ms) = 0;
};

// The API endpoint that answered, for per-handler metrics.
enum class Handler {
  kPredict, kPredictBatch, kV2Infer, kV2ModelMetadata, kV2ModelReady, kV2Server, kV2Health, kV2Repository,
  kV2ModelConfig, kV2ModelStats,
  kHealth, kMetrics, kModels, kAdmin, kFeedback, kNotFound, kCount
};
const char* handler_name(Handler handler);

struct FinishedRequest {
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  Handler handler = Handler::kNotFound;
  std::string_view model;                 // empty when the request named no model
  int64_t version = 0;                    // 0 when no version served it
  ModelMetrics* model_metrics = nullptr;  // the serving version's series, when one served it
  std::string_view deployment;            // when the request named a deployment
  std::string_view environment;
  std::string_view variant;
  OutcomeSink* variant_stats = nullptr;   // the serving variant's stats, when a variant served it
  unsigned status = 0;
  double seconds = 0;
  TimePoint finished{};  // when it was answered (its start plus `seconds`)
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void on_finished(const FinishedRequest& request) = 0;
};

}  // namespace seraph
