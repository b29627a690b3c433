#pragma once
// Admission control and load shedding: each local model version and each remote backend has an
// adaptive concurrency limit (resilience/concurrency_limiter.h). A request takes a slot in its
// request half and gives it back in its response half, where its latency (a success, or a
// deadline the target did not meet) feeds the limit. With no slot free it waits in the target's
// bounded priority queue if its deadline leaves room, or is answered at once: 503 with
// Retry-After and X-Shed-Reason, its body naming the target and the priority.
//
// The priority comes from X-Priority (critical, normal or low; anything else is a 400), else the
// deployment's policy, else normal. A caller whose API key has a priority gets it by default, and
// X-Priority may lower it but never raise it. Low requests go first under overload, critical ones last.
#include <memory>

#include "guards/guard.h"
#include "resilience/concurrency_limiter.h"

namespace seraph {

class MetricsRegistry;
class AdmissionTargets;
struct AdmissionTarget;

class AdmissionGuard final : public Guard {
 public:
  AdmissionGuard(const ConcurrencySettings& settings, MetricsRegistry& metrics);
  ~AdmissionGuard() override;
  std::string_view name() const override { return "admission"; }
  RequestVerdict on_request(Exchange& exchange) override;
  ResponseVerdict on_response(Exchange& exchange) override;

 private:
  // On the exchange's thread: how its wait for `target` ended (`ticket` names the wait).
  void on_woken(Exchange& exchange, AdmissionTarget& target, uint64_t ticket, std::optional<ShedReason> shed);
  // On the exchange's thread: its wait ran out (`ticket` names the wait).
  void on_wait_over(Exchange& exchange, uint64_t ticket);

  const uint64_t id_;  // tells this guard's entries in the per-thread target cache from others'
  const std::shared_ptr<AdmissionTargets> targets_;  // shared with the metrics collector
};

}  // namespace seraph
