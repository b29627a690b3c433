// The circuit breaker's state machine over a clock the tests move by hand, both windows, slow
// calls, the half-open probes (also under concurrent callers), and the directory of breakers.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "observe/metrics.h"
#include "resilience/circuit_breaker.h"
#include "resilience/circuit_breakers.h"

namespace seraph {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

CircuitBreakerSettings small(CircuitBreakerSettings::Window window = CircuitBreakerSettings::Window::kCount) {
  CircuitBreakerSettings s;
  s.window = window;
  s.window_size = 10;
  s.window_s = 10;
  s.minimum_calls = 4;
  s.failure_rate_percent = 50;
  s.slow_call_ms = 100;
  s.slow_call_rate_percent = 80;
  s.open_ms = 1000;
  s.half_open_calls = 2;
  return s;
}

const TimePoint t0 = TimePoint(seconds(1000));
constexpr auto kFast = milliseconds(5);
constexpr auto kSlow = milliseconds(150);

// Makes one call at `now` that takes `duration` and fails or not; returns whether it was admitted.
bool call(CircuitBreaker& b, TimePoint now, bool failed, Clock::duration duration = kFast) {
  const CircuitBreaker::Permit permit = b.try_acquire(now);
  if (permit) b.record(permit, now + duration, duration, failed);
  return static_cast<bool>(permit);
}

struct Transitions {
  std::vector<std::pair<BreakerState, BreakerState>> seen;
  CircuitBreaker::OnChange listener() {
    return [this](CircuitBreaker&, BreakerState from, BreakerState to) { seen.emplace_back(from, to); };
  }
};

TEST(CircuitBreaker, StaysClosedBelowTheMinimumNumberOfCalls) {
  CircuitBreaker b("b", small());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(call(b, t0, true));
  EXPECT_EQ(b.snapshot(t0).state, BreakerState::kClosed) << "3 failures of 3, but minimum_calls is 4";
  EXPECT_TRUE(call(b, t0, true));
  EXPECT_EQ(b.snapshot(t0).state, BreakerState::kOpen);
}

TEST(CircuitBreaker, OpensWhenTheFailureRateReachesTheThreshold) {
  Transitions t;
  CircuitBreaker b("b", small(), t.listener());
  call(b, t0, false);
  call(b, t0, false);
  call(b, t0, false);
  call(b, t0, true);
  EXPECT_EQ(b.snapshot(t0).state, BreakerState::kClosed) << "25% failures";
  call(b, t0, true);
  EXPECT_EQ(b.snapshot(t0).state, BreakerState::kClosed) << "40% failures";
  call(b, t0, true);
  const CircuitBreaker::Snapshot s = b.snapshot(t0);
  EXPECT_EQ(s.state, BreakerState::kOpen) << "50% failures";
  EXPECT_DOUBLE_EQ(s.failure_rate_percent, 50.0);
  EXPECT_EQ(s.open_until, t0 + kFast + milliseconds(1000));
  ASSERT_EQ(t.seen.size(), 1u);
  EXPECT_EQ(t.seen[0], std::pair(BreakerState::kClosed, BreakerState::kOpen));
}

TEST(CircuitBreaker, OpensWhenTheSlowCallRateReachesTheThresholdThoughNothingFails) {
  CircuitBreaker b("b", small());
  for (int i = 0; i < 3; ++i) call(b, t0, false, kSlow);
  call(b, t0, false, kFast);
  EXPECT_EQ(b.snapshot(t0).state, BreakerState::kClosed) << "75% slow";
  call(b, t0, false, kSlow);
  const CircuitBreaker::Snapshot s = b.snapshot(t0);
  EXPECT_EQ(s.state, BreakerState::kOpen) << "80% slow";
  EXPECT_DOUBLE_EQ(s.slow_rate_percent, 80.0);
  EXPECT_DOUBLE_EQ(s.failure_rate_percent, 0.0);
}

TEST(CircuitBreaker, AnOpenCircuitRefusesUntilItsTimeIsUpAndSaysWhen) {
  CircuitBreaker b("b", small());
  for (int i = 0; i < 4; ++i) call(b, t0, true);
  const TimePoint until = b.snapshot(t0).open_until;
  const CircuitBreaker::Permit refused = b.try_acquire(until - milliseconds(1));
  EXPECT_FALSE(refused);
  EXPECT_EQ(refused.retry_at, until);
  EXPECT_FALSE(b.admits(until - milliseconds(1)));
  EXPECT_TRUE(b.admits(until));
  EXPECT_EQ(b.snapshot(t0).rejected, 1u);
}

TEST(CircuitBreaker, TheCountWindowKeepsOnlyTheLastCalls) {
  CircuitBreakerSettings s = small();
  s.window_size = 4;
  CircuitBreaker b("b", s);
  call(b, t0, true);
  for (int i = 0; i < 4; ++i) call(b, t0, false);
  call(b, t0, true);
  const CircuitBreaker::Snapshot snap = b.snapshot(t0);
  EXPECT_EQ(snap.calls, 4);
  EXPECT_DOUBLE_EQ(snap.failure_rate_percent, 25.0) << "the first failure has left the window";
  call(b, t0, true);
  EXPECT_EQ(b.snapshot(t0).state, BreakerState::kOpen) << "2 of the last 4 failed";
}

TEST(CircuitBreaker, TheTimeWindowForgetsCallsOlderThanItsSeconds) {
  CircuitBreaker b("b", small(CircuitBreakerSettings::Window::kTime));
  for (int i = 0; i < 3; ++i) call(b, t0, true);
  EXPECT_EQ(b.snapshot(t0 + seconds(9)).calls, 3);
  EXPECT_EQ(b.snapshot(t0 + seconds(10)).calls, 0) << "10 s later the bucket of t0 has left the window";
  // The old failures no longer count: one more failure among fresh successes does not open it.
  for (int i = 0; i < 3; ++i) call(b, t0 + seconds(10), false);
  call(b, t0 + seconds(10), true);
  EXPECT_EQ(b.snapshot(t0 + seconds(10)).state, BreakerState::kClosed);
}

TEST(CircuitBreaker, TheTimeWindowOpensOnCallsSpreadOverItsSeconds) {
  CircuitBreaker b("b", small(CircuitBreakerSettings::Window::kTime));
  for (int i = 0; i < 4; ++i) call(b, t0 + seconds(2 * i), true);
  EXPECT_EQ(b.snapshot(t0 + seconds(6)).state, BreakerState::kOpen) << "4 failures within 10 s";
}

// Successes into a window of successes are counted on each thread's own line: none may be lost,
// and they count as having come before a failure recorded after them.
TEST(CircuitBreaker, CountsEverySuccessOfConcurrentCallersBeforeTheFailuresAfterThem) {
  CircuitBreakerSettings s = small(CircuitBreakerSettings::Window::kTime);
  s.window_s = 60;
  CircuitBreaker b("b", s);
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&b] {
      for (int i = 0; i < 1000; ++i) call(b, t0, false);
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(b.snapshot(t0).calls, 4000);
  for (int i = 0; i < 4000; ++i) call(b, t0, true);
  EXPECT_EQ(b.snapshot(t0).state, BreakerState::kOpen) << "4000 failures after 4000 successes: 50%";
}

TEST(CircuitBreaker, TheCountWindowKeepsTheLastCallsOfSuccessesCountedPerThread) {
  CircuitBreakerSettings s = small();
  s.window_size = 4;
  s.minimum_calls = 4;
  CircuitBreaker b("b", s);
  for (int i = 0; i < 100; ++i) call(b, t0, false);
  call(b, t0, true);
  EXPECT_EQ(b.snapshot(t0).calls, 4);
  EXPECT_DOUBLE_EQ(b.snapshot(t0).failure_rate_percent, 25.0);
  call(b, t0, true);
  EXPECT_EQ(b.snapshot(t0).state, BreakerState::kOpen) << "2 of the last 4 failed";
}

TEST(CircuitBreaker, SuccessesCountedPerThreadLeaveTheTimeWindowWithTheirSecond) {
  CircuitBreaker b("b", small(CircuitBreakerSettings::Window::kTime));
  for (int i = 0; i < 50; ++i) call(b, t0, false);
  EXPECT_EQ(b.snapshot(t0 + seconds(9)).calls, 50);
  for (int i = 0; i < 50; ++i) call(b, t0 + seconds(5), false);
  EXPECT_EQ(b.snapshot(t0 + seconds(10)).calls, 50) << "the successes of t0 have left the window";
  for (int i = 0; i < 4; ++i) call(b, t0 + seconds(16), true);
  EXPECT_EQ(b.snapshot(t0 + seconds(16)).state, BreakerState::kOpen) << "4 failures alone in the window";
}

TEST(CircuitBreaker, AThresholdOfZeroOpensOnSuccessesAlone) {
  CircuitBreakerSettings s = small();
  s.failure_rate_percent = 0;
  CircuitBreaker b("b", s);
  for (int i = 0; i < 4; ++i) call(b, t0, false);
  EXPECT_EQ(b.snapshot(t0).state, BreakerState::kOpen);
}

TEST(CircuitBreaker, HalfOpenAdmitsOnlyItsProbesThenClosesWhenTheyGoWell) {
  Transitions t;
  CircuitBreaker b("b", small(), t.listener());
  for (int i = 0; i < 4; ++i) call(b, t0, true);
  const TimePoint later = b.snapshot(t0).open_until;
  const CircuitBreaker::Permit p1 = b.try_acquire(later);
  const CircuitBreaker::Permit p2 = b.try_acquire(later);
  EXPECT_TRUE(p1);
  EXPECT_TRUE(p2);
  EXPECT_EQ(b.snapshot(later).state, BreakerState::kHalfOpen);
  EXPECT_FALSE(b.try_acquire(later)) << "half_open_calls is 2";
  EXPECT_FALSE(b.admits(later));
  b.record(p1, later, kFast, false);
  EXPECT_EQ(b.snapshot(later).state, BreakerState::kHalfOpen) << "one probe still out";
  b.record(p2, later, kFast, false);
  EXPECT_EQ(b.snapshot(later).state, BreakerState::kClosed);
  EXPECT_EQ(b.snapshot(later).calls, 0) << "closes with an empty window";
  EXPECT_EQ(t.seen,
            (std::vector<std::pair<BreakerState, BreakerState>>{{BreakerState::kClosed, BreakerState::kOpen},
                                                                {BreakerState::kOpen, BreakerState::kHalfOpen},
                                                                {BreakerState::kHalfOpen, BreakerState::kClosed}}));
}

TEST(CircuitBreaker, HalfOpenOpensAgainWhenTheProbesFail) {
  Transitions t;
  CircuitBreaker b("b", small(), t.listener());
  for (int i = 0; i < 4; ++i) call(b, t0, true);
  const TimePoint later = b.snapshot(t0).open_until;
  EXPECT_TRUE(call(b, later, false));
  EXPECT_TRUE(call(b, later, true));
  const CircuitBreaker::Snapshot s = b.snapshot(later);
  EXPECT_EQ(s.state, BreakerState::kOpen) << "one probe of two failed: 50%";
  EXPECT_EQ(s.open_until, later + kFast + milliseconds(1000));
  EXPECT_EQ(t.seen.back(), std::pair(BreakerState::kHalfOpen, BreakerState::kOpen));
}

TEST(CircuitBreaker, HalfOpenOpensAgainWhenTheProbesAreSlow) {
  CircuitBreaker b("b", small());
  for (int i = 0; i < 4; ++i) call(b, t0, false, kSlow);
  const TimePoint later = b.snapshot(t0).open_until;
  EXPECT_TRUE(call(b, later, false, kSlow));
  EXPECT_TRUE(call(b, later, false, kSlow));
  EXPECT_EQ(b.snapshot(later).state, BreakerState::kOpen);
}

TEST(CircuitBreaker, AnOutcomeAdmittedBeforeTheCircuitOpenedIsNotCounted) {
  CircuitBreaker b("b", small());
  const CircuitBreaker::Permit early = b.try_acquire(t0);
  for (int i = 0; i < 4; ++i) call(b, t0, true);
  const TimePoint later = b.snapshot(t0).open_until;
  EXPECT_TRUE(b.try_acquire(later));
  b.record(early, later, kFast, false);  // a call from before: not a probe
  b.record(early, later, kFast, false);
  EXPECT_EQ(b.snapshot(later).state, BreakerState::kHalfOpen);
  EXPECT_EQ(b.snapshot(later).calls, 0);
}

TEST(CircuitBreaker, ConcurrentCallersNeverGetMoreProbesThanTheLimit) {
  CircuitBreakerSettings s = small();
  s.half_open_calls = 5;
  CircuitBreaker b("b", s);
  for (int i = 0; i < 4; ++i) call(b, t0, true);
  const TimePoint later = b.snapshot(t0).open_until;
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (b.try_acquire(later)) granted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 5);
  EXPECT_EQ(b.snapshot(later).rejected, 8u * 1000u - 5u);
}

