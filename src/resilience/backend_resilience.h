#pragma once
// What the retry guard keeps per backend (a local model version, or a remote backend whose models
// all share it): the retry budget its requests share, its recent latencies for hedging, and the
// name metrics give it.
#include <string>

#include "resilience/latency_window.h"
#include "resilience/retry_budget.h"

namespace seraph {

struct BackendResilience {
  BackendResilience(std::string label, bool hedgeable) : label(std::move(label)), hedgeable(hedgeable) {}

  const std::string label;  // "model:version" in process, the backend's name when remote
  // A second copy of a request can go somewhere else: another process, another endpoint. A model
  // in this process gains nothing from one (same CPU, same queue), so it is never hedged.
  const bool hedgeable;
  RetryBudget budget;
  LatencyWindow latency;
};

}  // namespace seraph
