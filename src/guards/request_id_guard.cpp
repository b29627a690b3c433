#include "guards/request_id_guard.h"

#include <cstdint>
#include <random>

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
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  const uint64_t halves[2] = {generator(), generator()};
  for (int i = 0; i < 32; ++i) id[i] = kHex[(halves[i / 16] >> ((i % 16) * 4)) & 0xF];
  return id;
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
