#pragma once
// One inference request on its way through the guard chain and back.
#include <memory>
#include <string>
#include <vector>
#include <utility>

#include "core/clock.h"
#include "core/headers.h"
#include "core/inference.h"
#include "control/deployments.h"
#include "core/status.h"
#include "models/model_version.h"

namespace seraph {

struct Exchange {
  Exchange(const HeaderLookup& headers, TimePoint start) : headers(headers), start(start) {}

  const HeaderLookup& headers;
  const TimePoint start;
  std::string request_id;                   // set before dispatch (guards/request_id.h)
  InferRequest request;
  std::shared_ptr<ModelVersion> target;     // set by the route guard
  // When the request named a deployment: the routing table it was routed on (kept alive for the
  // request), the deployment, and the variant that serves it.
  std::shared_ptr<const DeploymentTable> routing;
  const LiveDeployment* deployment = nullptr;
  const LiveVariant* variant = nullptr;
  const LiveVariant* shadow = nullptr;      // a copy of the request goes there after the answer
  TimePoint dispatch_at{};                  // an injected delay: reach the model no sooner than this
  InferResponse response;
  Status status;
  std::vector<std::pair<std::string, std::string>> response_headers;  // added by guards
};

}  // namespace seraph
