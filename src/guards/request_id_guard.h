#pragma once
// Every request gets an id: the client's X-Request-Id when it is sane (1-128 visible ASCII
// characters), otherwise a fresh random one. The first guard of the endpoint stage, so every
// answer, admin and metrics included, echoes it in X-Request-Id.
#include <string>
#include <string_view>

#include "guards/guard.h"

namespace seraph {

class RequestIdGuard final : public Guard {
 public:
  std::string_view name() const override { return "request_id"; }
  RequestVerdict on_request(Exchange& exchange) override;
  ResponseVerdict on_response(Exchange& exchange) override;
};

std::string request_id_for(std::string_view client_id);

// 32 hex digits from a per-thread generator: unique without coordination between threads.
std::string generate_request_id();
bool is_acceptable_request_id(std::string_view id);

}  // namespace seraph
