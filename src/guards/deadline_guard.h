#pragma once
// Every inference request has a deadline: the server's request timeout, shortened by the client's
// X-Request-Timeout-Ms (milliseconds) or the V2 "timeout" parameter (microseconds, as Triton has
// it). At the deadline the request is answered 504 whatever is still running, and late work for it
// is dropped.
#include <chrono>

#include "guards/guard.h"

namespace seraph {

class DeadlineGuard final : public Guard {
 public:
  explicit DeadlineGuard(std::chrono::milliseconds server_timeout) : server_timeout_(server_timeout) {}
  std::string_view name() const override { return "deadline"; }
  RequestVerdict on_request(Exchange& exchange) override;

 private:
  const std::chrono::milliseconds server_timeout_;
};

}  // namespace seraph
