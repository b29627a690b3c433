// The response cache guard in a real chain: misses store, hits answer at once with the request's own
// id, identical misses in flight collapse into one backend call, and nothing is stored that failed
// or that the client never got.
#include "guards/cache_guard.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "guard_fixture.h"
#include "guards/guard_chain.h"
#include "models/backend.h"
#include "redis_server.h"
#include "store/redis_client.h"
#include "test_support.h"

namespace seraph {
namespace {

using testing::make_exchange;
using testing::response_header;

InferRequest text_request(std::string text, std::string id = "") {
  InferRequest r;
  r.id = std::move(id);
  r.model = "sentiment";
  r.version = 1;
  r.positional_inputs = true;
  Tensor t{"", DataType::kBytes, {1}, {}, {std::move(text)}};
  r.inputs.push_back(std::move(t));
  return r;
}

class CacheGuardTest : public ::testing::Test {
 protected:
  // A chain of the cache guard alone, ending in a backend the test answers: at once with a label
  // per call, or (hold) when the test says.
  void build(CacheSettings settings = {}, RedisClient* redis = nullptr) {
    std::vector<std::unique_ptr<Guard>> guards;
    guards.push_back(std::make_unique<CacheGuard>(settings, metrics_, redis));
    chain_ = std::make_unique<GuardChain>(
        Stage::kInference, std::move(guards),
        [this](Exchange& ex) {
          ++backend_calls_;
          if (hold_) return held_.push_back(ex.shared_from_this());
          answer(ex, backend_status_);
        },
        [this](Exchange&) { ++finished_; });
  }

  void answer(Exchange& ex, Status status) {
    ex.status = status;
    if (status.is_ok()) {
      ex.response = {};
      ex.response.model = "sentiment";
      ex.response.version = 1;
      ex.response.outputs.push_back({"label", DataType::kBytes, {1}, {}, {"call " + std::to_string(backend_calls_)}});
    }
    chain_->complete(ex);
  }

  std::shared_ptr<Exchange> run(InferRequest request, std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto ex = make_exchange(scope_.loop, std::move(headers), std::move(request));
    const int before = finished_;
    chain_->run(*ex);
    // A request that waits on Redis is resumed from its thread: drive the loop until it is answered.
    testing::eventually(
        [&] {
          scope_.loop->run_posted();
          return finished_ > before || !held_.empty() || hold_;
        },
        std::chrono::seconds(5));
    return ex;
  }

  static std::string label(const Exchange& ex) { return ex.response.outputs.at(0).strings.at(0); }

