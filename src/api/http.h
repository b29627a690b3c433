#pragma once
// The HTTP exchange as the API layer sees it: a parsed request it may read during handle(), and a
// responder that sends exactly one answer, from any thread.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
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
  // Sends the answer; called exactly once per request (the router sees to it).
  virtual void send(HttpResponse response) = 0;
  // Calls `expired` (on the connection's thread) at `deadline` if no answer has been sent by
  // then, so the router can answer in time even while a model still computes.
  virtual void on_deadline(TimePoint deadline, std::function<void()> expired) = 0;
  // Calls `run` (on the connection's thread) at `when`: for an injected delay. One at a time.
  virtual void defer(TimePoint when, std::function<void()> run) = 0;
};

}  // namespace seraph
