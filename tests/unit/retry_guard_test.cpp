// The retry guard in a real chain, in front of a backend that fails on cue: retriable failures are
// retried after a back-off until they succeed or the retries run out, within the backend's budget
// and the request's deadline; other failures and requests that may not run twice are not. And the
// hedging backend it installs for remote backends: the first good answer wins, exactly once.
#include "guards/retry_guard.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <thread>

#include "guard_fixture.h"
#include "control/deployments.h"
#include "guards/guard_chain.h"
#include "guards/hedging_backend.h"
#include "models/backend.h"
#include "resilience/backend_resilience.h"
#include "resilience/retry_reason.h"

namespace seraph {
namespace {

using testing::make_exchange;
using testing::response_header;

InferResponse labelled(std::string label) {
  InferResponse r;
  r.outputs.push_back({"label", DataType::kBytes, {1}, {}, {std::move(label)}});
  return r;
}

std::string label_of(const Exchange& ex) {
  return ex.response.outputs.empty() ? "" : ex.response.outputs[0].strings.at(0);
}

// Fails its first `failures` calls with `failure`, then answers "ok"; or, holding, keeps every
// call's `done` for the test to answer.
class FakeBackend final : public Backend {
 public:
  explicit FakeBackend(bool hedgeable = false) : resilience_("fake", hedgeable) {}
  void execute(std::shared_ptr<const InferRequest>, TimePoint, Done done) override {
    ++calls;
    active_seen.push_back(resilience_.budget.active_requests());
    if (hold) {
      std::lock_guard lock(mutex);
      held.push_back(std::move(done));
      return;
    }
    if (calls <= failures) return done(failure, {});
    done({}, labelled("ok"));
  }
  BackendResilience* resilience() override { return &resilience_; }
  // Answers held call `i` and lets go of its callback (which holds the hedging backend, which
  // holds this backend: kept, they would keep each other alive).
  void answer(size_t i, Status status, InferResponse response) {
    Done done = std::move(held[i]);
    done(std::move(status), std::move(response));
  }

  int calls = 0;
  std::vector<int64_t> active_seen;  // the budget's requests in flight at each call
  int failures = 0;
  Status failure = unavailable("backend says 503");
  bool hold = false;
  std::mutex mutex;
  std::deque<Done> held;

 private:
  BackendResilience resilience_;
};

// As a fallback would: when the answer failed, once, points the exchange at `next` and asks for the
// call again.
class SwitchingGuard final : public Guard {
 public:
  explicit SwitchingGuard(std::shared_ptr<Backend> next) : next_(std::move(next)) {}
  std::string_view name() const override { return "switching"; }
  RequestVerdict on_request(Exchange&) override { return RequestVerdict::kContinue; }
  ResponseVerdict on_response(Exchange& ex) override {
    if (ex.status.is_ok() || !next_) return ResponseVerdict::kPass;
    ex.backend = std::move(next_);
    return ResponseVerdict::kRetry;
  }

 private:
  std::shared_ptr<Backend> next_;
};

// Counts its request halves: the guards after the retry guard run again before each retry.
class CountingGuard final : public Guard {
 public:
  std::string_view name() const override { return "counting"; }
  RequestVerdict on_request(Exchange&) override {
    ++requests;
    return RequestVerdict::kContinue;
  }
  int requests = 0;
};

class RetryGuardTest : public ::testing::Test {
 protected:
  // The retry guard, after `before` when given, and a counting guard after it.
  void build(RetrySettings settings = {}, std::unique_ptr<Guard> before = nullptr) {
    std::vector<std::unique_ptr<Guard>> guards;
    if (before) guards.push_back(std::move(before));
    guards.push_back(std::make_unique<RetryGuard>(settings, metrics_));
    auto counting = std::make_unique<CountingGuard>();
    after_ = counting.get();
    guards.push_back(std::move(counting));
    // As the router's terminal step: the backend answers from any thread, the loop completes.
    chain_ = std::make_unique<GuardChain>(
        Stage::kInference, std::move(guards),
        [this](Exchange& ex) {
          ex.backend->execute(ex.request, ex.deadline, [this, e = ex.shared_from_this()](Status s, InferResponse r) {
            e->loop->dispatch([this, e, s = std::move(s), r = std::move(r)]() mutable {
              if (e->cancelled()) return;
              e->status = std::move(s);
              e->response = std::move(r);
              chain_->complete(*e);
            });
          });
        },
        [this](Exchange&) { ++finished_; });
  }

