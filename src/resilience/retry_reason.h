#pragma once
// Why a failed backend call may be worth another try, as guards.retry.retry_on names it. Only
// failures that say nothing about the request itself qualify: the backend could not be reached,
// the connection broke, or it answered 502, 503 or 504.
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/status.h"

namespace seraph {

enum class RetryReason : uint8_t { kConnectFailure, kReset, k502, k503, k504 };
inline constexpr size_t kRetryReasons = 5;

std::string_view retry_reason_name(RetryReason reason);
// The reason named `name` ("connect_failure", "reset", "502", "503", "504"); none when unknown.
std::optional<RetryReason> parse_retry_reason(std::string_view name);
// Why `status` (a failure) may be retried; none when it may not (a 4xx, a 500, a fault injected
// here, success).
std::optional<RetryReason> retry_reason_of(const Status& status);

}  // namespace seraph
