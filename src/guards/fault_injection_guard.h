#pragma once
// Injects faults on purpose, per deployment variant, as set in its FaultSpec (config or admin
// API): a share of requests is answered at once with an error status, and a share is paused for
// an added delay before it reaches the model (the deadline still answers in time). Every injected fault is counted in
// seraph_faults_injected_total. Runtimes know nothing of it.
#include "guards/guard.h"

namespace seraph {

class FaultInjectionGuard final : public Guard {
 public:
  std::string_view name() const override { return "fault_injection"; }
  RequestVerdict on_request(Exchange& exchange) override;
};

}  // namespace seraph
