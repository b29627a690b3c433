// LocalRateLimiter: GCRA's admissions, refusals and what a decision reports, on synthetic time.
#include "limits/local_rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <thread>
#include <vector>

namespace seraph {
namespace {

using namespace std::chrono_literals;

const TimePoint kStart = TimePoint(std::chrono::hours(1));

RateLimitRule rule(std::string name, int64_t limit, std::chrono::milliseconds period, int64_t burst = 0) {
  return {std::move(name), limit, period, burst};
}

RateDecision check_one(LocalRateLimiter& limiter, const RateLimitRule& rule, const std::string& key, TimePoint now,
                       int64_t cost = 1) {
  const RateCheck check{&rule, key};
  return limiter.check({&check, 1}, cost, now);
}

TEST(LocalRateLimiterTest, AdmitsTheLimitAtOnceThenRefusesUntilTheNextUnit) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second = rule("per_second", 10, 1s);
  for (int i = 0; i < 10; ++i) {
    const RateDecision decision = check_one(limiter, per_second, "client", kStart);
    ASSERT_TRUE(decision.allowed) << i;
    EXPECT_EQ(decision.remaining, 9 - i);
  }
  const RateDecision refused = check_one(limiter, per_second, "client", kStart);
  EXPECT_FALSE(refused.allowed);
  EXPECT_FALSE(refused.cost_exceeds_burst);
  EXPECT_EQ(refused.retry_after, 100ms);  // one unit's worth of the period
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.limit, 10);
  EXPECT_EQ(refused.rule, "per_second");

  EXPECT_FALSE(check_one(limiter, per_second, "client", kStart + 99ms).allowed);
  EXPECT_TRUE(check_one(limiter, per_second, "client", kStart + 100ms).allowed);
}

TEST(LocalRateLimiterTest, KeysAreLimitedIndependently) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second = rule("per_second", 1, 1s);
  EXPECT_TRUE(check_one(limiter, per_second, "a", kStart).allowed);
  EXPECT_FALSE(check_one(limiter, per_second, "a", kStart).allowed);
  EXPECT_TRUE(check_one(limiter, per_second, "b", kStart).allowed);
}

TEST(LocalRateLimiterTest, AdmitsSteadilyAtTheRateOnceTheBurstIsSpent) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second = rule("per_second", 100, 1s);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(check_one(limiter, per_second, "client", kStart).allowed);
  int admitted = 0;
  for (auto t = 1ms; t <= 10s; t += 1ms) admitted += check_one(limiter, per_second, "client", kStart + t).allowed;
  EXPECT_EQ(admitted, 1000);  // 10 s at 100 per second, one every 10 ms
}

TEST(LocalRateLimiterTest, NoWindowEdgeLetsTwiceTheLimitThrough) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second = rule("per_second", 100, 1s);
  // A full burst just before where a fixed window would end, another try just after it: a fixed
  // window would admit 100 more; GCRA admits only what 2 ms have earned.
  int admitted = 0;
  for (int i = 0; i < 200; ++i) admitted += check_one(limiter, per_second, "client", kStart + 999ms).allowed;
  EXPECT_EQ(admitted, 100);
  admitted = 0;
  for (int i = 0; i < 200; ++i) admitted += check_one(limiter, per_second, "client", kStart + 1001ms).allowed;
  EXPECT_EQ(admitted, 0);  // 2 ms earn a fifth of a unit
  // A steady flood across several period boundaries: no one-second window holds more than the limit.
  std::deque<TimePoint> window;
  for (auto t = 1001ms; t <= 5s; t += 1ms) {
    const TimePoint now = kStart + t;
    for (int i = 0; i < 5; ++i) {
      if (!check_one(limiter, per_second, "client", now).allowed) continue;
      window.push_back(now);
      while (window.front() <= now - 1s) window.pop_front();
      ASSERT_LE(window.size(), 100U) << "at " << t.count() << " ms";
    }
  }
}

TEST(LocalRateLimiterTest, ACostTakesThatManyUnits) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second = rule("per_second", 10, 1s);
  EXPECT_EQ(check_one(limiter, per_second, "client", kStart, 4).remaining, 6);
  EXPECT_EQ(check_one(limiter, per_second, "client", kStart, 4).remaining, 2);
  const RateDecision refused = check_one(limiter, per_second, "client", kStart, 4);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 2);        // two units could pass now, not four
  EXPECT_EQ(refused.retry_after, 200ms);  // until two more units are earned
  EXPECT_TRUE(check_one(limiter, per_second, "client", kStart, 2).allowed);
}

TEST(LocalRateLimiterTest, ACostAboveTheBurstIsRefusedForGoodAndChargesNothing) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second = rule("per_second", 10, 1s, 5);
  const RateDecision refused = check_one(limiter, per_second, "client", kStart, 6);
  EXPECT_FALSE(refused.allowed);
  EXPECT_TRUE(refused.cost_exceeds_burst);
  EXPECT_EQ(refused.retry_after, 0ms);
  EXPECT_EQ(refused.rule, "per_second");
  EXPECT_TRUE(check_one(limiter, per_second, "client", kStart, 5).allowed);
}

