#pragma once
// The admin REST API, all under /admin/v1/ so one guard can protect it as a whole, and the
// feedback endpoint of A/B experiments. JSON in, JSON out; every error is a JSON body.
//
//   GET  /admin/v1/models                                  registered versions of every model
//   GET  /admin/v1/models/{m}/versions                     ... of one model
//   POST /admin/v1/models/{m}/versions                     register a version (metadata, lineage)
//   GET  /admin/v1/models/{m}/versions/{v}
//   POST /admin/v1/models/{m}/versions/{v}/archive
//   GET  /admin/v1/deployments                             every environment's deployments
//   GET  /admin/v1/deployments/{d}?environment=E
//   PUT  /admin/v1/deployments/{d}?environment=E           create or replace
//   PUT  /admin/v1/deployments/{d}/fault?environment=E       the deployment-wide faults
//   PUT  /admin/v1/deployments/{d}/variants/{v}/fault?environment=E
//   GET, PUT, DELETE /admin/v1/backends/{b}/fault          a remote backend's faults (in memory)
//   GET  /admin/v1/rollouts        POST /admin/v1/rollouts
//   GET  /admin/v1/rollouts/{id}   POST /admin/v1/rollouts/{id}/{pause|resume|promote|rollback}
//   GET  /admin/v1/experiments     POST /admin/v1/experiments
//   GET  /admin/v1/experiments/{id} (with results)   POST /admin/v1/experiments/{id}/stop
//   GET  /admin/v1/events?after=ID&limit=N&subject=S
//   GET  /admin/v1/api-keys        POST /admin/v1/api-keys (answers the key, once)
//   DELETE /admin/v1/api-keys/{id} (revoke)
//   GET  /admin/v1/rate-limits     PUT, DELETE /admin/v1/rate-limits/{name}
//   GET  /admin/v1/circuit-breakers    POST /admin/v1/circuit-breakers/{name}/reset
//   POST /feedback                                         {"request_id", "label" | "reward"}
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "control/control_plane.h"

namespace seraph {

class CircuitBreakers;
class BackendFaults;
class ModelManager;
class RateLimitRules;

class AdminApi {
 public:
  // `rate_limits`, `breakers`: null when rate limits or circuit breakers are off (their endpoints
  // answer 404 saying so). `backend_faults`: null when there are no remote backends.
  AdminApi(ControlPlane& control, ModelManager& models, RateLimitRules* rate_limits = nullptr,
           CircuitBreakers* breakers = nullptr, BackendFaults* backend_faults = nullptr)
      : control_(control),
        models_(models),
        rate_limits_(rate_limits),
        breakers_(breakers),
        backend_faults_(backend_faults) {}

  // `segments` is the decoded path, starting with "admin".
  HttpResponse handle(const HttpRequest& request, const std::vector<std::string>& segments, std::string_view query);
  HttpResponse feedback(const HttpRequest& request);

 private:
  HttpResponse models(const HttpRequest& request, const std::vector<std::string>& segments);
  HttpResponse deployments(const HttpRequest& request, const std::vector<std::string>& segments, std::string_view query);
  HttpResponse rollouts(const HttpRequest& request, const std::vector<std::string>& segments);
  HttpResponse experiments(const HttpRequest& request, const std::vector<std::string>& segments);
  HttpResponse events(std::string_view query);
  HttpResponse api_keys(const HttpRequest& request, const std::vector<std::string>& segments);
  HttpResponse rate_limit_rules(const HttpRequest& request, const std::vector<std::string>& segments);
  HttpResponse circuit_breakers(const HttpRequest& request, const std::vector<std::string>& segments);
  HttpResponse backend_fault(const HttpRequest& request, const std::vector<std::string>& segments);

  ControlPlane& control_;
  ModelManager& models_;
  RateLimitRules* rate_limits_;
  CircuitBreakers* breakers_;
  BackendFaults* backend_faults_;
};

}  // namespace seraph
