// The Gradient2-style limit on synthetic latencies: it creeps up while latency is flat, falls when
// latency grows, and stays within its floor and cap.
#include "resilience/gradient_limiter.h"

#include <gtest/gtest.h>

namespace seraph {
namespace {

using std::chrono::milliseconds;

GradientSettings settings(int min_limit, int initial, int max_limit) {
  GradientSettings s;
  s.min_limit = min_limit;
  s.initial_limit = initial;
  s.max_limit = max_limit;
  return s;
}

TEST(GradientLimiterTest, TheLimitRisesWhileLatencyStaysFlat) {
  GradientLimiter limiter(settings(4, 20, 1000));
  int limit = limiter.limit();
  for (int i = 0; i < 50; ++i) {
    const int next = limiter.update(milliseconds(10), limiter.limit());
    EXPECT_GE(next, limit);
    limit = next;
  }
  EXPECT_GT(limit, 40) << "+headroom x smoothing per window";
}

TEST(GradientLimiterTest, TheLimitFallsWhenLatencyGrows) {
  GradientLimiter limiter(settings(4, 100, 1000));
  for (int i = 0; i < 20; ++i) limiter.update(milliseconds(10), limiter.limit());
  const int before = limiter.limit();
  for (int i = 0; i < 10; ++i) limiter.update(milliseconds(60), limiter.limit());
  EXPECT_LT(limiter.limit(), before / 2);
}

TEST(GradientLimiterTest, TheLimitNeverPassesItsCapOrFloor) {
  GradientLimiter rising(settings(4, 20, 30));
  for (int i = 0; i < 500; ++i) EXPECT_LE(rising.update(milliseconds(10), rising.limit()), 30);
  EXPECT_EQ(rising.limit(), 30);
  // With the gradient at its 0.5 floor the limit settles where halving meets the headroom (8 for
  // headroom 4): a floor above that holds it.
  GradientLimiter falling(settings(10, 20, 30));
  for (int i = 0; i < 10; ++i) falling.update(milliseconds(10), falling.limit());
  // Latency growing without end (a steady ramp would become the new normal to the long RTT).
  double rtt_ms = 10;
  for (int i = 0; i < 80; ++i, rtt_ms *= 1.15) {
    EXPECT_GE(falling.update(milliseconds(static_cast<int64_t>(rtt_ms)), falling.limit()), 10);
  }
  EXPECT_EQ(falling.limit(), 10);
}

TEST(GradientLimiterTest, ATargetUsingLessThanHalfItsLimitKeepsIt) {
  GradientLimiter limiter(settings(4, 40, 1000));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(limiter.update(milliseconds(10 + i), 5), 40);
}

TEST(GradientLimiterTest, TheLongRttFollowsTheSamples) {
  GradientLimiter limiter(settings(4, 20, 1000));
  for (int i = 0; i < 10; ++i) limiter.update(milliseconds(10), 20);
  EXPECT_NEAR(limiter.long_rtt_ns(), 10e6, 1);
}

}  // namespace
}  // namespace seraph