  MetricsRegistry metrics_;
  std::unique_ptr<GuardChain> chain_;
  int backend_calls_ = 0;
  int finished_ = 0;
  bool hold_ = false;
  Status backend_status_;
  std::vector<std::shared_ptr<Exchange>> held_;
  testing::LoopScope scope_;
};

TEST_F(CacheGuardTest, AMissIsStoredAndTheSameRequestIsThenAHitWithItsOwnId) {
  build();
  auto first = run(text_request("good film", "a"));
  EXPECT_EQ(response_header(*first, "X-Cache"), "MISS");
  auto second = run(text_request("good film", "b"));
  EXPECT_EQ(backend_calls_, 1) << "the second was answered from the cache";
  EXPECT_EQ(response_header(*second, "X-Cache"), "HIT");
  EXPECT_EQ(label(*second), "call 1");
  EXPECT_EQ(second->response.id, "b");
  EXPECT_EQ(finished_, 2);
}

TEST_F(CacheGuardTest, AnotherInputOrVersionIsAnotherAnswer) {
  build();
  run(text_request("good film"));
  run(text_request("bad film"));
  InferRequest v2 = text_request("good film");
  v2.version = 2;
  run(v2);
  EXPECT_EQ(backend_calls_, 3);
}

TEST_F(CacheGuardTest, FailedAnswersAreNotStored) {
  build();
  backend_status_ = unavailable("down");
  run(text_request("good film"));
  backend_status_ = {};
  auto again = run(text_request("good film"));
  EXPECT_EQ(backend_calls_, 2);
  EXPECT_EQ(response_header(*again, "X-Cache"), "MISS");
}

TEST_F(CacheGuardTest, AnAnswerTheDeadlineBeatIsNotStored) {
  build();
  hold_ = true;
  auto late = run(text_request("good film"));
  GuardChain::abort(*late, Stage::kInference, {StatusCode::kDeadlineExceeded, "deadline"});
  answer(*held_.at(0), {});  // the backend answers after the client got its 504
  hold_ = false;
  auto again = run(text_request("good film"));
  EXPECT_EQ(backend_calls_, 2);
  EXPECT_EQ(response_header(*again, "X-Cache"), "MISS");
}

TEST_F(CacheGuardTest, NoCacheBypassesTheLookupAndRefreshesTheEntry) {
  build();
  run(text_request("good film"));
  auto bypass = run(text_request("good film"), {{"Cache-Control", "no-cache"}});
  EXPECT_EQ(response_header(*bypass, "X-Cache"), "BYPASS");
  EXPECT_EQ(label(*bypass), "call 2");
  auto hit = run(text_request("good film"));
  EXPECT_EQ(label(*hit), "call 2") << "the bypass stored its fresh answer";
}

TEST_F(CacheGuardTest, IdenticalMissesInFlightCollapseIntoOneBackendCall) {
  build();
  hold_ = true;
  auto leader = run(text_request("good film", "lead"));
  std::vector<std::shared_ptr<Exchange>> waiters;
  for (int i = 0; i < 5; ++i) waiters.push_back(run(text_request("good film", "w" + std::to_string(i))));
  EXPECT_EQ(backend_calls_, 1);
  EXPECT_EQ(finished_, 0) << "the others wait for the leader";
  answer(*held_.at(0), {});
  EXPECT_EQ(finished_, 6);
  for (size_t i = 0; i < waiters.size(); ++i) {
    EXPECT_EQ(label(*waiters[i]), "call 1");
    EXPECT_EQ(waiters[i]->response.id, "w" + std::to_string(i));
    EXPECT_EQ(response_header(*waiters[i], "X-Cache"), "HIT");
  }
}

TEST_F(CacheGuardTest, WaitersComputeOnTheirOwnWhenTheLeaderFails) {
  build();
  hold_ = true;
  run(text_request("good film"));
  auto waiter = run(text_request("good film"));
  hold_ = false;
  answer(*held_.at(0), unavailable("down"));
  EXPECT_EQ(backend_calls_, 2) << "the waiter made its own call";
  EXPECT_TRUE(waiter->status.is_ok());
  EXPECT_EQ(label(*waiter), "call 2");
}

TEST_F(CacheGuardTest, AWaiterAnsweredByItsDeadlineLeavesTheFlight) {
  build();
  hold_ = true;
  run(text_request("good film"));
  auto waiter = run(text_request("good film"));
  GuardChain::abort(*waiter, Stage::kInference, {StatusCode::kDeadlineExceeded, "deadline"});
  EXPECT_EQ(waiter->status.code(), StatusCode::kDeadlineExceeded);
  answer(*held_.at(0), {});
  EXPECT_EQ(waiter->status.code(), StatusCode::kDeadlineExceeded) << "the leader's answer did not reach it";
}

TEST_F(CacheGuardTest, ADeploymentCanSwitchItsCachingOff) {
  CacheSettings settings;
  settings.deployments["sentiment"].enabled = false;
  build(settings);
  auto first = run(text_request("good film"));
  run(text_request("good film"));
  EXPECT_EQ(backend_calls_, 2);
  EXPECT_EQ(response_header(*first, "X-Cache"), "");
}

TEST_F(CacheGuardTest, TenantsNeverShareAnswersWhenTheKeyIsPerTenant) {
  CacheSettings settings;
  settings.per_tenant = true;
  build(settings);
  for (const char* tenant : {"acme", "globex", "acme"}) {
    auto ex = make_exchange(scope_.loop, {}, text_request("good film"));
    ex->principal.tenant = tenant;
    chain_->run(*ex);
  }
  EXPECT_EQ(backend_calls_, 2) << "acme's second request hit acme's answer; globex had its own";
}

// A backend that answers every call at once with a fresh label.
class CountingBackend final : public Backend {
 public:
  void execute(std::shared_ptr<const InferRequest>, TimePoint, Done done) override {
    InferResponse r;
    r.outputs.push_back({"label", DataType::kBytes, {1}, {}, {"refresh " + std::to_string(++calls)}});
    done({}, std::move(r));
  }
  int calls = 0;
};

TEST_F(CacheGuardTest, AnExpiredAnswerIsServedStaleWhileOneCallRefreshesIt) {
  CacheSettings settings;
  settings.ttl_ms = 1;
  settings.stale_while_revalidate_ms = 60000;
  build(settings);
  run(text_request("good film"));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the 1 ms time to live
  auto backend = std::make_shared<CountingBackend>();
  auto stale = make_exchange(scope_.loop, {}, text_request("good film"));
  stale->backend = backend;
  chain_->run(*stale);
  EXPECT_EQ(response_header(*stale, "X-Cache"), "STALE");
  EXPECT_EQ(label(*stale), "call 1") << "the client gets the old answer at once";
  EXPECT_EQ(backend->calls, 1) << "and one call refreshes the entry";
  EXPECT_EQ(backend_calls_, 1) << "the stale request itself never reached the chain's backend";
}

class SharedCacheGuardTest : public CacheGuardTest {
 protected:
  void SetUp() override {
    RedisOptions options;
    options.port = redis_.port();
    options.command_timeout = std::chrono::milliseconds(200);
    client_ = std::make_unique<RedisClient>(options);
    ASSERT_TRUE(testing::eventually([&] { return client_->connected(); }, std::chrono::seconds(10)));
    settings_.store = CacheSettings::Store::kRedis;
  }
  void TearDown() override {
    chain_.reset();
    client_.reset();
  }

