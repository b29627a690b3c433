#pragma once
// Every request gets an id: the client's X-Request-Id when it is sane (1-128 visible ASCII
// characters), otherwise a fresh random one. It is the first step for every endpoint, so it runs
// before dispatch rather than in the inference-only guard chain; answers echo it in X-Request-Id.
#include <string>
#include <string_view>

namespace seraph {

std::string request_id_for(std::string_view client_id);

// 32 hex digits from a per-thread generator: unique without coordination between threads.
std::string generate_request_id();
bool is_acceptable_request_id(std::string_view id);

}  // namespace seraph
