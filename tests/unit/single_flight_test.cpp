#include "cache/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace seraph {
namespace {

const CacheKey kKey{1, 2};
const CacheKey kOtherKey{3, 4};

std::shared_ptr<const InferResponse> answer(std::string model) {
  auto response = std::make_shared<InferResponse>();
  response->model = std::move(model);
  return response;
}

// What one waiter was called with, and how often.
struct Received {
  int calls = 0;
  Status status;
  std::shared_ptr<const InferResponse> response;
  SingleFlight::Waiter waiter() {
    return [this](Status s, std::shared_ptr<const InferResponse> r) {
      ++calls;
      status = std::move(s);
      response = std::move(r);
    };
  }
};

TEST(SingleFlight, TheFirstMissLeadsAndLaterOnesWait) {
  SingleFlight flight;
  Received first, second, third;
  EXPECT_EQ(flight.join(kKey, first.waiter()).role, SingleFlight::Role::kLead);
  EXPECT_EQ(flight.join(kKey, second.waiter()).role, SingleFlight::Role::kWait);
  EXPECT_EQ(flight.join(kKey, third.waiter()).role, SingleFlight::Role::kWait);
  EXPECT_EQ(flight.waiting(), 2u);
  EXPECT_EQ(flight.flights(), 1u);
  EXPECT_EQ(first.calls, 0);  // the leader's own waiter is never queued
}

TEST(SingleFlight, DifferentKeysFlyApart) {
  SingleFlight flight;
  Received a, b;
  EXPECT_EQ(flight.join(kKey, a.waiter()).role, SingleFlight::Role::kLead);
  EXPECT_EQ(flight.join(kOtherKey, b.waiter()).role, SingleFlight::Role::kLead);
  EXPECT_EQ(flight.flights(), 2u);
}

TEST(SingleFlight, EveryWaiterGetsTheLeadersAnswerExactlyOnce) {
  SingleFlight flight;
  Received leader;
  SingleFlight::Joined lead = flight.join(kKey, leader.waiter());
  std::vector<Received> waiters(5);
  for (Received& w : waiters) ASSERT_EQ(flight.join(kKey, w.waiter()).role, SingleFlight::Role::kWait);

  auto response = answer("sentiment");
  flight.finish(kKey, lead.ticket, Status::ok(), response);
  for (const Received& w : waiters) {
    EXPECT_EQ(w.calls, 1);
    EXPECT_TRUE(w.status.is_ok());
    EXPECT_EQ(w.response, response);
  }
  EXPECT_EQ(flight.waiting(), 0u);
  EXPECT_EQ(flight.flights(), 0u);

  flight.finish(kKey, lead.ticket, Status::ok(), response);  // a second finish changes nothing
  for (const Received& w : waiters) EXPECT_EQ(w.calls, 1);
}

TEST(SingleFlight, AfterFinishTheNextMissLeadsAgain) {
  SingleFlight flight;
  Received a, b;
  SingleFlight::Joined lead = flight.join(kKey, a.waiter());
  flight.finish(kKey, lead.ticket, Status::ok(), answer("m"));
  EXPECT_EQ(flight.join(kKey, b.waiter()).role, SingleFlight::Role::kLead);
}

TEST(SingleFlight, PassesTheLeadersErrorToEveryWaiter) {
  SingleFlight flight;
  Received leader, a, b;
  SingleFlight::Joined lead = flight.join(kKey, leader.waiter());
  flight.join(kKey, a.waiter());
  flight.join(kKey, b.waiter());
  flight.finish(kKey, lead.ticket, unavailable("backend down"), nullptr);
  for (const Received* w : {&a, &b}) {
    EXPECT_EQ(w->calls, 1);
    EXPECT_EQ(w->status.code(), StatusCode::kUnavailable);
    EXPECT_EQ(w->status.message(), "backend down");
    EXPECT_EQ(w->response, nullptr);
  }
}

TEST(SingleFlight, PastTheBoundACallerComputesOnItsOwn) {
  SingleFlight flight(2);
  Received leader, a, b, c;
  SingleFlight::Joined lead = flight.join(kKey, leader.waiter());
  EXPECT_EQ(flight.join(kKey, a.waiter()).role, SingleFlight::Role::kWait);
  EXPECT_EQ(flight.join(kKey, b.waiter()).role, SingleFlight::Role::kWait);
  EXPECT_EQ(flight.join(kKey, c.waiter()).role, SingleFlight::Role::kComputeAlone);
  EXPECT_EQ(flight.waiting(), 2u);

  flight.finish(kKey, lead.ticket, Status::ok(), answer("m"));
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(b.calls, 1);
  EXPECT_EQ(c.calls, 0);
}

TEST(SingleFlight, OnlyTheLeaderEndsTheFlight) {
  SingleFlight flight;
  Received leader, waiter;
  SingleFlight::Joined lead = flight.join(kKey, leader.waiter());
  SingleFlight::Joined wait = flight.join(kKey, waiter.waiter());
  flight.finish(kKey, wait.ticket, Status::ok(), answer("not the leader"));
  EXPECT_EQ(waiter.calls, 0);
  EXPECT_EQ(flight.flights(), 1u);
  flight.finish(kKey, lead.ticket, Status::ok(), answer("leader"));
  ASSERT_EQ(waiter.calls, 1);
  EXPECT_EQ(waiter.response->model, "leader");
}

TEST(SingleFlight, AWaiterThatLeavesAtItsDeadlineIsNeverCalled) {
  SingleFlight flight;
  Received leader, stays, leaves;
  SingleFlight::Joined lead = flight.join(kKey, leader.waiter());
  flight.join(kKey, stays.waiter());
  SingleFlight::Joined left = flight.join(kKey, leaves.waiter());
  EXPECT_TRUE(flight.leave(kKey, left.ticket));
  EXPECT_EQ(flight.waiting(), 1u);
  EXPECT_FALSE(flight.leave(kKey, left.ticket));  // already gone

  flight.finish(kKey, lead.ticket, Status::ok(), answer("m"));
  EXPECT_EQ(stays.calls, 1);
  EXPECT_EQ(leaves.calls, 0);
}

TEST(SingleFlight, LeavingAfterTheAnswerWasHandedOutSaysSo) {
  SingleFlight flight;
  Received leader, waiter;
  SingleFlight::Joined lead = flight.join(kKey, leader.waiter());
  SingleFlight::Joined wait = flight.join(kKey, waiter.waiter());
  flight.finish(kKey, lead.ticket, Status::ok(), answer("m"));
  EXPECT_FALSE(flight.leave(kKey, wait.ticket));
  EXPECT_EQ(waiter.calls, 1);
}

TEST(SingleFlight, CallsWaitersOutsideItsLock) {
  SingleFlight flight;
  Received leader, next_leader;
  SingleFlight::Joined lead = flight.join(kKey, leader.waiter());
  SingleFlight::Role rejoined{};
  // A waiter that joins again from inside its call would deadlock if the lock were held.
  flight.join(kKey, [&](Status, std::shared_ptr<const InferResponse>) {
    rejoined = flight.join(kKey, next_leader.waiter()).role;
  });
  flight.finish(kKey, lead.ticket, Status::ok(), answer("m"));
  EXPECT_EQ(rejoined, SingleFlight::Role::kLead);
}

TEST(SingleFlight, ConcurrentMissesCollapseAndEveryWaiterIsCalledOnce) {
  SingleFlight flight;
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::atomic<int> leads{0}, waits{0}, calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        const CacheKey key{static_cast<uint64_t>(i % 8), 0};
        SingleFlight::Joined joined = flight.join(key, [&](Status, std::shared_ptr<const InferResponse>) { ++calls; });
        if (joined.role == SingleFlight::Role::kLead) {
          ++leads;
          flight.finish(key, joined.ticket, Status::ok(), nullptr);
        } else {
          ++waits;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(leads + waits, kThreads * kRounds);
  EXPECT_EQ(calls.load(), waits.load());
  EXPECT_EQ(flight.waiting(), 0u);
  EXPECT_EQ(flight.flights(), 0u);
}

}  // namespace
}  // namespace seraph