TEST(CircuitBreaker, ResetClosesAnOpenCircuitWithAnEmptyWindow) {
  Transitions t;
  CircuitBreaker b("b", small(), t.listener());
  for (int i = 0; i < 4; ++i) call(b, t0, true);
  b.reset();
  EXPECT_EQ(b.snapshot(t0).state, BreakerState::kClosed);
  EXPECT_EQ(b.snapshot(t0).calls, 0);
  EXPECT_TRUE(b.try_acquire(t0));
  EXPECT_EQ(t.seen.back(), std::pair(BreakerState::kOpen, BreakerState::kClosed));
  b.reset();
  EXPECT_EQ(t.seen.size(), 2u) << "resetting a closed circuit is no change of state";
}

// --- the directory ---------------------------------------------------------------------------------

TEST(CircuitBreakers, MakesEachNamedBreakerOnceAndListsThemByName) {
  MetricsRegistry metrics;
  CircuitBreakers breakers(small(), metrics);
  CircuitBreaker& a = breakers.get("model:b:1");
  EXPECT_EQ(&breakers.get("model:b:1"), &a);
  breakers.get("model:a:1");
  std::vector<std::string> names;
  for (CircuitBreaker* b : breakers.list()) names.push_back(b->name());
  EXPECT_EQ(names, (std::vector<std::string>{"model:a:1", "model:b:1"}));
}

