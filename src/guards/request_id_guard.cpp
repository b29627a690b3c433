#include "guards/request_id_guard.h"

#include <array>
#include <cstdint>
#include <random>

#include "core/hex.h"

namespace seraph {

bool is_acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= ' ' || c > '~' || c == '"' || c == '\\') return false;
  }
  return true;
}

std::string generate_request_id() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  const std::array<uint64_t, 2> halves{generator(), generator()};
  return to_hex({reinterpret_cast<const unsigned char*>(halves.data()), sizeof halves});
}

std::string request_id_for(std::string_view client_id) {
  return is_acceptable_request_id(client_id) ? std::string(client_id) : generate_request_id();
}

RequestVerdict RequestIdGuard::on_request(Exchange& exchange) {
  exchange.request_id = request_id_for(exchange.headers.header("x-request-id"));
  return RequestVerdict::kContinue;
}

ResponseVerdict RequestIdGuard::on_response(Exchange& exchange) {
  exchange.response_headers.emplace_back("X-Request-Id", exchange.request_id);
  return ResponseVerdict::kPass;
}

}  // namespace seraph
