#include "guards/route_guard.h"

#include <random>

#include <fmt/format.h>

#include "control/deployments.h"
#include "models/model_manager.h"
#include "models/remote/remote_backend.h"

namespace seraph {
namespace {

double random_point() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

// The remote model a variant names, when it names a backend; nullptr otherwise (or when the
// backend is not configured: then `status` says so).
std::shared_ptr<RemoteModel> remote_model(const BackendDirectory* backends, const VariantRecord& variant,
                                          Status& status) {
  if (variant.backend.empty()) return nullptr;
  RemoteBackend* backend = backends ? backends->find(variant.backend) : nullptr;
  if (!backend) {
    status = unavailable(
        fmt::format("variant '{}' names backend '{}', which is not configured", variant.name, variant.backend));
    return nullptr;
  }
  return backend->model(variant.model, variant.version);
}

// The served variant: forced by X-Canary or a version, else sticky, else weighted random.
Status choose_variant(const LiveDeployment& deployment, const Exchange& exchange, const LiveVariant*& chosen) {
  if (std::string_view forced = exchange.headers.header("x-canary"); !forced.empty()) {
    chosen = deployment.by_role_or_name(forced);
    if (!chosen) {
      return invalid_argument(fmt::format("X-Canary '{}' names no variant of deployment '{}' ({})", forced,
                                          deployment.name, deployment.environment));
    }
    return {};
  }
  if (exchange.request->version) {
    chosen = deployment.serving_version(*exchange.request->version);
    if (!chosen) {
      return not_found(fmt::format("deployment '{}' ({}) has no variant serving version {}", deployment.name,
                                   deployment.environment, *exchange.request->version));
    }
    return {};
  }
  std::string_view sticky_key;
  if (!deployment.sticky_header.empty()) sticky_key = exchange.headers.header(deployment.sticky_header);
  chosen = &deployment.pick(sticky_key.empty() ? random_point() : sticky_point(sticky_key));
  return {};
}

// Points the exchange at the local version of `model` (the latest ready one without `version`).
Status serve_local(Exchange& exchange, const ModelManager& models, std::string_view model,
                   std::optional<int64_t> version) {
  Status status;
  std::shared_ptr<ModelVersion> found = models.find(model, version, status);
  exchange.version = found.get();
  exchange.backend = std::move(found);
  exchange.remote_contract = nullptr;
  return status;
}

}  // namespace

Status serve_variant(Exchange& exchange, const LiveVariant& variant, const ModelManager& models,
                     const BackendDirectory* backends) {
  exchange.variant = &variant;
  Status status;
  if (auto remote = remote_model(backends, variant.record, status); remote || !status.is_ok()) {
    exchange.version = nullptr;
    exchange.remote_contract = remote ? remote->contract() : nullptr;
    exchange.backend = std::move(remote);
    return status;
  }
  return serve_local(exchange, models, variant.record.model, variant.record.version);
}

const ModelConfig* serving_contract(const Exchange& exchange) {
  return exchange.version ? &exchange.version->config() : exchange.remote_contract.get();
}

double sticky_point(std::string_view key) {
  // FNV-1a, then splitmix64's finaliser so that similar keys spread over the whole line.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

Status RouteGuard::route(Exchange& exchange) const {
  std::string_view environment = exchange.headers.header("x-environment");
  if (environment.empty()) {
    environment = deployments_.default_environment();
  } else if (!deployments_.is_environment(environment)) {
    return invalid_argument(fmt::format("unknown environment '{}' in X-Environment (configured: {})", environment,
                                        fmt::join(deployments_.environments(), ", ")));
  }
  const auto& table = deployments_.current();
  if (const LiveDeployment* deployment = table->find(environment, exchange.request->model)) {
    const LiveVariant* variant = nullptr;
    if (Status s = choose_variant(*deployment, exchange, variant); !s.is_ok()) return s;
    exchange.deployment = deployment;
    if (const LiveVariant* shadow = deployment->shadow(); shadow && random_point() * 100 < shadow->record.weight) {
      Status reachable;
      auto remote_shadow = remote_model(backends_, shadow->record, reachable);
      if (reachable.is_ok()) {
        exchange.shadow = shadow;
        exchange.shadow_backend = std::move(remote_shadow);
      }
    }
    exchange.routing = table;
    return serve_variant(exchange, *variant, models_, backends_);
  }
  return serve_local(exchange, models_, exchange.request->model, exchange.request->version);
}

RequestVerdict RouteGuard::on_request(Exchange& exchange) {
  exchange.status = route(exchange);
  return exchange.status.is_ok() ? RequestVerdict::kContinue : RequestVerdict::kRespond;
}

ResponseVerdict RouteGuard::on_response(Exchange& exchange) {
  auto& headers = exchange.response_headers;
  if (exchange.version) headers.emplace_back("X-Model-Version", std::to_string(exchange.version->version()));
  if (const LiveDeployment* d = exchange.deployment) {
    headers.emplace_back("X-Deployment", d->name);
    headers.emplace_back("X-Environment", d->environment);
    headers.emplace_back("X-Variant", exchange.variant->record.name);
  }
  return ResponseVerdict::kPass;
}

}  // namespace seraph
