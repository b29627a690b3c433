#pragma once
// Where an inference request is executed: a model version in this process (ModelVersion, with its
// batcher and runtime) or, later, a remote model server. The guard chain ends in one of these and
// knows nothing else of it.
#include <functional>
#include <memory>

#include "core/clock.h"
#include "core/inference.h"
#include "core/status.h"

namespace seraph {

struct BackendResilience;

class Backend {
 public:
  // Called exactly once per execute(), from any thread, possibly before execute() returns.
  using Done = std::function<void(Status, InferResponse)>;

  virtual ~Backend() = default;
  // Executes `request` and answers through `done`. Work still queued at `deadline` is answered
  // 504 and never run. The request is shared and immutable: a retry, a hedge or a shadow copy
  // executes the same object again.
  virtual void execute(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done) = 0;
  // What the retry guard keeps for this backend (its retry budget, its recent latencies); null: the
  // backend is not retried.
  virtual BackendResilience* resilience() { return nullptr; }
};

}  // namespace seraph
