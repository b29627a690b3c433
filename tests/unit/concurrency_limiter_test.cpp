// Admission to one target: free slots, the bounded priority queue, shares and eviction by
// priority, shedding when the deadline leaves no room, withdrawal, and the slot handed on.
#include "resilience/concurrency_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace seraph {
namespace {

using std::chrono::milliseconds;

// A limit fixed at `limit` (floor = cap), every priority with the same share unless a test says.
ConcurrencySettings fixed(int limit, int max_queue = 8) {
  ConcurrencySettings s;
  s.gradient.min_limit = s.gradient.initial_limit = s.gradient.max_limit = limit;
  s.max_queue = max_queue;
  s.max_queue_wait = milliseconds(1000);
  s.low_share = s.normal_share = 1.0;
  s.sample_window = milliseconds(1);
  s.min_window_samples = 1;
  return s;
}

// Records how each wait ended, as "<name>:granted" or "<name>:<reason>".
struct Wakes {
  std::vector<std::string> log;
  ConcurrencyLimiter::Wake named(std::string name) {
    return [this, name](uint64_t, std::optional<ShedReason> shed) {
      log.push_back(name + ":" + std::string(shed ? shed_reason_name(*shed) : "granted"));
    };
  }
};

const TimePoint t0 = Clock::now();
const TimePoint far = t0 + std::chrono::hours(1);

TEST(ConcurrencyLimiterTest, FreeSlotsAreTakenUpToTheLimit) {
  ConcurrencyLimiter limiter(fixed(2), t0);
  EXPECT_TRUE(limiter.try_acquire(Priority::kNormal));
  EXPECT_TRUE(limiter.try_acquire(Priority::kLow));
  EXPECT_FALSE(limiter.try_acquire(Priority::kCritical));
  EXPECT_EQ(limiter.inflight(), 2);
  limiter.release(t0, std::nullopt);
  EXPECT_EQ(limiter.inflight(), 1);
  EXPECT_TRUE(limiter.try_acquire(Priority::kLow));
}

TEST(ConcurrencyLimiterTest, FreedSlotsGoToTheBestWaiterFirstAndInOrderWithinAPriority) {
  ConcurrencyLimiter limiter(fixed(1), t0);
  Wakes wakes;
  ASSERT_TRUE(limiter.try_acquire(Priority::kNormal));
  for (auto [name, p] : {std::pair{"low1", Priority::kLow},
                         {"normal1", Priority::kNormal},
                         {"low2", Priority::kLow},
                         {"critical1", Priority::kCritical},
                         {"normal2", Priority::kNormal}}) {
    EXPECT_EQ(limiter.acquire(p, t0, far, wakes.named(name)).kind, ConcurrencyLimiter::Admission::kQueued) << name;
  }
  EXPECT_EQ(limiter.queue_depth(), 5);
  for (int i = 0; i < 5; ++i) limiter.release(t0, std::nullopt);
  EXPECT_EQ(wakes.log, (std::vector<std::string>{"critical1:granted", "normal1:granted", "normal2:granted",
                                                 "low1:granted", "low2:granted"}));
  EXPECT_EQ(limiter.queue_depth(), 0);
  EXPECT_EQ(limiter.inflight(), 1);
}

TEST(ConcurrencyLimiterTest, LowRequestsUseOnlyTheirShareAndCriticalOnesAllOfIt) {
  ConcurrencySettings s = fixed(10, 0);
  s.low_share = 0.5;
  s.normal_share = 0.8;
  ConcurrencyLimiter limiter(s, t0);
  Wakes wakes;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.try_acquire(Priority::kLow));
  EXPECT_FALSE(limiter.try_acquire(Priority::kLow));
  const auto shed = limiter.acquire(Priority::kLow, t0, far, wakes.named("low"));
  EXPECT_EQ(shed.kind, ConcurrencyLimiter::Admission::kShed);
  EXPECT_EQ(shed.reason, ShedReason::kQueueFull);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.try_acquire(Priority::kNormal));
  EXPECT_FALSE(limiter.try_acquire(Priority::kNormal));
  EXPECT_TRUE(limiter.try_acquire(Priority::kCritical));
  EXPECT_TRUE(limiter.try_acquire(Priority::kCritical));
  EXPECT_FALSE(limiter.try_acquire(Priority::kCritical));
}

