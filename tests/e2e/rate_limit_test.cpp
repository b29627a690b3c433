// Rate limits through the real binary: 429 with Retry-After and the RateLimit-* headers, and one
// limit shared by three replicas through a real Redis, held within 2% of what it allows, with the
// in-process limiter taking over when Redis dies.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "e2e_env.h"
#include "redis_server.h"
#include "server_process.h"

namespace seraph::test {
namespace {

using namespace std::chrono_literals;

TEST(RateLimit, OverTheLimitIs429WithRetryAfterAndRateLimitHeaders) {
  ServerProcess server(write_config(shared_repository(),
                                    "guards:\n  rate_limit:\n    enabled: true\n    rules:\n"
                                    "      - {name: per_client, key: client, limit: 3, period_ms: 60000}\n"));
  HttpClient client(server.port());
  for (int i = 0; i < 3; ++i) {
    Response ok = client.get("/models");
    EXPECT_EQ(ok.status, 200u);
    EXPECT_EQ(ok.header("ratelimit-limit"), "3");
    EXPECT_EQ(ok.header("ratelimit-remaining"), std::to_string(2 - i));
  }
  Response limited = client.post("/predict", R"({"text":"good"})");
  EXPECT_EQ(limited.status, 429u) << "every endpoint counts against a per-client rule";
  EXPECT_EQ(limited.header("retry-after"), "20");
  EXPECT_EQ(limited.header("ratelimit-remaining"), "0");
  EXPECT_NE(limited.body.find("per_client"), std::string::npos) << limited.body;
  EXPECT_EQ(client.get("/healthz").status, 200u) << "an orchestrator's probes are never limited";
}

TEST(RateLimit, RulesSetThroughTheAdminApiTakeEffectAtOnceAndCanBeRemoved) {
  ServerProcess server(write_config(shared_repository(), "guards:\n  rate_limit:\n    enabled: true\n"));
  HttpClient client(server.port());
  const std::vector<std::pair<std::string, std::string>> as_c1{{"X-Client", "c1"}};
  Response set = client.request("PUT", "/admin/v1/rate-limits/per_client",
                                R"({"limit": 2, "period_ms": 60000, "key": "header:X-Client"})",
                                {{"Content-Type", "application/json"}});
  ASSERT_EQ(set.status, 200u) << set.body;
  EXPECT_EQ(client.get("/models", as_c1).status, 200u);
  EXPECT_EQ(client.get("/models", as_c1).status, 200u);
  EXPECT_EQ(client.get("/models", as_c1).status, 429u);
  Response listed = client.get("/admin/v1/rate-limits");
  ASSERT_EQ(listed.status, 200u);
  EXPECT_NE(listed.body.find(R"("key":"header:X-Client")"), std::string::npos) << listed.body;
  EXPECT_NE(listed.body.find(R"("source":"admin")"), std::string::npos) << listed.body;
  EXPECT_EQ(client.request("PUT", "/admin/v1/rate-limits/bad", R"({"limit": 0})", {}).status, 400u);
  EXPECT_EQ(client.request("DELETE", "/admin/v1/rate-limits/per_client", "", {}).status, 200u);
  EXPECT_EQ(client.get("/models", as_c1).status, 200u) << "no rule: no limit";
  EXPECT_EQ(client.request("DELETE", "/admin/v1/rate-limits/per_client", "", {}).status, 404u);
}

TEST(RateLimit, ThreeReplicasSharingRedisAdmitWithinTwoPercentOfTheLimit) {
  ::seraph::testing::RedisServer redis;
  const int64_t limit = 200, period_ms = 1000;  // 200 a second for all replicas together, burst 200
  const auto config = write_config(
      shared_repository(),
      "redis:\n  address: 127.0.0.1:" + std::to_string(redis.port()) + "\n  command_timeout_ms: 200\n"
      "log:\n  access_log: false\n"
      "guards:\n  rate_limit:\n    enabled: true\n    store: redis\n    on_redis_failure: closed\n    rules:\n"
      "      - {name: sentiment, key: deployment, limit: " + std::to_string(limit) + ", period_ms: " +
      std::to_string(period_ms) + "}\n");
  std::vector<std::unique_ptr<ServerProcess>> replicas;
  for (int i = 0; i < 3; ++i) replicas.push_back(std::make_unique<ServerProcess>(config));

  std::atomic<int64_t> admitted{0}, limited{0}, other{0};
  std::atomic<bool> stop{false};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (auto& replica : replicas) {
    for (int c = 0; c < 2; ++c) {
      clients.emplace_back([&, port = replica->port()] {
        HttpClient client(port);
        while (!stop.load()) {
          const unsigned status = client.post("/predict", R"({"text":"shared limit"})").status;
          (status == 200u ? admitted : status == 429u ? limited : other).fetch_add(1);
        }
      });
    }
  }
  std::this_thread::sleep_for(3s);  // the measured span: load for a fixed time, not a condition
  stop = true;
  for (auto& t : clients) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double allowed = limit + limit * seconds * 1000 / period_ms;  // the burst, then the rate
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(limited.load(), admitted.load()) << "the clients asked for far more than the limit";
  EXPECT_LE(admitted.load(), allowed * 1.02) << "admitted " << admitted << " of " << allowed << " allowed";
  EXPECT_GE(admitted.load(), allowed * 0.98 - limit) << "admitted " << admitted << " of " << allowed << " allowed";
  std::cout << "[ rate ] " << admitted << " admitted of " << allowed << " allowed in " << seconds << " s; " << limited
            << " refused\n";
}

TEST(RateLimit, WithRedisGoneTheInProcessLimiterTakesOverAndItIsCounted) {
  ::seraph::testing::RedisServer redis;
  ServerProcess server(write_config(
      shared_repository(),
      "redis:\n  address: 127.0.0.1:" + std::to_string(redis.port()) + "\n"
      "guards:\n  rate_limit:\n    enabled: true\n    store: redis\n    on_redis_failure: local\n    rules:\n"
      "      - {name: per_client, key: \"header:X-Client\", limit: 2, period_ms: 60000}\n"));
  HttpClient client(server.port());
  const std::vector<std::pair<std::string, std::string>> as_client{{"X-Client", "c1"}};
  EXPECT_EQ(client.get("/models", as_client).status, 200u);
  redis.kill();
  EXPECT_EQ(client.get("/models", as_client).status, 200u) << "the local limiter admits its own first two";
  EXPECT_EQ(client.get("/models", as_client).status, 200u);
  EXPECT_EQ(client.get("/models", as_client).status, 429u);
  EXPECT_GE(metric(server.port(), R"(seraph_rate_limit_store_failures_total\{action="local"\})"), 3);
}

}  // namespace
}  // namespace seraph::test
