// The response cache through the real binary: a repeated request is a hit whatever its JSON
// spacing and key order, a canary's answer is never served for the baseline, no-cache bypasses,
// and the metrics count each outcome.
#include <gtest/gtest.h>

#include "e2e_env.h"
#include "redis_server.h"
#include "server_process.h"

namespace seraph::test {
namespace {

const std::string kCacheOn =
    "guards:\n  cache:\n    enabled: true\n    ttl_ms: 60000\n"
    "deployments:\n  - name: reviews\n    variants:\n"
    "      - {name: baseline, model: sentiment, version: 1, weight: 100, role: baseline}\n"
    "      - {name: candidate, model: sentiment, version: 2, weight: 0, role: candidate}\n";

class Cache : public ::testing::Test {
 protected:
  ServerProcess server{write_config(shared_repository(), kCacheOn)};
  HttpClient client{server.port()};
};

TEST_F(Cache, ARepeatedRequestIsAHitWhateverItsSpacing) {
  Response first = client.post("/predict", R"({"text":"a cached film"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-cache"), "MISS");
  Response second = client.post("/predict", "{ \"text\" :  \"a cached film\" }");
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(second.header("x-cache"), "HIT");
  EXPECT_EQ(second.json()["label"], first.json()["label"]);
  EXPECT_EQ(client.post("/predict", R"({"text":"another film"})").header("x-cache"), "MISS");
}

TEST_F(Cache, V2KeyOrderDoesNotMatter) {
  const std::string a = R"({"id":"1","inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["v2 film"]}]})";
  const std::string b = R"({"inputs":[{"data":["v2 film"],"shape":[1],"datatype":"BYTES","name":"text"}],"id":"2"})";
  EXPECT_EQ(client.post("/v2/models/sentiment/infer", a).header("x-cache"), "MISS");
  Response hit = client.post("/v2/models/sentiment/infer", b);
  EXPECT_EQ(hit.header("x-cache"), "HIT");
  EXPECT_STREQ(hit.json()["id"].GetString(), "2") << "a hit answers with its own request's id";
}

TEST_F(Cache, ACanarysAnswerIsNeverServedForTheBaseline) {
  const std::string body = R"({"text":"canary film"})";
  Response canary = client.request("POST", "/predict?model=reviews", body,
                                   {{"Content-Type", "application/json"}, {"X-Canary", "candidate"}});
  ASSERT_EQ(canary.status, 200u) << canary.body;
  EXPECT_EQ(canary.header("x-model-version"), "2");
  Response baseline = client.post("/predict?model=reviews", body);
  EXPECT_EQ(baseline.header("x-model-version"), "1");
  EXPECT_EQ(baseline.header("x-cache"), "MISS") << "the key names the version routing chose";
  EXPECT_EQ(client.post("/predict?model=reviews", body).header("x-cache"), "HIT");
}

TEST_F(Cache, NoCacheBypassesAndTheMetricsCountEachOutcome) {
  const std::string body = R"({"text":"counted film"})";
  client.post("/predict", body);
  client.post("/predict", body);
  Response bypass = client.request("POST", "/predict", body, {{"Content-Type", "application/json"}, {"Cache-Control", "no-cache"}});
  EXPECT_EQ(bypass.header("x-cache"), "BYPASS");
  const std::string metrics = client.get("/metrics").body;
  EXPECT_GE(sample(metrics, R"(seraph_cache_requests_total\{outcome="hit"\})"), 1);
  EXPECT_GE(sample(metrics, R"(seraph_cache_requests_total\{outcome="miss"\})"), 1);
  EXPECT_GE(sample(metrics, R"(seraph_cache_requests_total\{outcome="bypass"\})"), 1);
  EXPECT_GT(sample(metrics, "seraph_cache_entries"), 0);
  EXPECT_EQ(promtool_findings(metrics), "");
}

TEST_F(Cache, ErrorsAreNeverCached) {
  const std::string body = R"({"inputs":[{"name":"text","datatype":"FP32","shape":[1],"data":[1.0]}]})";
  EXPECT_EQ(client.post("/v2/models/sentiment/infer", body).status, 400u);
  Response again = client.post("/v2/models/sentiment/infer", body);
  EXPECT_EQ(again.status, 400u);
  EXPECT_NE(again.header("x-cache"), "HIT");
}

std::string run_command(const std::string& command) {
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[256];
    while (fgets(buffer, sizeof buffer, pipe)) output += buffer;
    pclose(pipe);
  }
  return output;
}

TEST(SharedCache, AReplicaServesWhatAnotherComputedAndCarriesOnWithoutRedis) {
  ::seraph::testing::RedisServer redis;
  const auto config = write_config(shared_repository(), "redis:\n  address: 127.0.0.1:" + std::to_string(redis.port()) +
                                                            "\nguards:\n  cache:\n    enabled: true\n    store: redis\n");
  ServerProcess a(config), b(config);
  HttpClient to_a(a.port()), to_b(b.port());
  EXPECT_EQ(to_a.post("/predict", R"({"text":"shared film"})").header("x-cache"), "MISS");
  // a writes to Redis after answering: wait until the entry is there, then b's first request finds it.
  const std::string dbsize = "redis-cli -p " + std::to_string(redis.port()) + " DBSIZE";
  ASSERT_TRUE(eventually([&] { return run_command(dbsize) != "0\n"; }, 5));
  EXPECT_EQ(to_b.post("/predict", R"({"text":"shared film"})").header("x-cache"), "HIT") << "b found a's answer in Redis";
  redis.kill();
  Response without = to_b.post("/predict", R"({"text":"film after redis"})");
  EXPECT_EQ(without.status, 200u) << "Redis gone: served without the shared cache";
  EXPECT_EQ(without.header("x-cache"), "MISS");
  EXPECT_GE(metric(b.port(), "seraph_cache_redis_errors_total"), 1);
}

}  // namespace
}  // namespace seraph::test
