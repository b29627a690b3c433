// The rate-limit guard in a chain: rules keyed by client, header and deployment, costs by rows,
// the 429 and RateLimit-* headers, and, through a real Redis, the pause while Redis answers and
// what happens when it does not.
#include "guards/rate_limit_guard.h"

#include <gtest/gtest.h>

#include "guard_fixture.h"
#include "guards/rate_limit_rules.h"
#include "redis_server.h"
#include "store/redis_client.h"
#include "test_support.h"

namespace seraph {
namespace {

using namespace std::chrono_literals;
using testing::make_exchange;
using testing::response_header;

RateLimitRuleSettings rule(std::string name, int64_t limit, RateLimitRuleSettings::Key key = RateLimitRuleSettings::Key::kClient) {
  RateLimitRuleSettings r;
  r.rule = {std::move(name), limit, 60000ms, 0};
  r.key = key;
  return r;
}

class RateLimitGuardTest : public ::testing::Test {
 protected:
  void build(Stage stage, RateLimitSettings settings, RedisClient* redis = nullptr) {
    settings_ = std::move(settings);
    if (!registry_) {
      std::string error;
      registry_ = Registry::open((dir_.path() / "registry.db").string(), error);
      ASSERT_TRUE(registry_) << error;
    }
    chain_.reset();
    rules_ = std::make_unique<RateLimitRules>(*registry_, settings_.rules);
    ASSERT_TRUE(rules_->refresh().is_ok());
    std::vector<std::unique_ptr<Guard>> guards;
    guards.push_back(std::make_unique<RateLimitGuard>("rate_limit", stage, settings_, *rules_, redis, metrics_));
    chain_ = std::make_unique<GuardChain>(
        stage, std::move(guards),
        [this](Exchange& ex) {
          ++backend_calls_;
          ex.status = {};
          chain_->complete(ex);
        },
        [this](Exchange&) { ++finished_; });
  }

  // Runs one request through the chain and waits (driving the fake loop) until it is answered.
  std::shared_ptr<Exchange> run(std::string client, InferRequest request = {},
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (request.model.empty()) request.model = "sentiment";
    auto ex = make_exchange(scope_.loop, std::move(headers), std::move(request));
    ex->client_address = std::move(client);
    const int before = finished_;
    chain_->run(*ex);
    EXPECT_TRUE(testing::eventually([&] {
      scope_.loop->run_posted();
      return finished_ > before;
    }, 5s));
    return ex;
  }

