#pragma once
// Checks the request against the tensor contract of the model version that routing chose, so a
// malformed request is answered 400 before it costs anything further (a cache look-up, a backend
// call, a retry). Runs after the route guard: versions of one deployment may differ in contract.
#include "guards/guard.h"

namespace seraph {

class ValidationGuard final : public Guard {
 public:
  std::string_view name() const override { return "validation"; }
  RequestVerdict on_request(Exchange& exchange) override;
};

}  // namespace seraph