TEST(ConcurrencyLimiterTest, AFullQueueEvictsTheNewestLowerWaiterOrShedsTheArrival) {
  ConcurrencyLimiter limiter(fixed(1, 2), t0);
  Wakes wakes;
  ASSERT_TRUE(limiter.try_acquire(Priority::kNormal));
  ASSERT_EQ(limiter.acquire(Priority::kLow, t0, far, wakes.named("low1")).kind, ConcurrencyLimiter::Admission::kQueued);
  ASSERT_EQ(limiter.acquire(Priority::kLow, t0, far, wakes.named("low2")).kind, ConcurrencyLimiter::Admission::kQueued);
  // Full: a low arrival is shed; a critical one takes the newest low waiter's place.
  EXPECT_EQ(limiter.acquire(Priority::kLow, t0, far, wakes.named("low3")).reason, ShedReason::kQueueFull);
  EXPECT_EQ(limiter.acquire(Priority::kCritical, t0, far, wakes.named("critical")).kind,
            ConcurrencyLimiter::Admission::kQueued);
  EXPECT_EQ(wakes.log, (std::vector<std::string>{"low2:evicted"}));
  EXPECT_EQ(limiter.queue_depth(), 2);
  limiter.release(t0, std::nullopt);
  limiter.release(t0, std::nullopt);
  EXPECT_EQ(wakes.log, (std::vector<std::string>{"low2:evicted", "critical:granted", "low1:granted"}));
}

TEST(ConcurrencyLimiterTest, ARequestWhoseDeadlineLeavesNoRoomIsShedAtOnce) {
  ConcurrencyLimiter limiter(fixed(2), t0);
  Wakes wakes;
  ASSERT_TRUE(limiter.try_acquire(Priority::kNormal));
  ASSERT_TRUE(limiter.try_acquire(Priority::kNormal));
  // One sample closes the window: the target takes 20 ms a request.
  limiter.release(t0 + milliseconds(2), milliseconds(20));
  ASSERT_TRUE(limiter.try_acquire(Priority::kNormal));
  const TimePoint now = t0 + milliseconds(3);
  // Waiting ~10 ms (20 ms / 2 slots) and then 20 ms of work do not fit in 25 ms.
  const auto shed = limiter.acquire(Priority::kNormal, now, now + milliseconds(25), wakes.named("tight"));
  EXPECT_EQ(shed.kind, ConcurrencyLimiter::Admission::kShed);
  EXPECT_EQ(shed.reason, ShedReason::kNoTime);
  const auto queued = limiter.acquire(Priority::kNormal, now, now + milliseconds(100), wakes.named("roomy"));
  EXPECT_EQ(queued.kind, ConcurrencyLimiter::Admission::kQueued);
  EXPECT_LE(queued.wait_until, now + milliseconds(80)) << "it must leave the queue in time to be served";
  EXPECT_TRUE(limiter.withdraw(queued.ticket));
  EXPECT_TRUE(wakes.log.empty());
}

TEST(ConcurrencyLimiterTest, AWaitLongerThanMaxQueueWaitIsShed) {
  ConcurrencySettings s = fixed(1);
  s.max_queue_wait = milliseconds(5);
  ConcurrencyLimiter limiter(s, t0);
  Wakes wakes;
  ASSERT_TRUE(limiter.try_acquire(Priority::kNormal));
  limiter.release(t0 + milliseconds(2), milliseconds(20));
  ASSERT_TRUE(limiter.try_acquire(Priority::kNormal));
  EXPECT_EQ(limiter.acquire(Priority::kNormal, t0, far, wakes.named("x")).reason, ShedReason::kNoTime);
}

