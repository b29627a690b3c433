#include "guards/fallback_guard.h"

#include <tuple>

#include "control/deployments.h"
#include "guards/route_guard.h"
#include "models/input_validation.h"
#include "models/model_version.h"

namespace seraph {
namespace {

// The variant's bit in FallbackState::failed_variants (none past the 64th: such a variant may be
// tried twice, which costs a call, not an answer).
uint64_t variant_bit(const LiveDeployment& deployment, const LiveVariant& variant) {
  const auto index = static_cast<size_t>(&variant - deployment.variants.data());
  return index < 64 ? uint64_t{1} << index : 0;
}

// The failed call's own headers (why it was shed, when to come back) do not describe what replaces it.
void drop_failure_headers(Exchange& exchange) {
  std::erase_if(exchange.response_headers,
                [](const auto& header) { return header.first == "Retry-After" || header.first == "X-Shed-Reason"; });
}

void mark_served(Exchange& exchange, const LiveFallbackStep& step) {
  exchange.fallback.serving = &step;
  step.served->add();
  exchange.response_headers.emplace_back("X-Fallback", step.label);
}

// Answers with `answer` (a stale or default one) on the step's behalf.
void answer_with(Exchange& exchange, const LiveFallbackStep& step, const InferResponse& answer) {
  exchange.status = Status::ok();
  exchange.response = answer;
  exchange.response.id = exchange.request->id;
  drop_failure_headers(exchange);
  mark_served(exchange, step);
}

}  // namespace

bool fallback_covers(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInternal:
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return true;
    default:
      return false;
  }
}

ResponseVerdict FallbackGuard::on_response(Exchange& exchange) {
  const LiveDeployment* deployment = exchange.deployment;
  if (!deployment || deployment->fallback.empty()) return ResponseVerdict::kPass;
  const LiveFallbackStep* trying = exchange.fallback.serving;  // a variant step whose call just came back
  if (exchange.status.is_ok()) {
    if (trying) mark_served(exchange, *trying);
    return ResponseVerdict::kPass;
  }
  if (trying) trying->failed->add();
  // A 504 once the client's own deadline has passed is that deadline: no time is left to fall back.
  if (!fallback_covers(exchange.status) || exchange.cancelled() || Clock::now() >= exchange.deadline) {
    return ResponseVerdict::kPass;
  }
  return fall_back(exchange);
}

ResponseVerdict FallbackGuard::fall_back(Exchange& exchange) const {
  const LiveDeployment& deployment = *exchange.deployment;
  FallbackState& state = exchange.fallback;
  // The failed variant's failure, once and now: the observers see only the variant that answers last.
  if (!state.variant_recorded) {
    exchange.variant->stats->record(http_status_of(exchange.status.code()),
                                    elapsed_ms(state.serving ? state.variant_start : exchange.start));
    state.variant_recorded = true;
  }
  state.failed_variants |= variant_bit(deployment, *exchange.variant);
  state.serving = nullptr;
  while (state.next < deployment.fallback.size()) {
    const LiveFallbackStep& step = deployment.fallback[state.next++];
    switch (step.kind) {
      case FallbackStep::Kind::kVariant:
        if (switch_variant(exchange, step)) {
          drop_failure_headers(exchange);
          state.serving = &step;
          state.variant_recorded = false;
          state.variant_start = Clock::now();
          return ResponseVerdict::kRetry;
        }
        break;
      case FallbackStep::Kind::kStaleCache:
        if (exchange.cache.expired) {
          answer_with(exchange, step, *exchange.cache.expired);
          return ResponseVerdict::kPass;
        }
        break;
      case FallbackStep::Kind::kDefaultAnswer:
        if (step.answer) {
          answer_with(exchange, step, *step.answer);
          return ResponseVerdict::kPass;
        }
        break;
    }
    step.failed->add();
  }
  return ResponseVerdict::kPass;  // none left: the last failure stands
}

bool FallbackGuard::switch_variant(Exchange& exchange, const LiveFallbackStep& step) const {
  const LiveDeployment& deployment = *exchange.deployment;
  const LiveVariant& target = deployment.variants[step.variant];
  if (exchange.fallback.failed_variants & variant_bit(deployment, target)) return false;  // failed this request already
  auto failed = std::tuple(exchange.variant, exchange.version, exchange.backend, exchange.remote_contract);
  Status status = serve_variant(exchange, target, models_, backends_);
  // Versions of one deployment may differ in contract: check the request against this one's.
  if (status.is_ok() && exchange.version) status = validate_request(exchange.version->config(), exchange.request);
  if (status.is_ok()) return true;
  // It cannot serve this request: the answer stays the failed variant's.
  std::tie(exchange.variant, exchange.version, exchange.backend, exchange.remote_contract) = std::move(failed);
  return false;
}

}  // namespace seraph
