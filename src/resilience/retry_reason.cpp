#include "resilience/retry_reason.h"

#include <array>

namespace seraph {
namespace {

constexpr std::array<std::string_view, kRetryReasons> kNames = {"connect_failure", "reset", "502", "503", "504"};

}  // namespace

std::string_view retry_reason_name(RetryReason reason) { return kNames[static_cast<size_t>(reason)]; }

std::optional<RetryReason> parse_retry_reason(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<RetryReason>(i);
  }
  return std::nullopt;
}

std::optional<RetryReason> retry_reason_of(const Status& status) {
  switch (status.cause()) {
    case FailureCause::kConnectFailure: return RetryReason::kConnectFailure;
    case FailureCause::kReset: return RetryReason::kReset;
    case FailureCause::kBadGateway: return RetryReason::k502;
    case FailureCause::kInjectedFault:
    case FailureCause::kCircuitOpen: return std::nullopt;
    case FailureCause::kNone: break;
  }
  switch (status.code()) {
    case StatusCode::kUnavailable: return RetryReason::k503;
    case StatusCode::kDeadlineExceeded: return RetryReason::k504;
    default: return std::nullopt;
  }
}

}  // namespace seraph
