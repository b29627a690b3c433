#pragma once
// The way every HTTP request goes: the endpoint stage of guards (request id, later auth and rate
// limits), the route table, the route's handler; for inference the protocol adapter decodes the
// request, the inference stage of guards runs and ends in the backend, and the answer comes back
// through both stages to the adapter and the connection. Observers see every finished request.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/admin_api.h"
#include "api/http.h"
#include "api/route_table.h"
#include "control/control_plane.h"
#include "guards/guard_chain.h"
#include "guards/guard_settings.h"
#include "models/model_manager.h"
#include "observe/metrics.h"
#include "observe/request_observer.h"

namespace seraph {

class BackendDirectory;
class CircuitBreakers;
class BackendFaults;
class JwtKeyStore;
class RateLimitRules;
class RedisClient;

struct ApiOptions {
  std::string default_model;  // served by /predict when the request names none
  // Inference requests are answered 504 by then unless they ask for less (X-Request-Timeout-Ms,
  // or the V2 "timeout" parameter in microseconds, as Triton has it).
  std::chrono::milliseconds request_timeout{30000};
  GuardSettings guards;                     // which guards run, and their settings
  size_t max_body_bytes = 8 * 1024 * 1024;  // also the limit on a body once decompressed
  const BackendDirectory* backends = nullptr;               // remote backends deployment variants may name
  const JwtKeyStore* jwt_keys = nullptr;                    // when the auth guard accepts JWTs
  RedisClient* redis = nullptr;                             // shared state between replicas, when configured
  RateLimitRules* rate_limits = nullptr;                    // with rate limits on: the rules in force
  CircuitBreakers* breakers = nullptr;                      // required with circuit breakers on
  BackendFaults* backend_faults = nullptr;                  // the remote backends' injected faults
};

class ApiRouter {
 public:
  // `observers` see every finished request, in order; they must outlive the router.
  ApiRouter(ModelManager& models, ControlPlane& control, MetricsRegistry& metrics,
            std::vector<RequestObserver*> observers, ApiOptions options);
  ~ApiRouter();

  // Answers through `responder`, exactly once, possibly later. `loop` is the connection's I/O
  // thread, on which this is called and the answer is sent.
  // `target` and `body` stay valid until the answer is sent. `client_certificate_subject`: the
  // connection's verified TLS client certificate's subject, empty when it has none.
  void handle(Method method, std::string_view target, std::string_view body, HeaderMap headers,
              std::string_view client_address, std::string_view client_certificate_subject,
              std::shared_ptr<ExchangeLoop> loop, std::shared_ptr<Responder> responder);

  // Readiness: every model loaded, and not draining.
  bool ready() const;
  void set_draining() { draining_.store(true, std::memory_order_release); }

  struct Call;
  using Route = void (ApiRouter::*)(Call&, const RouteMatch&);

 private:
  enum class InferApi { kV2, kPredict, kPredictBatch };

  void add_routes();
  // The endpoint stage's terminal step: the route's handler.
  void dispatch(Call& call);
  // The answer is decided: the endpoint stage's response halves run, then finish().
  void answer(Call& call, HttpResponse response);
  void finish(Call& call);
  // Decodes nothing more: runs the inference stage for `request`.
  void infer(Call& call, InferApi api, InferRequest request, bool many);
  void execute(Call& call);
  void render_inference(Call& call);
  void run_shadow(const Call& call);
  // Answers with `handle`'s response, computed on the control plane's worker thread.
  void to_control_plane(Call& call, std::function<HttpResponse()> handle);
  // A request whose body cannot be decoded: 404 when it names neither a model nor a deployment
  // (as Triton answers), else `problem`. Decodable requests learn of an unknown model from routing,
  // so the common path looks nothing up twice.
  void refuse_undecodable(Call& call, std::string_view model, Status problem);
  bool known_model(std::string_view name) const;

  // Handlers, one per route.
  void predict(Call& call, const RouteMatch& match);
  void predict_batch(Call& call, const RouteMatch& match);
  void v2_infer(Call& call, const RouteMatch& match);
  void v2_model_ready(Call& call, const RouteMatch& match);
  void v2_model_metadata(Call& call, const RouteMatch& match);
  void v2_model_config(Call& call, const RouteMatch& match);
  void v2_model_stats(Call& call, const RouteMatch& match);
  void v2_server_metadata(Call& call, const RouteMatch& match);
  void v2_live(Call& call, const RouteMatch& match);
  void v2_ready(Call& call, const RouteMatch& match);
  void repository_index(Call& call, const RouteMatch& match);
  void repository_load(Call& call, const RouteMatch& match);
  void repository_unload(Call& call, const RouteMatch& match);
  void healthz(Call& call, const RouteMatch& match);
  void readyz(Call& call, const RouteMatch& match);
  void metrics(Call& call, const RouteMatch& match);
  void models(Call& call, const RouteMatch& match);
  void admin(Call& call, const RouteMatch& match);
  void feedback(Call& call, const RouteMatch& match);

  ModelManager& models_;
  ControlPlane& control_;
  AdminApi admin_;
  MetricsRegistry& metrics_;
  const std::vector<RequestObserver*> observers_;
  const ApiOptions options_;
  RouteTable<Route> routes_;
  GuardChain endpoint_chain_;
  GuardChain inference_chain_;
  std::atomic<bool> draining_{false};
};

}  // namespace seraph
