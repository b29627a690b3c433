#pragma once
// A guard is one concern in front of the backend, like an Envoy HTTP filter: it may answer the
// request itself (by returning an error status), let it pass, or adjust what comes back.
#include <string_view>

#include "core/status.h"
#include "guards/exchange.h"

namespace seraph {

class Guard {
 public:
  virtual ~Guard() = default;
  virtual std::string_view name() const = 0;
  // Before the backend, in chain order. A non-OK status answers the request with it.
  virtual Status on_request(Exchange& exchange) = 0;
  // After the backend (or a later guard's refusal), in reverse order; only for guards whose
  // on_request ran. May run on an execution thread.
  virtual void on_response(Exchange& exchange) {}
};

}  // namespace seraph
