#pragma once
// What the control plane's parts share: the registry, the live routing table, the models, and the
// one lock that makes control-plane changes happen one at a time. Never touched on the hot path.
#include <mutex>
#include <string_view>

#include "control/deployments.h"
#include "control/registry.h"
#include "observe/metrics.h"

namespace seraph {

class ModelManager;

struct ControlContext {
  Registry& registry;
  Deployments& deployments;
  ModelManager& models;
  Family<Counter>& errors;  // seraph_control_errors_total, by operation
  std::mutex mutex;  // held for every control-plane change and controller tick

  // A failure no caller can answer (a controller's decision on its timer, a step it retries on the
  // next tick): logged as a JSON line and counted by `operation`, e.g. "rollout.step".
  void report(std::string_view operation, const Status& status);

  // Writes `change` to the registry and, once it is durable, publishes its deployment (if any).
  // The deployment stays split by its running experiment, or by the one the change starts; an
  // experiment the change stops releases it. The caller holds `mutex`.
  Status commit(const RegistryChange& change, ChangeResult* result = nullptr) {
    ChangeResult written;
    if (Status s = registry.apply(change, &written); !s.is_ok()) return s;
    if (const auto& d = change.deployment) {
      int64_t experiment_id = 0;
      if (change.experiment) {
        experiment_id = change.experiment->state == "running" ? written.experiment_id : 0;
      } else if (const LiveDeployment* live = deployments.snapshot()->find(d->environment, d->name)) {
        experiment_id = live->experiment_id;
      }
      deployments.publish(*d, experiment_id);
    }
    if (result) *result = written;
    return {};
  }
};

// Unix time in milliseconds, as the registry records it.
int64_t unix_ms();

}  // namespace seraph
