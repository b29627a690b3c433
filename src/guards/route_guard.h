#pragma once
#include "guards/guard.h"

namespace seraph {

class BackendDirectory;
class Deployments;
class ModelManager;

// Picks the model version that serves the request. A name that is a deployment in the request's
// environment (X-Environment, else the configured default) routes to one of its variants:
//   forced   X-Canary: <role or variant name>, or a requested version (?model_version=, V2 path)
//   sticky   the deployment's sticky header (e.g. X-User-Id) hashed onto the weight line, so one
//            user keeps one variant while the weights hold
//   weighted a fresh random point on the weight line
// and may copy the request to the deployment's shadow variant. Any other name is a model: the
// version asked for, else the latest ready one. A variant that names a remote backend routes to
// that backend's model (no local version). The request itself is left as the client sent it.
class RouteGuard final : public Guard {
 public:
  RouteGuard(ModelManager& models, const Deployments& deployments, const BackendDirectory* backends = nullptr)
      : models_(models), deployments_(deployments), backends_(backends) {}
  std::string_view name() const override { return "route"; }
  RequestVerdict on_request(Exchange& exchange) override;
  ResponseVerdict on_response(Exchange& exchange) override;

 private:
  Status route(Exchange& exchange) const;

  ModelManager& models_;
  const Deployments& deployments_;
  const BackendDirectory* backends_;
};

// The serving model's tensor contract: the local version's config, or the remote model's as its
// backend read it; null when the exchange is routed nowhere or the remote has not answered yet.
const ModelConfig* serving_contract(const Exchange& exchange);

// Points the exchange at `variant`: its variant, version, backend and contract (the remote model when
// the variant names a backend, else its local version). The route guard's choice and the fallback
// guard's next step both serve a variant this way.
Status serve_variant(Exchange& exchange, const LiveVariant& variant, const ModelManager& models,
                     const BackendDirectory* backends);

// The point on [0, 1) that a sticky key maps to; the same key always maps to the same point.
double sticky_point(std::string_view key);

}  // namespace seraph
