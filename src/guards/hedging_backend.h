#pragma once
// Hedged requests (guards.retry.hedge), as a Backend in front of a remote one: when the first copy
// has not answered after a delay (the backend's recent p95 latency, or a fixed one), a second copy
// of the same request goes out, to the backend's next endpoint in turn, and the first good answer
// is the call's. A failed copy waits for the others, so a call fails only when every copy did.
// Hedges take slots of the backend's retry budget, so they never add more than a retry would.
// RemoteBackend cannot cancel a call: the losing copy runs to completion and its answer is dropped.
// The retry guard installs one per exchange, on the exchange's loop (whose timer is free while
// the backend works).
#include <memory>

#include "guards/exchange.h"
#include "guards/guard_settings.h"
#include "models/backend.h"
#include "observe/metrics.h"

namespace seraph {

class HedgingBackend final : public Backend, public std::enable_shared_from_this<HedgingBackend> {
 public:
  // hedges: seraph_hedges_total{backend,outcome}; exhausted: seraph_retry_budget_exhausted_total{backend}.
  HedgingBackend(std::shared_ptr<Backend> inner, std::shared_ptr<ExchangeLoop> loop, const RetrySettings& settings,
                 Family<Counter>& hedges, Family<Counter>& exhausted);

  // On the exchange's loop thread; `done` runs once, from any thread.
  void execute(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done) override;
  BackendResilience* resilience() override { return inner_->resilience(); }

  const std::shared_ptr<Backend>& inner() const { return inner_; }
  // Whether the last execute()'s answer was a hedge's good one. On the loop thread, once answered.
  bool hedge_won() const;

 private:
  struct Call;
  // Arms the loop's timer for hedge number `sent` + 1, when there may be one.
  void schedule(std::shared_ptr<Call> call, int sent);
  void hedge(const std::shared_ptr<Call>& call, int sent);
  void count(std::string_view outcome);

  const std::shared_ptr<Backend> inner_;
  BackendResilience& target_;
  const std::shared_ptr<ExchangeLoop> loop_;
  const RetrySettings::Hedge hedge_;
  const double budget_percent_;
  const int min_retry_concurrency_;
  Family<Counter>& hedges_;
  Family<Counter>& exhausted_;
  std::shared_ptr<Call> last_;
};

}  // namespace seraph
