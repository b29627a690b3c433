#include "guards/fault_injection_guard.h"

#include <random>

#include <fmt/format.h>

#include "control/deployments.h"
#include "guards/guard_chain.h"

namespace seraph {
namespace {

// True for `percent` percent of calls.
bool happens(double percent) {
  if (percent <= 0) return false;
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 100.0)(generator) < percent;
}

Status abort_status(int http_status, std::string message) {
  switch (http_status) {
    case 429: return {StatusCode::kResourceExhausted, std::move(message)};
    case 500: return internal_error(std::move(message));
    case 504: return {StatusCode::kDeadlineExceeded, std::move(message)};
    default: return unavailable(std::move(message));
  }
}

}  // namespace

RequestVerdict FaultInjectionGuard::on_request(Exchange& exchange) {
  if (!exchange.variant) return RequestVerdict::kContinue;
  const FaultSpec& fault = exchange.variant->record.fault;
  if (happens(fault.abort_percent)) {
    exchange.variant->stats->record_fault(FaultKind::kAbort);
    // Injected to be seen, by the client and by canary analysis: the retry guard leaves it be.
    exchange.status = abort_status(fault.abort_status, fmt::format("fault injected: variant '{}' aborted the request",
                                                                   exchange.variant->record.name))
                          .with_cause(FailureCause::kInjectedFault);
    return RequestVerdict::kRespond;
  }
  if (fault.delay_ms > 0 && happens(fault.delay_percent)) {
    exchange.variant->stats->record_fault(FaultKind::kDelay);
    const TimePoint until = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(fault.delay_ms * 1000));
    exchange.loop->run_at(until, [ex = exchange.shared_from_this()] {
      GuardChain::resume_request(*ex, Stage::kInference, RequestVerdict::kContinue);
    });
    return RequestVerdict::kPause;
  }
  return RequestVerdict::kContinue;
}

}  // namespace seraph
