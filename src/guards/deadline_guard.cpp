#include "guards/deadline_guard.h"

#include <charconv>

#include <fmt/format.h>

#include "guards/guard_chain.h"

namespace seraph {
namespace {

Status timeout_of(const Exchange& exchange, std::chrono::microseconds& timeout) {
  if (std::string_view header = exchange.headers.header("x-request-timeout-ms"); !header.empty()) {
    int64_t ms = 0;
    auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), ms);
    if (ec != std::errc() || end != header.data() + header.size() || ms < 1 || ms > 3'600'000 || header[0] == '0') {
      return invalid_argument(fmt::format(
          "X-Request-Timeout-Ms must be a whole number of milliseconds from 1 to 3600000, got '{}'", header));
    }
    timeout = std::min<std::chrono::microseconds>(timeout, std::chrono::milliseconds(ms));
  }
  for (const auto& [key, value] : exchange.request->parameters) {
    if (key != "timeout") continue;
    const int64_t* us = std::get_if<int64_t>(&value);
    if (!us || *us < 1) return invalid_argument("parameters.timeout must be a positive whole number of microseconds");
    timeout = std::min<std::chrono::microseconds>(timeout, std::chrono::microseconds(*us));
  }
  return {};
}

}  // namespace

RequestVerdict DeadlineGuard::on_request(Exchange& exchange) {
  std::chrono::microseconds timeout = server_timeout_;
  if (Status s = timeout_of(exchange, timeout); !s.is_ok()) {
    exchange.status = std::move(s);
    return RequestVerdict::kRespond;
  }
  exchange.deadline = exchange.start + timeout;
  // The wait holds the exchange: a paused request has nothing else keeping it alive.
  exchange.loop->set_deadline(exchange.deadline, [ex = exchange.shared_from_this()] {
    GuardChain::abort(*ex, Stage::kInference, {StatusCode::kDeadlineExceeded, "deadline exceeded before the model answered"});
  });
  return RequestVerdict::kContinue;
}

}  // namespace seraph