  std::shared_ptr<Exchange> start(testing::LoopScope& scope, std::shared_ptr<Backend> backend,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto ex = make_exchange(scope.loop);
    ex->backend = std::move(backend);
    ex->deadline = Clock::now() + timeout;
    chain_->run(*ex);
    return ex;
  }

  // Fires the back-off timers until the request is answered (at most `most` of them).
  void run_out(testing::LoopScope& scope, int most = 10) {
    for (int i = 0; i < most && scope.loop->has_timer(); ++i) scope.loop->fire_timer();
  }

  uint64_t counter(const std::string& series) {
    const std::string text = metrics_.render();
    const size_t at = text.find(series + " ");
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + series.size() + 1));
  }

  MetricsRegistry metrics_;
  std::unique_ptr<GuardChain> chain_;
  CountingGuard* after_ = nullptr;
  int finished_ = 0;
  testing::LoopScope scope_;
};

TEST_F(RetryGuardTest, ARetriableFailureIsRetriedAfterABackOffUntilItSucceeds) {
  build();
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 2;
  auto ex = start(scope_, backend);
  EXPECT_EQ(backend->calls, 1);
  ASSERT_TRUE(scope_.loop->has_timer()) << "the retry waits its back-off";
  EXPECT_LE(scope_.loop->timer_at(), Clock::now() + std::chrono::milliseconds(25));
  EXPECT_EQ(finished_, 0);
  run_out(scope_);
  EXPECT_EQ(finished_, 1);
  EXPECT_TRUE(ex->status.is_ok()) << ex->status.message();
  EXPECT_EQ(label_of(*ex), "ok");
  EXPECT_EQ(backend->calls, 3);
  EXPECT_EQ(after_->requests, 3) << "the guards after the retry guard ran before every call";
  EXPECT_EQ(response_header(*ex, "X-Retry-Count"), "2");
  EXPECT_EQ(counter(R"(seraph_retries_total{backend="fake",reason="503"})"), 2u);
}