TEST(LocalRateLimiterTest, TheBurstBoundsWhatPassesAtOnceAndTheLimitTheRate) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second = rule("per_second", 10, 1s, 3);
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += check_one(limiter, per_second, "client", kStart).allowed;
  EXPECT_EQ(admitted, 3);
  EXPECT_TRUE(check_one(limiter, per_second, "client", kStart + 100ms).allowed);
  EXPECT_FALSE(check_one(limiter, per_second, "client", kStart + 100ms).allowed);
}

TEST(LocalRateLimiterTest, ARefusalByOneRuleChargesNoneOfTheOthers) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second = rule("per_second", 5, 1s);
  const RateLimitRule per_minute = rule("per_minute", 8, 60s);
  const RateCheck checks[] = {{&per_second, "client"}, {&per_minute, "client"}};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limiter.check(checks, 1, kStart).allowed);
  const TimePoint later = kStart + 1s;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.check(checks, 1, later).allowed);

  const RateDecision refused = limiter.check(checks, 1, later);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.rule, "per_minute");
  EXPECT_EQ(refused.limit, 8);
  EXPECT_EQ(refused.retry_after, 6500ms);  // 60 s / 8 after the first request, the minute's first unit is back
  // The per-second rule was not charged for the refused request: two of its five are still there.
  EXPECT_EQ(check_one(limiter, per_second, "client", later, 0).remaining, 2);
}

TEST(LocalRateLimiterTest, AnAdmissionReportsTheRuleWithTheLeastRemaining) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second = rule("per_second", 5, 1s);
  const RateLimitRule per_minute = rule("per_minute", 100, 60s);
  const RateCheck checks[] = {{&per_minute, "client"}, {&per_second, "client"}};
  const RateDecision decision = limiter.check(checks, 1, kStart);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.rule, "per_second");
  EXPECT_EQ(decision.limit, 5);
  EXPECT_EQ(decision.remaining, 4);
}

TEST(LocalRateLimiterTest, RemainingAndResetAfterDescribeTheKey) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second = rule("per_second", 10, 1s);
  RateDecision decision = check_one(limiter, per_second, "client", kStart, 3);
  EXPECT_EQ(decision.remaining, 7);
  EXPECT_EQ(decision.reset_after, 300ms);
  decision = check_one(limiter, per_second, "client", kStart + 50ms);
  EXPECT_EQ(decision.remaining, 6);  // 6.5 units fit: only whole ones count
  EXPECT_EQ(decision.reset_after, 350ms);
  decision = check_one(limiter, per_second, "client", kStart + 10s, 0);
  EXPECT_EQ(decision.remaining, 10);
  EXPECT_EQ(decision.reset_after, 0ms);
}

TEST(LocalRateLimiterTest, TheNumberOfKeysStaysBounded) {
  LocalRateLimiter limiter(640);
  const RateLimitRule per_hour = rule("per_hour", 10, 3600s);
  for (int i = 0; i < 20000; ++i) check_one(limiter, per_hour, "client-" + std::to_string(i), kStart);
  EXPECT_LE(limiter.key_count(), 640U);
  EXPECT_GE(limiter.key_count(), 600U);
}

TEST(LocalRateLimiterTest, WhenFullTheKeyClosestToItsFullAllowanceGoesFirst) {
  LocalRateLimiter limiter(64 * 20);
  const RateLimitRule per_second = rule("per_second", 10, 1s);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(check_one(limiter, per_second, "abuser", kStart).allowed);
  // Thousands of new keys, each one request: their TATs are 100 ms ahead, the abuser's a second.
  for (int i = 0; i < 20000; ++i) check_one(limiter, per_second, "client-" + std::to_string(i), kStart);
  EXPECT_FALSE(check_one(limiter, per_second, "abuser", kStart).allowed);
}

TEST(LocalRateLimiterTest, ConcurrentChecksAdmitExactlyTheLimit) {
  LocalRateLimiter limiter;
  const RateLimitRule shared = rule("shared", 100, 60s);
  const RateLimitRule own = rule("own", 1000, 60s);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      // Each check spans two shards: the shared key and this thread's own.
      const RateCheck checks[] = {{&own, "thread-" + std::to_string(t)}, {&shared, "everyone"}};
      for (int i = 0; i < 1000; ++i)
        admitted.fetch_add(limiter.check(checks, 1, kStart + std::chrono::microseconds(i)).allowed);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 100);
}

TEST(LocalRateLimiterTest, NothingToCheckIsAdmitted) {
  LocalRateLimiter limiter;
  const RateDecision decision = limiter.check({}, 1, kStart);
  EXPECT_TRUE(decision.allowed);
  EXPECT_TRUE(decision.rule.empty());
}

TEST(RateLimitRuleTest, RulesGcraCannotApplyAreRejected) {
  EXPECT_TRUE(validate_rate_limit_rule(rule("per_second", 10, 1s)).is_ok());
  EXPECT_EQ(validate_rate_limit_rule(rule("", 10, 1s)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_rate_limit_rule(rule("a:b", 10, 1s)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_rate_limit_rule(rule("per_second", 0, 1s)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_rate_limit_rule(rule("per_second", 10, 0ms)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_rate_limit_rule(rule("per_second", 10, 1s, -1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_rate_limit_rule(rule("per_decade", 10, std::chrono::hours(24 * 3660))).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_rate_limit_rule(rule("per_second", 1, 1s, int64_t{1} << 40)).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace seraph