  // Whether Redis holds any shared entry yet (the write after an answer is asynchronous).
  bool redis_has_entries() {
    std::promise<int64_t> keys;
    client_->command({"DBSIZE"}, [&](Status s, RedisReply r) { keys.set_value(s.is_ok() ? r.integer : -1); });
    return keys.get_future().get() > 0;
  }

  testing::RedisServer redis_;
  std::unique_ptr<RedisClient> client_;
  CacheSettings settings_;
};

TEST_F(SharedCacheGuardTest, AnAnswerOneReplicaStoredIsAHitOnAnother) {
  build(settings_, client_.get());
  run(text_request("shared film"));
  ASSERT_TRUE(testing::eventually([&] { return redis_has_entries(); }, std::chrono::seconds(5)));
  build(settings_, client_.get());  // another replica: its own, empty in-process cache
  auto hit = run(text_request("shared film", "r2"));
  EXPECT_EQ(backend_calls_, 1) << "the second replica found the answer in Redis";
  EXPECT_EQ(response_header(*hit, "X-Cache"), "HIT");
  EXPECT_EQ(label(*hit), "call 1");
  EXPECT_EQ(hit->response.id, "r2");
}

TEST_F(SharedCacheGuardTest, WithRedisGoneRequestsAreServedWithoutItAndCounted) {
  build(settings_, client_.get());
  redis_.kill();
  auto first = run(text_request("film"));
  EXPECT_TRUE(first->status.is_ok());
  EXPECT_EQ(response_header(*first, "X-Cache"), "MISS");
  auto second = run(text_request("film"));
  EXPECT_EQ(response_header(*second, "X-Cache"), "HIT") << "the in-process cache still works";
  Counter& errors = metrics_.counter("seraph_cache_redis_errors_total", "").get({});
  EXPECT_TRUE(testing::eventually([&] { return errors.value() >= 2; }, std::chrono::seconds(5)))
      << "a failed read and a failed write: " << errors.value();
}

}  // namespace
}  // namespace seraph
