#pragma once
// A guard is one concern in front of the backend, like an Envoy HTTP filter. Its request half runs
// in chain order and may let the request continue, answer it (an error status, or OK with a
// response such as a cached one), or pause it and resume it later from any thread. Its response
// half runs in reverse order, for every guard whose request half ran and did not answer itself,
// and may pass the outcome on (after changing it, if it likes), ask for the backend call to be made
// again (the guards after it run again first, so it may have pointed the exchange elsewhere), or
// pause. Both halves run on the connection's I/O thread.
#include <string_view>

#include "guards/exchange.h"

namespace seraph {

enum class RequestVerdict { kContinue, kRespond, kPause };
enum class ResponseVerdict { kPass, kRetry, kPause };

class Guard {
 public:
  virtual ~Guard() = default;
  virtual std::string_view name() const = 0;
  // kRespond answers with exchange.status (an error), or with exchange.response when the status
  // is OK. kPause: the guard later calls GuardChain::resume_request.
  virtual RequestVerdict on_request(Exchange& exchange) = 0;
  // kPause: the guard later calls GuardChain::resume_response.
  virtual ResponseVerdict on_response(Exchange& exchange) { return ResponseVerdict::kPass; }
};

}  // namespace seraph