  testing::TempDir dir_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<RateLimitRules> rules_;
  RateLimitSettings settings_;
  MetricsRegistry metrics_;
  std::unique_ptr<GuardChain> chain_;
  int backend_calls_ = 0;
  int finished_ = 0;
  ::seraph::testing::LoopScope scope_;
};

TEST_F(RateLimitGuardTest, AdmitsTheLimitThenAnswers429WithRetryAfter) {
  build(Stage::kEndpoint, {RateLimitSettings::Store::kLocal, {}, {rule("per_client", 3)}});
  for (int i = 0; i < 3; ++i) {
    auto ex = run("10.0.0.1");
    EXPECT_TRUE(ex->status.is_ok());
    EXPECT_EQ(response_header(*ex, "RateLimit-Remaining"), std::to_string(2 - i));
    EXPECT_EQ(response_header(*ex, "RateLimit-Limit"), "3");
  }
  auto refused = run("10.0.0.1");
  EXPECT_EQ(refused->status.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused->status.message().find("per_client"), std::string::npos);
  EXPECT_EQ(response_header(*refused, "Retry-After"), "20") << "a minute's 3 requests: one every 20 s";
  EXPECT_EQ(response_header(*refused, "RateLimit-Remaining"), "0");
  EXPECT_EQ(backend_calls_, 3);
  EXPECT_TRUE(run("10.0.0.2")->status.is_ok()) << "another client has its own allowance";
}

TEST_F(RateLimitGuardTest, AHeaderKeyAppliesOnlyToRequestsCarryingIt) {
  auto by_tenant = rule("per_tenant", 1, RateLimitRuleSettings::Key::kHeader);
  by_tenant.header = "X-Tenant";
  build(Stage::kEndpoint, {RateLimitSettings::Store::kLocal, {}, {by_tenant}});
  EXPECT_TRUE(run("c", {}, {{"X-Tenant", "acme"}})->status.is_ok());
  EXPECT_EQ(run("c", {}, {{"X-Tenant", "acme"}})->status.code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(run("c", {}, {{"X-Tenant", "globex"}})->status.is_ok());
  EXPECT_TRUE(run("c")->status.is_ok()) << "no header: the rule does not apply";
  EXPECT_TRUE(run("c")->status.is_ok());
}

TEST_F(RateLimitGuardTest, ABatchCostsItsRowsWhenConfigured) {
  auto rows = rule("rows", 10, RateLimitRuleSettings::Key::kDeployment);
  rows.cost_rows = true;
  build(Stage::kInference, {RateLimitSettings::Store::kLocal, {}, {rows}});
  InferRequest batch;
  batch.model = "dense";
  batch.inputs.push_back({"input", DataType::kFp32, {8, 4}, std::vector<std::byte>(8 * 4 * 4), {}});
  EXPECT_TRUE(run("c", batch)->status.is_ok());
  auto second = run("c", batch);
  EXPECT_EQ(second->status.code(), StatusCode::kResourceExhausted) << "8 + 8 rows is over 10";
  batch.inputs[0].shape = {2, 4};
  batch.inputs[0].bytes.resize(2 * 4 * 4);
  EXPECT_TRUE(run("c", batch)->status.is_ok()) << "2 more rows fit";
}

TEST_F(RateLimitGuardTest, ARuleForSomeDeploymentsLeavesTheOthersAlone) {
  auto limited = rule("sentiment_only", 1, RateLimitRuleSettings::Key::kClient);
  limited.deployments = {"sentiment"};
  build(Stage::kInference, {RateLimitSettings::Store::kLocal, {}, {limited}});
  InferRequest other;
  other.model = "mlp";
  EXPECT_TRUE(run("c")->status.is_ok());
  EXPECT_FALSE(run("c")->status.is_ok());
  EXPECT_TRUE(run("c", other)->status.is_ok());
  EXPECT_TRUE(run("c", other)->status.is_ok());
}

class RedisRateLimitGuardTest : public RateLimitGuardTest {
 protected:
  RedisClient& client() {
    if (!client_) {
      RedisOptions options;
      options.port = redis_.port();
      options.command_timeout = 100ms;
      client_ = std::make_unique<RedisClient>(options);
      EXPECT_TRUE(testing::eventually([&] { return client_->connected(); }, 10s));
    }
    return *client_;
  }
  void TearDown() override { client_.reset(); }

  testing::RedisServer redis_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(RedisRateLimitGuardTest, TheLimitHoldsThroughRedisWhileTheRequestPauses) {
  build(Stage::kEndpoint, {RateLimitSettings::Store::kRedis, {}, {rule("shared", 2)}}, &client());
  EXPECT_TRUE(run("10.0.0.1")->status.is_ok());
  EXPECT_TRUE(run("10.0.0.1")->status.is_ok());
  auto refused = run("10.0.0.1");
  EXPECT_EQ(refused->status.code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(response_header(*refused, "Retry-After").empty());
  EXPECT_EQ(backend_calls_, 2);
}

TEST_F(RedisRateLimitGuardTest, WithRedisDownEachFailureModeDoesWhatItSays) {
  using F = RateLimitSettings::OnRedisFailure;
  for (F mode : {F::kOpen, F::kClosed, F::kLocal}) {
    build(Stage::kEndpoint, {RateLimitSettings::Store::kRedis, mode, {rule("shared", 1)}}, &client());
    if (mode == F::kOpen) redis_.kill();
    auto first = run("10.0.0.9");
    auto second = run("10.0.0.9");
    switch (mode) {
      case F::kOpen:
        EXPECT_TRUE(first->status.is_ok());
        EXPECT_TRUE(second->status.is_ok()) << "fail-open admits";
        break;
      case F::kClosed:
        EXPECT_EQ(first->status.code(), StatusCode::kUnavailable) << "fail-closed refuses with 503";
        break;
      case F::kLocal:
        EXPECT_TRUE(first->status.is_ok());
        EXPECT_EQ(second->status.code(), StatusCode::kResourceExhausted) << "the in-process limiter holds the rule";
        break;
    }
  }
  auto& failures = metrics_.counter("seraph_rate_limit_store_failures_total", "");
  EXPECT_EQ(failures.get({{"action", "admitted"}}).value(), 2);
  EXPECT_EQ(failures.get({{"action", "refused"}}).value(), 2);
  EXPECT_EQ(failures.get({{"action", "local"}}).value(), 2);
}

TEST_F(RateLimitGuardTest, RulesSetThroughTheAdminApiTakeEffectAndReplaceTheConfigsOfTheSameName) {
  build(Stage::kEndpoint, {RateLimitSettings::Store::kLocal, {}, {rule("per_client", 100)}});
  EXPECT_TRUE(run("10.0.0.1")->status.is_ok());
  ASSERT_TRUE(rules_->put("per_client", R"({"limit": 1, "period_ms": 60000, "key": "client"})", "test").is_ok());
  EXPECT_TRUE(run("10.0.0.3")->status.is_ok());
  EXPECT_EQ(run("10.0.0.3")->status.code(), StatusCode::kResourceExhausted) << "the admin's rule replaced the config's";
  RateLimitRules replica(*registry_, settings_.rules);  // another replica sharing the registry
  ASSERT_TRUE(replica.refresh().is_ok());
  ASSERT_EQ(replica.load()->rules.size(), 1u);
  EXPECT_EQ(replica.load()->rules[0].rule.limit, 1);
  EXPECT_TRUE(replica.load()->from_admin[0]);
  ASSERT_TRUE(rules_->remove("per_client", "test").is_ok());
  EXPECT_EQ(rules_->load()->rules.at(0).rule.limit, 100) << "the config's rule is back";
  EXPECT_EQ(rules_->remove("per_client", "test").code(), StatusCode::kNotFound);
}

TEST_F(RateLimitGuardTest, ARuleAsTheAdminApiListsItCanBeSentBack) {
  build(Stage::kEndpoint, {RateLimitSettings::Store::kLocal, {}, {}});
  ASSERT_TRUE(rules_->put("per_client", R"({"name": "per_client", "limit": 7, "period_ms": 1000, "burst": 0,
      "key": "client", "cost": "request", "deployments": [], "source": "config"})", "test").is_ok());
  EXPECT_EQ(rules_->load()->rules.at(0).rule.limit, 7);
  EXPECT_TRUE(rules_->load()->from_admin.at(0)) << "the source is the server's to say, not the body's";
}

TEST_F(RateLimitGuardTest, AnAdminRuleThatCannotBeEnforcedIsRefusedAndNothingChanges) {
  build(Stage::kEndpoint, {RateLimitSettings::Store::kLocal, {}, {}});
  EXPECT_EQ(rules_->put("bad", R"({"limit": 0, "period_ms": 1000})", "test").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rules_->put("bad", R"({"limit": 5, "key": "ip"})", "test").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rules_->put("bad", "not json", "test").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rules_->put("bad", R"({"limit": 5, "period": 1000})", "test").message(),
            "period: unknown key (use name, limit, period_ms, burst, key, cost, deployments, source)")
      << "a misspelt key is refused, not left at its default (a second)";
  EXPECT_EQ(rules_->put("bad", R"({"name": "other", "limit": 5})", "test").message(),
            "name is 'other' in the body, but the path names 'bad'");
  ASSERT_TRUE(rules_->put("rows", R"({"limit": 100, "key": "deployment", "cost": "rows"})", "test").is_ok());
  EXPECT_EQ(rules_->put("requests", R"({"limit": 100, "key": "deployment"})", "test").code(),
            StatusCode::kInvalidArgument)
      << "one cost per stage";
  EXPECT_EQ(rules_->load()->rules.size(), 1u);
}

}  // namespace
}  // namespace seraph
