#include "guards/validation_guard.h"

#include "models/input_validation.h"
#include "models/model_version.h"

namespace seraph {

RequestVerdict ValidationGuard::on_request(Exchange& exchange) {
  if (!exchange.version) return RequestVerdict::kContinue;  // a remote backend checks its own contract
  exchange.status = validate_request(exchange.version->config(), exchange.request);
  return exchange.status.is_ok() ? RequestVerdict::kContinue : RequestVerdict::kRespond;
}

}  // namespace seraph
