#pragma once
// Outcome of an operation: a code that maps to one HTTP status, and a message for the client.
#include <cstdint>
#include <string>
#include <utility>

namespace seraph {

enum class StatusCode {
  kOk,
  kInvalidArgument,       // 400
  kUnauthenticated,       // 401
  kPermissionDenied,      // 403
  kNotFound,              // 404
  kMethodNotAllowed,      // 405
  kConflict,              // 409
  kPayloadTooLarge,       // 413
  kUnsupportedMediaType,  // 415
  kResourceExhausted,     // 429
  kInternal,              // 500
  kUnavailable,           // 503
  kDeadlineExceeded,      // 504
};

// What a failure's code cannot tell and a retry needs to: the backend was never reached, the
// connection broke mid-call, a remote server answered 502 (which maps to kInternal, as a 500), or
// the failure was injected on purpose here (what clients are meant to see: never retried), or a
// circuit breaker refused the call without making it (a retry now would be refused too).
enum class FailureCause : uint8_t { kNone, kConnectFailure, kReset, kBadGateway, kInjectedFault, kCircuitOpen };

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  FailureCause cause() const { return cause_; }
  Status&& with_cause(FailureCause cause) && {
    cause_ = cause;
    return std::move(*this);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  FailureCause cause_ = FailureCause::kNone;  // in the padding after code_: Status stays its size
  std::string message_;
};

inline Status invalid_argument(std::string message) { return {StatusCode::kInvalidArgument, std::move(message)}; }
inline Status not_found(std::string message) { return {StatusCode::kNotFound, std::move(message)}; }
inline Status unavailable(std::string message) { return {StatusCode::kUnavailable, std::move(message)}; }
inline Status conflict(std::string message) { return {StatusCode::kConflict, std::move(message)}; }
inline Status internal_error(std::string message) { return {StatusCode::kInternal, std::move(message)}; }

unsigned http_status_of(StatusCode code);

}  // namespace seraph
