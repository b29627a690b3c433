#pragma once
// The HTTP exchange as the API layer sees it: a request as the connection read it, and a responder
// that sends exactly one answer.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/headers.h"

namespace seraph {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kOther };

constexpr std::string_view method_name(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kDelete: return "DELETE";
    case Method::kOther: break;
  }
  return "OTHER";
}

// A request as the connection read it. The views stay valid until its answer is sent: the
// connection reads nothing more meanwhile.
struct HttpRequest {
  Method method = Method::kOther;
  std::string_view target;  // path and query, as received
  std::string_view body;
  const HeaderLookup& headers;
};

struct HttpResponse {
  unsigned status = 200;
  std::string body;
  std::string_view content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

class Responder {
 public:
  virtual ~Responder() = default;
  // Sends the answer, on the connection's thread; called exactly once per request (the router
  // sees to it).
  virtual void send(HttpResponse response) = 0;
};

}  // namespace seraph
