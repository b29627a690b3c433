// wall_clock_at turns a steady-clock time the caller already has into wall-clock time.
#include "core/clock.h"

#include <gtest/gtest.h>

namespace seraph {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

TEST(WallClockAt, GivesTheWallClockTimeOfASteadyTime) {
  const system_clock::time_point before = system_clock::now();
  const TimePoint now = Clock::now();
  const system_clock::time_point wall = wall_clock_at(now);
  const system_clock::time_point after = system_clock::now();
  EXPECT_GE(wall, before - milliseconds(1));
  EXPECT_LE(wall, after + milliseconds(1));
}

TEST(WallClockAt, KeepsTheDistanceBetweenTwoTimes) {
  const TimePoint now = Clock::now();
  EXPECT_EQ(wall_clock_at(now) - wall_clock_at(now - milliseconds(250)), milliseconds(250));
  // A time more than a second from the last offset read makes it read the clocks again.
  const auto later = wall_clock_at(now + std::chrono::seconds(5));
  EXPECT_NEAR(std::chrono::duration<double>(later - wall_clock_at(now)).count(), 5.0, 0.01);
}

}  // namespace
}  // namespace seraph