TEST(CircuitBreakers, ResetByNameAndNotFoundForAnUnknownName) {
  MetricsRegistry metrics;
  CircuitBreakers breakers(small(), metrics);
  CircuitBreaker& b = breakers.get("backend:far:127.0.0.1:9001");
  for (int i = 0; i < 4; ++i) call(b, Clock::now(), true);
  EXPECT_EQ(b.snapshot(Clock::now()).state, BreakerState::kOpen);
  EXPECT_TRUE(breakers.reset("backend:far:127.0.0.1:9001").is_ok());
  EXPECT_EQ(b.snapshot(Clock::now()).state, BreakerState::kClosed);
  EXPECT_EQ(breakers.reset("backend:nowhere").code(), StatusCode::kNotFound);
}

TEST(CircuitBreakers, TellsTheListenerAndTheMetricsOfEveryChange) {
  MetricsRegistry metrics;
  CircuitBreakers breakers(small(), metrics);
  std::vector<CircuitBreakers::Change> changes;
  breakers.set_listener([&](const CircuitBreakers::Change& c) { changes.push_back(c); });
  CircuitBreaker& b = breakers.get("model:m:1");
  for (int i = 0; i < 4; ++i) call(b, Clock::now(), true);
  EXPECT_FALSE(b.try_acquire(Clock::now()));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].breaker, "model:m:1");
  EXPECT_EQ(changes[0].to, BreakerState::kOpen);
  EXPECT_DOUBLE_EQ(changes[0].snapshot.failure_rate_percent, 100.0);
  EXPECT_NE(change_json(changes[0]).find(R"("to":"open")"), std::string::npos) << change_json(changes[0]);
  const std::string text = metrics.render();
  EXPECT_NE(text.find(R"(seraph_circuit_breaker_state{breaker="model:m:1"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(seraph_circuit_breaker_transitions_total{breaker="model:m:1",to="open"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(seraph_circuit_breaker_rejected_total{breaker="model:m:1"} 1)"), std::string::npos) << text;
}

}  // namespace
}  // namespace seraph
