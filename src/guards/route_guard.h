#pragma once
#include "guards/guard.h"

namespace seraph {

class ModelManager;

// Picks the model version that serves the request: the one asked for, else the latest ready one.
// Later: deployments, environments and canary / sticky / forced / shadow variants.
class RouteGuard final : public Guard {
 public:
  explicit RouteGuard(ModelManager& models) : models_(models) {}
  std::string_view name() const override { return "route"; }
  Status on_request(Exchange& exchange) override;

 private:
  ModelManager& models_;
};

}  // namespace seraph
