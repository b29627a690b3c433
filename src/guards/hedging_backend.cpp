#include "guards/hedging_backend.h"

#include <atomic>

namespace seraph {

struct HedgingBackend::Call {
  std::shared_ptr<const InferRequest> request;
  TimePoint deadline;
  Backend::Done done;              // moved out by the one copy that answers
  std::atomic<bool> answered{false};
  std::atomic<int> in_flight{1};   // copies sent and not yet answered
  std::atomic<bool> hedge_won{false};
};

HedgingBackend::HedgingBackend(std::shared_ptr<Backend> inner, std::shared_ptr<ExchangeLoop> loop,
                               const RetrySettings& settings, Family<Counter>& hedges, Family<Counter>& exhausted)
    : inner_(std::move(inner)),
      target_(*inner_->resilience()),
      loop_(std::move(loop)),
      hedge_(settings.hedge),
      budget_percent_(settings.budget_percent),
      min_retry_concurrency_(settings.min_retry_concurrency),
      hedges_(hedges),
      exhausted_(exhausted) {}

bool HedgingBackend::hedge_won() const { return last_ && last_->hedge_won.load(std::memory_order_acquire); }

void HedgingBackend::count(std::string_view outcome) {
  hedges_.get({{"backend", target_.label}, {"outcome", std::string(outcome)}}).add();
}

void HedgingBackend::execute(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done) {
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  call->deadline = deadline;
  call->done = std::move(done);
  last_ = call;
  schedule(call, 0);  // before the call: its answer may come at once, and then the timer finds it answered
  hedge(call, 0);
}

void HedgingBackend::schedule(std::shared_ptr<Call> call, int sent) {
  if (sent >= hedge_.max_hedges) return;
  std::chrono::microseconds delay(int64_t{hedge_.delay_ms} * 1000);
  if (hedge_.delay_ms == 0) {
    const auto p95 = target_.latency.quantile(0.95);
    if (!p95) return;  // too few answers yet to know what slow is
    delay = *p95;
  }
  const TimePoint when = Clock::now() + delay;
  if (when >= call->deadline) return;
  loop_->run_at(when, [self = shared_from_this(), call = std::move(call), sent]() mutable {
    if (call->answered.load(std::memory_order_acquire)) return;
    if (!self->target_.budget.try_start_retry(self->budget_percent_, self->min_retry_concurrency_)) {
      self->exhausted_.get({{"backend", self->target_.label}}).add();
      return;
    }
    // A copy still out: a failure answered with none out has ended the call.
    int out = call->in_flight.load(std::memory_order_acquire);
    do {
      if (out == 0) return self->target_.budget.finish_retry();
    } while (!call->in_flight.compare_exchange_weak(out, out + 1, std::memory_order_acq_rel));
    self->count("sent");
    self->schedule(call, sent + 1);
    self->hedge(call, sent + 1);
  });
}

// Sends copy number `copy` (0: the first, counted in in_flight from the start).
void HedgingBackend::hedge(const std::shared_ptr<Call>& call, int copy) {
  const TimePoint sent_at = Clock::now();
  inner_->execute(call->request, call->deadline,
                  [self = shared_from_this(), call, copy, sent_at](Status status, InferResponse response) {
                    const bool good = status.is_ok();
                    if (good) {
                      self->target_.latency.record(
                          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent_at));
                    }
                    if (copy > 0) self->target_.budget.finish_retry();
                    const bool last = call->in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1;
                    const bool answers = (good || last) && !call->answered.exchange(true, std::memory_order_acq_rel);
                    if (copy > 0) self->count(answers && good ? "won" : "lost");
                    if (!answers) return;
                    call->hedge_won.store(copy > 0 && good, std::memory_order_release);
                    auto done = std::move(call->done);
                    done(std::move(status), std::move(response));
                  });
}

}  // namespace seraph
