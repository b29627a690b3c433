// The resilience mechanisms on their own: the retry budget, full-jitter back-off, the latency
// window hedges take their delay from, and which failures a retry may follow.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "resilience/backoff.h"
#include "resilience/latency_window.h"
#include "resilience/retry_budget.h"
#include "resilience/retry_reason.h"

namespace seraph {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(RetryBudget, AQuietBackendMayStillRetryUpToTheFloor) {
  RetryBudget budget;
  budget.start_request();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(budget.try_start_retry(20, 3)) << "retry " << i;
  EXPECT_FALSE(budget.try_start_retry(20, 3)) << "20% of one request is less than the floor of 3";
  EXPECT_EQ(budget.retries_in_flight(), 3);
}

TEST(RetryBudget, RetriesInFlightAreAShareOfTheRequestsInFlight) {
  RetryBudget budget;
  for (int i = 0; i < 100; ++i) budget.start_request();
  int allowed = 0;
  while (budget.try_start_retry(20, 3)) ++allowed;
  EXPECT_EQ(allowed, 20);
  budget.finish_retry();
  EXPECT_TRUE(budget.try_start_retry(20, 3)) << "a finished retry gives its slot back";
  for (int i = 0; i < 50; ++i) budget.finish_request();
  budget.finish_retry();
  EXPECT_FALSE(budget.try_start_retry(20, 3)) << "fewer requests in flight, a smaller budget: 19 of 10 allowed";
}

TEST(RetryBudget, CountsFromManyThreadsAddUp) {
  RetryBudget budget;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) budget.start_request();
      for (int i = 0; i < 9000; ++i) budget.finish_request();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(budget.active_requests(), 4000);
}

TEST(Backoff, IsUniformUpToTheDoubledBaseAndNeverPastTheCap) {
  std::mt19937_64 generator(42);
  const microseconds base = milliseconds(25), cap = milliseconds(250);
  for (int attempt = 0; attempt < 8; ++attempt) {
    const microseconds ceiling = std::min<microseconds>(cap, base * (1 << attempt));
    microseconds most{0}, least = ceiling;
    for (int i = 0; i < 2000; ++i) {
      const microseconds wait = full_jitter_backoff(base, cap, attempt, generator);
      ASSERT_GE(wait.count(), 0);
      ASSERT_LE(wait, ceiling) << "attempt " << attempt;
      most = std::max(most, wait);
      least = std::min(least, wait);
    }
    EXPECT_GT(most, ceiling * 9 / 10) << "the whole range is used, attempt " << attempt;
    EXPECT_LT(least, ceiling / 10) << "down to zero (full jitter), attempt " << attempt;
  }
}

TEST(Backoff, TheSameSeedGivesTheSameWaits) {
  std::mt19937_64 a(7), b(7);
  for (int attempt = 0; attempt < 5; ++attempt) {
    EXPECT_EQ(full_jitter_backoff(milliseconds(25), milliseconds(250), attempt, a),
              full_jitter_backoff(milliseconds(25), milliseconds(250), attempt, b));
  }
}

TEST(Backoff, AHugeAttemptDoesNotOverflow) {
  std::mt19937_64 generator(1);
  EXPECT_LE(full_jitter_backoff(milliseconds(25), milliseconds(250), 1000, generator), milliseconds(250));
}

TEST(LatencyWindow, HasNoQuantileUntilItHasEnoughSamples) {
  LatencyWindow window;
  for (size_t i = 0; i + 1 < LatencyWindow::kMinSamples; ++i) window.record(milliseconds(5));
  EXPECT_FALSE(window.quantile(0.95));
  window.record(milliseconds(5));
  EXPECT_EQ(window.quantile(0.95), milliseconds(5));
}

TEST(LatencyWindow, TheP95OfTheRecentSamples) {
  LatencyWindow window;
  for (int i = 0; i < 1000; ++i) window.record(milliseconds(1000));  // old: pushed out of the window
  for (int i = 1; i <= 100; ++i) window.record(milliseconds(i));
  for (int i = 0; i < 28; ++i) window.record(milliseconds(1));
  // 128 samples: 29 of 1 ms, then 2..100 ms; the 122nd smallest is 94 ms.
  EXPECT_EQ(window.quantile(0.95), milliseconds(94));
}

TEST(RetryReason, OnlyFailuresThatSayNothingOfTheRequestAreRetriable) {
  EXPECT_EQ(retry_reason_of(unavailable("busy")), RetryReason::k503);
  EXPECT_EQ(retry_reason_of({StatusCode::kDeadlineExceeded, "slow"}), RetryReason::k504);
  EXPECT_EQ(retry_reason_of(unavailable("refused").with_cause(FailureCause::kConnectFailure)),
            RetryReason::kConnectFailure);
  EXPECT_EQ(retry_reason_of(unavailable("reset").with_cause(FailureCause::kReset)), RetryReason::kReset);
  EXPECT_EQ(retry_reason_of(internal_error("bad gateway").with_cause(FailureCause::kBadGateway)), RetryReason::k502);
  EXPECT_FALSE(retry_reason_of(unavailable("fault injected").with_cause(FailureCause::kInjectedFault)))
      << "a fault injected here is meant to be seen";
  EXPECT_FALSE(retry_reason_of(unavailable("circuit open").with_cause(FailureCause::kCircuitOpen)))
      << "an open circuit refuses the retry too";
  EXPECT_FALSE(retry_reason_of(internal_error("the model threw")));
  EXPECT_FALSE(retry_reason_of(invalid_argument("bad input")));
  EXPECT_FALSE(retry_reason_of({StatusCode::kResourceExhausted, "429"}));
  EXPECT_FALSE(retry_reason_of(Status::ok()));
}

TEST(RetryReason, NamesRoundTrip) {
  for (const char* name : {"connect_failure", "reset", "502", "503", "504"}) {
    auto reason = parse_retry_reason(name);
    ASSERT_TRUE(reason) << name;
    EXPECT_EQ(retry_reason_name(*reason), name);
  }
  EXPECT_FALSE(parse_retry_reason("500"));
}

}  // namespace
}  // namespace seraph
