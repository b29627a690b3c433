// RedisRateLimiter against a real redis-server: GCRA's semantics on Redis's clock, the script's
// state and its reloading, several replicas sharing one limit, and Redis going away.
#include "limits/redis_rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>

#include "core/clock.h"
#include "redis_server.h"
#include "test_support.h"

namespace seraph {
namespace {

using namespace std::chrono_literals;

struct Answer {
  Status status;
  RateDecision decision;
};

RedisOptions options_for(uint16_t port) {
  RedisOptions options;
  options.port = port;
  options.connect_timeout = 1s;
  options.command_timeout = 2s;  // generous: this machine's cores are shared with other builds
  return options;
}

RateLimitRule rule(std::string name, int64_t limit, std::chrono::milliseconds period, int64_t burst = 0) {
  return {std::move(name), limit, period, burst};
}

// One replica's view of the shared limit: its own connection and limiter.
struct Replica {
  explicit Replica(RedisOptions options) : client(std::move(options)), limiter(client, "test:") {
    if (!testing::eventually([&] { return client.connected(); }, 5s)) throw std::runtime_error("never connected");
  }

  Answer check(std::span<const RateCheck> checks, int64_t cost = 1) {
    auto promise = std::make_shared<std::promise<Answer>>();
    auto answer = promise->get_future();
    limiter.check(checks, cost, [promise](Status status, RateDecision decision) {
      promise->set_value({std::move(status), std::move(decision)});
    });
    if (answer.wait_for(10s) != std::future_status::ready) throw std::runtime_error("the limiter never answered");
    return answer.get();
  }
  Answer check(const RateLimitRule& rule, const std::string& key, int64_t cost = 1) {
    const RateCheck check{&rule, key};
    return this->check({&check, 1}, cost);
  }

  RedisReply command(std::vector<std::string> args) {
    auto promise = std::make_shared<std::promise<RedisReply>>();
    auto reply = promise->get_future();
    client.command(std::move(args), [promise](Status, RedisReply reply) { promise->set_value(std::move(reply)); });
    if (reply.wait_for(10s) != std::future_status::ready) throw std::runtime_error("the client never answered");
    return reply.get();
  }

  RedisClient client;
  RedisRateLimiter limiter;
};

class RedisRateLimiterTest : public ::testing::Test {
 protected:
  testing::RedisServer server_;
  Replica replica_{options_for(server_.port())};
};

TEST_F(RedisRateLimiterTest, AdmitsTheLimitAtOnceThenRefusesUntilTheNextUnit) {
  const RateLimitRule per_ten_seconds = rule("per_ten_seconds", 5, 10s);
  for (int i = 0; i < 5; ++i) {
    const Answer answer = replica_.check(per_ten_seconds, "client");
    ASSERT_TRUE(answer.status.is_ok()) << answer.status.message();
    ASSERT_TRUE(answer.decision.allowed) << i;
    EXPECT_EQ(answer.decision.remaining, 4 - i);
  }
  const Answer refused = replica_.check(per_ten_seconds, "client");
  ASSERT_TRUE(refused.status.is_ok());
  EXPECT_FALSE(refused.decision.allowed);
  EXPECT_FALSE(refused.decision.cost_exceeds_burst);
  EXPECT_EQ(refused.decision.remaining, 0);
  EXPECT_EQ(refused.decision.limit, 5);
  EXPECT_EQ(refused.decision.rule, "per_ten_seconds");
  // One unit is 2 s; the few milliseconds the checks took are already earned back.
  EXPECT_LE(refused.decision.retry_after, 2000ms);
  EXPECT_GT(refused.decision.retry_after, 1500ms);
  EXPECT_TRUE(replica_.check(per_ten_seconds, "other client").decision.allowed);
}

TEST_F(RedisRateLimiterTest, ACostTakesThatManyUnitsAndAboveTheBurstIsRefusedForGood) {
  const RateLimitRule per_minute = rule("per_minute", 10, 60s, 5);
  const Answer too_big = replica_.check(per_minute, "client", 6);
  EXPECT_FALSE(too_big.decision.allowed);
  EXPECT_TRUE(too_big.decision.cost_exceeds_burst);
  EXPECT_EQ(too_big.decision.retry_after, 0ms);

  const Answer first = replica_.check(per_minute, "client", 4);
  EXPECT_TRUE(first.decision.allowed);
  EXPECT_EQ(first.decision.remaining, 1);
  const Answer second = replica_.check(per_minute, "client", 4);
  EXPECT_FALSE(second.decision.allowed);
  EXPECT_EQ(second.decision.remaining, 1);
  EXPECT_GT(second.decision.retry_after, 17s);  // three more units at 6 s each, less what has passed
  EXPECT_LE(second.decision.retry_after, 18s);
}

TEST_F(RedisRateLimiterTest, ARefusalByOneRuleChargesNoneOfTheOthers) {
  const RateLimitRule per_minute = rule("per_minute", 5, 60s);
  const RateLimitRule per_hour = rule("per_hour", 3, 3600s);
  const RateCheck checks[] = {{&per_minute, "client"}, {&per_hour, "client"}};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(replica_.check(checks).decision.allowed);
  const Answer refused = replica_.check(checks);
  ASSERT_TRUE(refused.status.is_ok());
  EXPECT_FALSE(refused.decision.allowed);
  EXPECT_EQ(refused.decision.rule, "per_hour");
  EXPECT_EQ(refused.decision.limit, 3);
  EXPECT_EQ(replica_.check(per_minute, "client", 0).decision.remaining, 2);
}

TEST_F(RedisRateLimiterTest, RemainingAndResetAfterDescribeTheKeyWhichExpiresThen) {
  const RateLimitRule per_ten_seconds = rule("per_ten_seconds", 10, 10s);
  const Answer answer = replica_.check(per_ten_seconds, "client", 3);
  ASSERT_TRUE(answer.decision.allowed);
  EXPECT_EQ(answer.decision.remaining, 7);
  EXPECT_EQ(answer.decision.reset_after, 3000ms);
  const RedisReply ttl = replica_.command({"PTTL", "test:per_ten_seconds:client"});
  ASSERT_EQ(ttl.type, RedisReply::Type::kInteger);
  EXPECT_GT(ttl.integer, 2500);
  EXPECT_LE(ttl.integer, 3000);
}

TEST_F(RedisRateLimiterTest, TheScriptIsSentAgainWhenRedisHasForgottenIt) {
  const RateLimitRule per_minute = rule("per_minute", 2, 60s);
  ASSERT_TRUE(replica_.check(per_minute, "client").decision.allowed);
  ASSERT_EQ(replica_.command({"SCRIPT", "FLUSH"}).text, "OK");
  const Answer answer = replica_.check(per_minute, "client");
  ASSERT_TRUE(answer.status.is_ok()) << answer.status.message();
  EXPECT_TRUE(answer.decision.allowed);
  EXPECT_EQ(answer.decision.remaining, 0);
}

TEST_F(RedisRateLimiterTest, ThreeReplicasSharingOneKeyAdmitWhatTheLimitAllows) {
  const RateLimitRule per_second = rule("per_second", 1000, 1s);
  const RateCheck check{&per_second, "shared"};
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int i = 0; i < 3; ++i) replicas.push_back(std::make_unique<Replica>(options_for(server_.port())));

