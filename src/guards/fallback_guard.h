#pragma once
// A deployment's fallback chain (its `fallback` policy), tried in order when the chosen variant
// fails: a 500, 503 (the backend is down, its circuit is open, the request was shed) or 504 from
// the backend. Never for a client's error (4xx), nor a 429 (a quota says slow down, not go
// elsewhere), nor once the client's deadline has passed. Each step is one of
//   variant        call another variant of the deployment (a candidate's baseline, a remote
//                  model's local one): the guards after this one run again, then its backend
//   stale_cache    the response cache's expired answer for this request, when it kept one
//   default_answer the deployment's configured answer
// and a step that cannot answer passes to the next; when none is left the last failure stands.
// A failed variant's failure is recorded in its stats before the chain moves on, so canary
// analysis sees a candidate fail however the request was answered; the variant that served is
// recorded by the observers as usual. An answer a fallback gave says so: X-Fallback: <step> and a
// "fallback" member in the body (/predict's top level, V2's parameters).
#include "guards/guard.h"

namespace seraph {

class BackendDirectory;
class ModelManager;

class FallbackGuard final : public Guard {
 public:
  FallbackGuard(const ModelManager& models, const BackendDirectory* backends) : models_(models), backends_(backends) {}
  std::string_view name() const override { return "fallback"; }
  RequestVerdict on_request(Exchange&) override { return RequestVerdict::kContinue; }
  ResponseVerdict on_response(Exchange& exchange) override;

 private:
  // Tries the chain's steps from exchange.fallback.next: kRetry once one points the exchange at a
  // variant, kPass once one answered or none is left.
  ResponseVerdict fall_back(Exchange& exchange) const;
  // Points the exchange at variant step `step`'s variant; false when it cannot serve this request.
  bool switch_variant(Exchange& exchange, const LiveFallbackStep& step) const;

  const ModelManager& models_;
  const BackendDirectory* const backends_;
};

// Whether a failure with this status is one a fallback covers (500, 503, 504).
bool fallback_covers(const Status& status);

}  // namespace seraph
