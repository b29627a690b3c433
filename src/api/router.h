#pragma once
// Maps each HTTP request to its handler: inference (V2 and /predict) through the guard chain to a
// model version, and the health, metadata, model listing and metrics endpoints.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/admin_api.h"
#include "api/http.h"
#include "control/control_plane.h"
#include "guards/guard_chain.h"
#include "models/model_manager.h"
#include "observe/metrics.h"
#include "observe/request_observer.h"

namespace seraph {

struct ApiOptions {
  std::string default_model;  // served by /predict when the request names none
  // Inference requests are answered 504 by then unless they ask for less (X-Request-Timeout-Ms,
  // or the V2 "timeout" parameter in microseconds, as Triton has it).
  std::chrono::milliseconds request_timeout{30000};
};

class ApiRouter {
 public:
  // `observers` see every finished request, in order; they must outlive the router.
  ApiRouter(ModelManager& models, ControlPlane& control, MetricsRegistry& metrics,
            std::vector<RequestObserver*> observers, ApiOptions options);

  // Answers through `responder`, exactly once, possibly later and from another thread.
  void handle(const HttpRequest& request, std::shared_ptr<Responder> responder);

  // Readiness: every model loaded, and not draining.
  bool ready() const;
  void set_draining() { draining_.store(true, std::memory_order_release); }

 private:
  struct Call;
  enum class InferApi { kV2, kPredict, kPredictBatch };

  void infer(const HttpRequest& request, std::shared_ptr<Call> call, InferApi api, InferRequest infer_request,
             bool many);
  void finish(Call& call, HttpResponse response);
  // Answers with `handle`'s response, computed on the control plane's worker thread.
  void to_control_plane(std::shared_ptr<Call> call, std::function<HttpResponse()> handle);
  // Sends the request's copy to the shadow variant and records how its answer compares.
  void run_shadow(std::shared_ptr<Call> call);
  void repository(const HttpRequest& request, std::shared_ptr<Call> call, const std::vector<std::string>& segments);

  ModelManager& models_;
  ControlPlane& control_;
  AdminApi admin_;
  MetricsRegistry& metrics_;
  const std::vector<RequestObserver*> observers_;
  const ApiOptions options_;
  GuardChain chain_;
  std::atomic<bool> draining_{false};
};

}  // namespace seraph