TEST(ConcurrencyLimiterTest, AWithdrawnWaiterIsNeverWokenAndAGrantedOneCannotBeWithdrawn) {
  ConcurrencyLimiter limiter(fixed(1), t0);
  Wakes wakes;
  ASSERT_TRUE(limiter.try_acquire(Priority::kNormal));
  const auto a = limiter.acquire(Priority::kNormal, t0, far, wakes.named("a"));
  const auto b = limiter.acquire(Priority::kNormal, t0, far, wakes.named("b"));
  EXPECT_TRUE(limiter.withdraw(a.ticket));
  EXPECT_FALSE(limiter.withdraw(a.ticket));
  limiter.release(t0, std::nullopt);
  EXPECT_EQ(wakes.log, (std::vector<std::string>{"b:granted"}));
  EXPECT_FALSE(limiter.withdraw(b.ticket));
  EXPECT_EQ(limiter.inflight(), 1) << "the slot went to b";
}

TEST(ConcurrencyLimiterTest, TheLimitFollowsLatencyWindowByWindow) {
  ConcurrencySettings s;
  s.gradient.min_limit = 2;
  s.gradient.initial_limit = 4;
  s.gradient.max_limit = 100;
  s.sample_window = milliseconds(10);
  s.min_window_samples = 4;
  ConcurrencyLimiter limiter(s, t0);
  TimePoint now = t0;
  for (int window = 0; window < 30; ++window) {
    now += milliseconds(10);
    for (int i = 0; i < limiter.limit(); ++i) ASSERT_TRUE(limiter.try_acquire(Priority::kCritical));
    while (limiter.inflight() > 0) limiter.release(now, milliseconds(5));
  }
  EXPECT_GT(limiter.limit(), 4) << "flat latency at full use: the limit probes upward";
  const int high = limiter.limit();
  for (int window = 0; window < 5; ++window) {
    now += milliseconds(10);
    for (int i = 0; i < limiter.limit(); ++i) ASSERT_TRUE(limiter.try_acquire(Priority::kCritical));
    while (limiter.inflight() > 0) limiter.release(now, milliseconds(50));
  }
  EXPECT_LT(limiter.limit(), high) << "latency grew tenfold: the limit falls";
}

TEST(ConcurrencyLimiterTest, ThreadsRacingToTakeWaitWithdrawAndReleaseLeakNoSlotAndStrandNoWaiter) {
  ConcurrencyLimiter limiter(fixed(2, 100), t0);
  std::atomic<int> granted_waits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const Priority priority = static_cast<Priority>(t % kPriorities);
      auto hold_and_release = [&limiter] {
        for (int k = 0; k < 10; ++k) std::this_thread::yield();  // long enough for others to find no slot
        limiter.release(Clock::now(), std::nullopt);
      };
      for (int i = 0; i < 300; ++i) {
        if (limiter.try_acquire(priority)) {
          hold_and_release();
          continue;
        }
        std::atomic<int> outcome{0};  // 1: granted, 2: shed
        const auto a =
            limiter.acquire(priority, Clock::now(), far,
                            [&outcome](uint64_t, std::optional<ShedReason> shed) { outcome.store(shed ? 2 : 1); });
        if (a.kind == ConcurrencyLimiter::Admission::kShed) continue;
        if (a.kind == ConcurrencyLimiter::Admission::kQueued) {
          // Every other wait gives up at once, racing the slot handed to it.
          if (i % 2 == 0 && limiter.withdraw(a.ticket)) continue;
          while (outcome.load() == 0) std::this_thread::yield();
          if (outcome.load() == 2) continue;
          granted_waits.fetch_add(1);
        }
        hold_and_release();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(limiter.inflight(), 0);
  EXPECT_EQ(limiter.queue_depth(), 0);
  EXPECT_GT(granted_waits.load(), 0) << "the race must have made some requests wait";
}

}  // namespace
}  // namespace seraph