TEST_F(RetryGuardTest, RetriesStopAtMaxRetriesAndTheLastFailureIsTheAnswer) {
  RetrySettings settings;
  settings.max_retries = 3;
  build(settings);
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 100;
  auto ex = start(scope_, backend);
  run_out(scope_);
  EXPECT_EQ(finished_, 1);
  EXPECT_EQ(backend->calls, 4);
  EXPECT_EQ(ex->status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(response_header(*ex, "X-Retry-Count"), "3");
}

TEST_F(RetryGuardTest, AClientErrorIsNeverRetried) {
  build();
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 1;
  backend->failure = invalid_argument("bad input");
  auto ex = start(scope_, backend);
  EXPECT_FALSE(scope_.loop->has_timer());
  EXPECT_EQ(finished_, 1);
  EXPECT_EQ(backend->calls, 1);
  EXPECT_EQ(ex->status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(response_header(*ex, "X-Retry-Count"), "");
}

TEST_F(RetryGuardTest, AFailureLeftOutOfRetryOnIsNotRetried) {
  RetrySettings settings;
  settings.retry_on = 1u << static_cast<unsigned>(RetryReason::k503);
  build(settings);
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 1;
  backend->failure = unavailable("connection refused").with_cause(FailureCause::kConnectFailure);
  start(scope_, backend);
  EXPECT_EQ(backend->calls, 1);
  EXPECT_EQ(finished_, 1);
}

TEST_F(RetryGuardTest, AnOpenCircuitsRefusalIsNotRetried) {
  build();
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 1;
  backend->failure = unavailable("its circuit breaker is open").with_cause(FailureCause::kCircuitOpen);
  auto ex = start(scope_, backend);
  EXPECT_FALSE(scope_.loop->has_timer()) << "no back-off: the breaker would refuse the retry too";
  EXPECT_EQ(backend->calls, 1);
  EXPECT_EQ(ex->status.code(), StatusCode::kUnavailable);
}

TEST_F(RetryGuardTest, ARequestThatMayNotRunTwiceIsNotRetried) {
  RetrySettings settings;
  settings.idempotent = false;
  build(settings);
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 1;
  auto ex = start(scope_, backend);
  EXPECT_EQ(backend->calls, 1);
  EXPECT_EQ(ex->status.code(), StatusCode::kUnavailable);
}

TEST_F(RetryGuardTest, ADeploymentListedAsNotIdempotentIsNeitherRetriedNorHedged) {
  RetrySettings settings;
  settings.non_idempotent_deployments = {"ledger"};
  settings.hedge.enabled = true;
  settings.hedge.delay_ms = 5;
  build(settings);
  auto backend = std::make_shared<FakeBackend>(true);
  backend->failures = 1;
  LiveDeployment ledger;
  ledger.name = "ledger";
  auto ex = make_exchange(scope_.loop);
  ex->backend = backend;
  ex->deployment = &ledger;
  ex->deadline = Clock::now() + std::chrono::seconds(10);
  chain_->run(*ex);
  EXPECT_FALSE(scope_.loop->has_timer()) << "no hedge, no back-off";
  EXPECT_EQ(backend->calls, 1);
  EXPECT_EQ(ex->status.code(), StatusCode::kUnavailable);
}

TEST_F(RetryGuardTest, NoRetryOnceTheDeadlineHasPassed) {
  build();
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 1;
  backend->failure = {StatusCode::kDeadlineExceeded, "the backend call timed out"};
  auto ex = start(scope_, backend, std::chrono::milliseconds(-1));
  EXPECT_FALSE(scope_.loop->has_timer());
  EXPECT_EQ(backend->calls, 1);
  EXPECT_EQ(ex->status.code(), StatusCode::kDeadlineExceeded);
}

TEST_F(RetryGuardTest, ABackOffThatWouldEndNearTheDeadlineIsNotWaited) {
  RetrySettings settings;
  settings.backoff_base_ms = settings.backoff_max_ms = 60000;
  build(settings);
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 1;
  // Any back-off up to a minute, against 20 ms left: only one under 10 ms would be waited.
  int retried = 0;
  for (int i = 0; i < 20; ++i) {
    testing::LoopScope scope;
    start(scope, backend, std::chrono::milliseconds(20));
    retried += scope.loop->has_timer();
  }
  EXPECT_LE(retried, 1);
}

TEST_F(RetryGuardTest, TheBudgetRefusesRetriesBeyondItsShareAndCountsTheRefusal) {
  RetrySettings settings;
  settings.budget_percent = 0;
  settings.min_retry_concurrency = 1;
  build(settings);
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 100;
  testing::LoopScope second;
  auto a = start(scope_, backend);
  ASSERT_TRUE(scope_.loop->has_timer()) << "the first failure takes the one retry slot";
  auto b = start(second, backend);
  EXPECT_FALSE(second.loop->has_timer()) << "the second finds the budget spent";
  EXPECT_EQ(b->status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(counter(R"(seraph_retry_budget_exhausted_total{backend="fake"})"), 1u);
  EXPECT_EQ(backend->resilience()->budget.retries_in_flight(), 1);
  EXPECT_EQ(backend->resilience()->budget.active_requests(), 1) << "b has finished; a is still in flight";
}

TEST_F(RetryGuardTest, EveryCountIsReleasedWhenTheRequestEnds) {
  build();
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 1;
  start(scope_, backend);
  run_out(scope_);
  EXPECT_EQ(finished_, 1);
  EXPECT_EQ(backend->resilience()->budget.active_requests(), 0);
  EXPECT_EQ(backend->resilience()->budget.retries_in_flight(), 0);
}

TEST_F(RetryGuardTest, TheDeadlineAnsweringDuringTheBackOffReleasesTheCounts) {
  build();
  auto backend = std::make_shared<FakeBackend>();
  backend->failures = 1;
  {
    auto ex = start(scope_, backend);
    ASSERT_TRUE(scope_.loop->has_timer());
    GuardChain::abort(*ex, Stage::kInference, {StatusCode::kDeadlineExceeded, "deadline"});
    scope_.loop->drop_pending();  // the answer is written: the back-off's wait is dropped unrun
  }
  EXPECT_EQ(backend->calls, 1);
  EXPECT_EQ(backend->resilience()->budget.active_requests(), 0);
  EXPECT_EQ(backend->resilience()->budget.retries_in_flight(), 0);
}

TEST_F(RetryGuardTest, AfterAFallbackTheRequestCountsAgainstTheNewBackendsBudget) {
  RetrySettings settings;
  settings.max_retries = 1;
  auto primary = std::make_shared<FakeBackend>();
  primary->failures = 100;
  auto fallback = std::make_shared<FakeBackend>();
  fallback->failures = 1;
  build(settings, std::make_unique<SwitchingGuard>(fallback));
  auto ex = start(scope_, primary);
  run_out(scope_);
  EXPECT_EQ(finished_, 1);
  EXPECT_EQ(primary->calls, 2) << "the primary's one retry";
  EXPECT_EQ(fallback->calls, 1) << "retries are per request: none left for the fallback";
  EXPECT_EQ(ex->status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(response_header(*ex, "X-Retry-Count"), "1");
  for (auto* b : {primary.get(), fallback.get()}) {
    EXPECT_EQ(b->resilience()->budget.active_requests(), 0);
    EXPECT_EQ(b->resilience()->budget.retries_in_flight(), 0);
  }
}

TEST_F(RetryGuardTest, AfterAFallbackToTheSameHedgedBackendTheRequestIsCountedAgain) {
  RetrySettings settings;
  settings.max_retries = 0;
  settings.hedge.enabled = true;
  settings.hedge.delay_ms = 5;
  auto backend = std::make_shared<FakeBackend>(true);
  backend->failures = 1;
  class Again final : public Guard {
   public:
    std::string_view name() const override { return "again"; }
    RequestVerdict on_request(Exchange&) override { return RequestVerdict::kContinue; }
    ResponseVerdict on_response(Exchange& ex) override {
      return !ex.status.is_ok() && asked_++ == 0 ? ResponseVerdict::kRetry : ResponseVerdict::kPass;
    }
    int asked_ = 0;
  };
  build(settings, std::make_unique<Again>());
  auto ex = start(scope_, backend);
  EXPECT_EQ(finished_, 1);
  EXPECT_EQ(backend->calls, 2);
  EXPECT_TRUE(ex->status.is_ok());
  EXPECT_EQ(backend->active_seen, (std::vector<int64_t>{1, 1})) << "counted in flight for both calls";
  EXPECT_EQ(backend->resilience()->budget.active_requests(), 0);
}

TEST_F(RetryGuardTest, ABackendWithoutABudgetIsNeverRetried) {
  build();
  class Plain final : public Backend {
   public:
    void execute(std::shared_ptr<const InferRequest>, TimePoint, Done done) override {
      ++calls;
      done(unavailable("no"), {});
    }
    int calls = 0;
  };
  auto backend = std::make_shared<Plain>();
  start(scope_, backend);
  EXPECT_EQ(backend->calls, 1);
}

// --- hedging --------------------------------------------------------------------------------------

RetrySettings hedging(int delay_ms) {
  RetrySettings settings;
  settings.hedge.enabled = true;
  settings.hedge.delay_ms = delay_ms;
  return settings;
}

TEST_F(RetryGuardTest, AModelInThisProcessIsNeverHedged) {
  build(hedging(5));
  auto backend = std::make_shared<FakeBackend>(false);
  auto ex = start(scope_, backend);
  EXPECT_EQ(ex->backend, backend);
  EXPECT_FALSE(scope_.loop->has_timer());
}

TEST_F(RetryGuardTest, ASlowCallIsHedgedAndTheHedgesGoodAnswerWins) {
  build(hedging(5));
  auto backend = std::make_shared<FakeBackend>(true);
  backend->hold = true;
  auto ex = start(scope_, backend);
  ASSERT_TRUE(scope_.loop->has_timer()) << "the hedge waits its delay";
  EXPECT_EQ(backend->calls, 1);
  scope_.loop->fire_timer();
  ASSERT_EQ(backend->calls, 2) << "a second copy went out";
  EXPECT_EQ(counter(R"(seraph_hedges_total{backend="fake",outcome="sent"})"), 1u);
  auto first = std::move(backend->held[0]), second = std::move(backend->held[1]);
  second({}, labelled("hedge"));
  EXPECT_EQ(finished_, 1);
  EXPECT_EQ(label_of(*ex), "hedge");
  EXPECT_EQ(response_header(*ex, "X-Hedged"), "1");
  first({}, labelled("first"));
  EXPECT_EQ(finished_, 1) << "the loser's answer is dropped";
  EXPECT_EQ(label_of(*ex), "hedge");
  EXPECT_EQ(counter(R"(seraph_hedges_total{backend="fake",outcome="won"})"), 1u);
  EXPECT_EQ(backend->resilience()->budget.retries_in_flight(), 0) << "the hedge gave its budget slot back";
}

TEST_F(RetryGuardTest, AnAnswerBeforeTheDelaySendsNoHedge) {
  build(hedging(5));
  auto backend = std::make_shared<FakeBackend>(true);
  backend->hold = true;
  auto ex = start(scope_, backend);
  backend->answer(0, {}, labelled("first"));
  EXPECT_EQ(finished_, 1);
  if (scope_.loop->has_timer()) scope_.loop->fire_timer();
  EXPECT_EQ(backend->calls, 1);
  EXPECT_EQ(response_header(*ex, "X-Hedged"), "");
}

TEST_F(RetryGuardTest, AFailedCopyWaitsForTheOtherAndTheGoodAnswerWins) {
  build(hedging(5));
  auto backend = std::make_shared<FakeBackend>(true);
  backend->hold = true;
  auto ex = start(scope_, backend);
  scope_.loop->fire_timer();
  ASSERT_EQ(backend->calls, 2);
  backend->answer(0, unavailable("first copy failed"), {});
  EXPECT_EQ(finished_, 0) << "the hedge is still out";
  backend->answer(1, {}, labelled("hedge"));
  EXPECT_EQ(finished_, 1);
  EXPECT_TRUE(ex->status.is_ok());
  EXPECT_EQ(response_header(*ex, "X-Retry-Count"), "");
}

TEST_F(RetryGuardTest, TwoAnswersAtOnceFromTwoThreadsCompleteTheCallOnce) {
  for (int round = 0; round < 50; ++round) {
    MetricsRegistry metrics;
    auto backend = std::make_shared<FakeBackend>(true);
    backend->hold = true;
    testing::LoopScope scope;
    auto hedged = std::make_shared<HedgingBackend>(backend, scope.loop, hedging(1),
                                                   metrics.counter("hedges", "h"), metrics.counter("exhausted", "e"));
    std::atomic<int> completions{0};
    hedged->execute(std::make_shared<const InferRequest>(), Clock::now() + std::chrono::seconds(5),
                    [&](Status, InferResponse) { completions.fetch_add(1); });
    scope.loop->fire_timer();
    ASSERT_EQ(backend->held.size(), 2u);
    std::thread a([&] { backend->answer(0, {}, labelled("a")); });
    std::thread b([&] { backend->answer(1, {}, labelled("b")); });
    a.join();
    b.join();
    EXPECT_EQ(completions.load(), 1);
  }
}

TEST_F(RetryGuardTest, HedgesShareTheRetryBudget) {
  RetrySettings settings = hedging(5);
  settings.budget_percent = 0;
  settings.min_retry_concurrency = 0;
  build(settings);
  auto backend = std::make_shared<FakeBackend>(true);
  backend->hold = true;
  auto ex = start(scope_, backend);
  scope_.loop->fire_timer();
  EXPECT_EQ(backend->calls, 1) << "no budget, no hedge";
  EXPECT_EQ(counter(R"(seraph_retry_budget_exhausted_total{backend="fake"})"), 1u);
  backend->answer(0, {}, labelled("first"));
  EXPECT_EQ(finished_, 1);
}

TEST_F(RetryGuardTest, TheP95DelayWaitsForEnoughAnswersToKnowIt) {
  build(hedging(0));
  auto backend = std::make_shared<FakeBackend>(true);
  start(scope_, backend);
  EXPECT_FALSE(scope_.loop->has_timer()) << "no latencies known yet: no hedge";
  for (size_t i = 0; i < LatencyWindow::kMinSamples; ++i) {
    backend->resilience()->latency.record(std::chrono::milliseconds(40));
  }
  backend->hold = true;
  testing::LoopScope scope;
  start(scope, backend);
  ASSERT_TRUE(scope.loop->has_timer());
  EXPECT_GE(scope.loop->timer_at(), Clock::now() + std::chrono::milliseconds(30)) << "hedged after the p95 of 40 ms";
  backend->answer(0, {}, labelled("first"));
}

}  // namespace
}  // namespace seraph