  constexpr int kChainsPerReplica = 16;  // checks each replica keeps in flight
  std::atomic<int> admitted{0}, refused{0}, failed{0}, chains{0};
  std::atomic<int64_t> last_answer_ns{0};
  const TimePoint start = Clock::now();
  const TimePoint stop = start + 2s;
  std::function<void(Replica&)> fire = [&](Replica& replica) {
    replica.limiter.check({&check, 1}, 1, [&](Status status, RateDecision decision) {
      if (!status.is_ok()) {
        failed.fetch_add(1);
      } else {
        (decision.allowed ? admitted : refused).fetch_add(1);
      }
      const TimePoint now = Clock::now();
      int64_t last = last_answer_ns.load();
      while (last < (now - start).count() && !last_answer_ns.compare_exchange_weak(last, (now - start).count())) {
      }
      if (now < stop) return fire(replica);
      chains.fetch_sub(1);
    });
  };
  for (auto& replica : replicas) {
    for (int i = 0; i < kChainsPerReplica; ++i) {
      chains.fetch_add(1);
      fire(*replica);
    }
  }
  ASSERT_TRUE(testing::eventually([&] { return chains.load() == 0; }, 10s));

  const double elapsed_s = std::chrono::duration<double>(Clock::duration(last_answer_ns.load())).count();
  const double allowed = 1000 * elapsed_s + 1000;  // the rate over the time, plus the burst
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(refused.load(), 2 * admitted.load()) << "the replicas must press well above the limit";
  EXPECT_LE(admitted.load(), allowed * 1.02) << "elapsed " << elapsed_s << " s";
  EXPECT_GE(admitted.load(), allowed * 0.98) << "elapsed " << elapsed_s << " s";
}

TEST_F(RedisRateLimiterTest, WithRedisGoneEveryCheckFailsWithUnavailableByTheTimeout) {
  RedisOptions options = options_for(server_.port());
  options.command_timeout = 50ms;
  Replica replica(options);
  const RateLimitRule per_second = rule("per_second", 10, 1s);
  server_.kill();
  for (int i = 0; i < 20; ++i) {
    const TimePoint start = Clock::now();
    const Answer answer = replica.check(per_second, "client");
    EXPECT_EQ(answer.status.code(), StatusCode::kUnavailable) << answer.status.message();
    EXPECT_LT(elapsed_ms(start), 150.0);
  }
}

}  // namespace
}  // namespace seraph
