#include "guards/route_guard.h"

#include "models/model_manager.h"

namespace seraph {

Status RouteGuard::on_request(Exchange& exchange) {
  Status status;
  exchange.target = models_.find(exchange.request.model, exchange.request.version, status);
  return status;
}

}  // namespace seraph
