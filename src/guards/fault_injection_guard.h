#pragma once
// Injects faults on purpose, as Envoy's fault filter does: a share of requests is answered at once
// with an error status (an abort), and a share is paused for an added delay before it reaches the
// backend (the deadline still answers in time). The faults come from the deployment (its policy's
// `fault`), the variant, the variant's remote backend (resilience/backend_faults.h) and, only where
// guards.fault_injection.allow_request_headers says so, the request's own X-Seraph-Fault-Delay-Ms
// and X-Seraph-Fault-Abort headers. The first abort that happens wins, else the first delay.
// At most max_active faults are in progress at once; beyond that none is injected. Last in the
// chain, so that an injected fault looks like a backend failure to the breakers, retries and
// fallback before it (a retried request is given its chance of a fault again). Every injected
// fault is counted in seraph_faults_injected_total, every one skipped in seraph_faults_skipped_total.
// Runtimes know nothing of it.
#include <functional>

#include "control/variant_stats.h"
#include "guards/guard.h"
#include "guards/guard_settings.h"
#include "observe/metrics.h"
#include "resilience/active_faults.h"

namespace seraph {

class BackendFaults;

class FaultInjectionGuard final : public Guard {
 public:
  // A number from 0 up to 100 per call, deciding who is given a fault: the calling thread's own
  // generator, unless a test fixes it.
  using Roll = std::function<double()>;

  // `backends`: the remote backends' faults; null: none.
  FaultInjectionGuard(const FaultInjectionSettings& settings, const BackendFaults* backends, MetricsRegistry& metrics,
                      Roll roll = nullptr);
  std::string_view name() const override { return "fault_injection"; }
  RequestVerdict on_request(Exchange& exchange) override;

 private:
  bool happens(double percent) const;
  void count(const Exchange& exchange, FaultKind kind, FaultSource source);

  const bool allow_request_headers_;
  const BackendFaults* backends_;
  const Roll roll_;
  ActiveFaults active_;
  Counter& skipped_;
  // Header faults of requests that no deployment variant serves (a model called by its name).
  Counter& unrouted_delays_;
  Counter& unrouted_aborts_;
};

}  // namespace seraph
