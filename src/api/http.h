#pragma once
// The HTTP exchange as the API layer sees it: a parsed request it may read during handle(), and a
// responder that sends exactly one answer, from any thread.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/headers.h"

namespace seraph {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kOther };

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
  virtual void send(HttpResponse response) = 0;
};

}  // namespace seraph
