#include "core/semaphore.h"

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace seraph {
namespace {

TEST(Semaphore, TryAcquireTakesOnlyTheFreeSlots) {
  Semaphore slots(2);
  EXPECT_TRUE(slots.try_acquire());
  EXPECT_TRUE(slots.try_acquire());
  EXPECT_FALSE(slots.try_acquire());
  slots.release();
  EXPECT_TRUE(slots.try_acquire());
  EXPECT_FALSE(slots.try_acquire());
}

TEST(Semaphore, AcquireWaitsForARelease) {
  Semaphore slots(1);
  ASSERT_TRUE(slots.try_acquire());
  std::promise<void> waiting;
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    waiting.set_value();
    slots.acquire();
    acquired = true;
  });
  waiting.get_future().wait();
  EXPECT_FALSE(acquired.load());
  slots.release();
  waiter.join();  // returns only once the waiter got the released slot
  EXPECT_TRUE(acquired.load());
  EXPECT_FALSE(slots.try_acquire());
}

TEST(Semaphore, NeverAdmitsMoreThanItsCountUnderContention) {
  constexpr int kSlots = 3;
  Semaphore slots(kSlots);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        if (t % 2 == 0) {
          slots.acquire();
        } else if (!slots.try_acquire()) {
          continue;
        }
        const int now = inside.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        inside.fetch_sub(1);
        slots.release();
      }
    });
  }
  for (auto& thread : threads) thread.join();  // a lost wake-up would hang here
  EXPECT_LE(most.load(), kSlots);
  EXPECT_GE(most.load(), 1);
  for (int i = 0; i < kSlots; ++i) EXPECT_TRUE(slots.try_acquire());
  EXPECT_FALSE(slots.try_acquire());
}

}  // namespace
}  // namespace seraph
