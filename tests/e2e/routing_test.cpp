// Deployments over the wire: every answer names who served it; forced, sticky and weighted
// routing; environments; shadow copies; injected faults.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "control/statistics.h"
#include "delivery_env.h"
#include "e2e_env.h"
#include "server_process.h"
#include "typed_models.h"

namespace seraph::test {
namespace {

const std::string kBody = R"({"text":"a wonderful film"})";

// production: sentiment v1 90% / v2 10%, sticky on X-User-Id; staging: v2 only.
const std::string kCanaryDeployments = R"(deployments:
  - name: sentiment
    sticky_header: X-User-Id
    variants:
      - {name: baseline, model: sentiment, version: 1, weight: 90}
      - {name: candidate, model: sentiment, version: 2, weight: 10}
  - name: sentiment
    environment: staging
    variants:
      - {name: baseline, model: sentiment, version: 2, weight: 100}
)";

ServerProcess& canary_server() {
  static ServerProcess server(delivery_config(kCanaryDeployments));
  return server;
}

TEST(Routing, EveryAnswerSaysWhichDeploymentVariantVersionAndEnvironmentServedIt) {
  HttpClient client(canary_server().port());
  Response r = client.post("/predict?model=sentiment", kBody, {{"Content-Type", "application/json"}, {"X-Canary", "candidate"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-deployment"), "sentiment");
  EXPECT_EQ(r.header("x-environment"), "production");
  EXPECT_EQ(r.header("x-variant"), "candidate");
  EXPECT_EQ(r.header("x-model-version"), "2");
  auto body = r.json();
  EXPECT_STREQ(body["deployment"].GetString(), "sentiment");
  EXPECT_STREQ(body["environment"].GetString(), "production");
  EXPECT_STREQ(body["variant"].GetString(), "candidate");
  EXPECT_EQ(body["model_version"].GetInt(), 2);

  Response v2 = client.post("/v2/models/sentiment/infer",
                            R"({"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["a wonderful film"]}]})",
                            {{"Content-Type", "application/json"}, {"X-Canary", "baseline"}});
  ASSERT_EQ(v2.status, 200u) << v2.body;
  auto doc = v2.json();
  EXPECT_STREQ(doc["model_version"].GetString(), "1");
  EXPECT_STREQ(doc["parameters"]["deployment"].GetString(), "sentiment");
  EXPECT_STREQ(doc["parameters"]["variant"].GetString(), "baseline");
  EXPECT_STREQ(doc["parameters"]["environment"].GetString(), "production");
  EXPECT_EQ(v2.header("x-variant"), "baseline");
}

TEST(Routing, ARequestedVersionForcesTheVariantServingIt) {
  HttpClient client(canary_server().port());
  for (int i = 0; i < 20; ++i) {
    Response r = client.post("/predict?model=sentiment&model_version=2", kBody);
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("x-variant"), "candidate");
  }
  EXPECT_EQ(client.post("/v2/models/sentiment/versions/1/infer",
                        R"({"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["ok"]}]})")
                .header("x-variant"),
            "baseline");
  Response missing = client.post("/predict?model=sentiment&model_version=3", kBody);
  EXPECT_EQ(missing.status, 404u);
  EXPECT_NE(missing.body.find("no variant serving version 3"), std::string::npos);
  Response unknown = client.post("/predict?model=sentiment", kBody, {{"Content-Type", "application/json"}, {"X-Canary", "blue"}});
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_NE(unknown.body.find("X-Canary 'blue'"), std::string::npos);
}

TEST(Routing, XEnvironmentPicksThatEnvironmentsDeployment) {
  HttpClient client(canary_server().port());
  Response staging = client.post("/predict?model=sentiment", kBody, {{"Content-Type", "application/json"}, {"X-Environment", "staging"}});
  ASSERT_EQ(staging.status, 200u);
  EXPECT_EQ(staging.header("x-environment"), "staging");
  EXPECT_EQ(staging.header("x-model-version"), "2");
  Response unknown = client.post("/predict?model=sentiment", kBody, {{"Content-Type", "application/json"}, {"X-Environment", "qa"}});
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_NE(unknown.body.find("unknown environment 'qa'"), std::string::npos);
}

TEST(Routing, TheWeightedSplitMatchesTheWeightsOverTenThousandRequests) {
  Traffic traffic(canary_server().port(), "/predict?model=sentiment", 4, 10000);
  traffic.wait();
  auto served = traffic.variants();
  ASSERT_EQ(traffic.statuses()[200], 10000);
  const std::vector<double> observed{static_cast<double>(served["baseline"]), static_cast<double>(served["candidate"])};
  const std::vector<double> weights{90, 10};
  const TestResult fit = chi_squared_goodness_of_fit(observed, weights);
  EXPECT_GT(fit.p_value, 0.001) << "baseline " << observed[0] << ", candidate " << observed[1];
}

TEST(Routing, StickyRoutingNeverFlipsAUserWhileTheWeightsHold) {
  HttpClient client(canary_server().port());
  int on_candidate = 0;
  for (int user = 0; user < 300; ++user) {
    std::set<std::string> seen;
    for (int i = 0; i < 5; ++i) {
      Response r = client.post("/predict?model=sentiment", kBody,
                               {{"Content-Type", "application/json"}, {"X-User-Id", "user-" + std::to_string(user)}});
      ASSERT_EQ(r.status, 200u);
      seen.insert(r.header("x-variant"));
    }
    ASSERT_EQ(seen.size(), 1u) << "user " << user << " saw more than one variant";
    if (*seen.begin() == "candidate") ++on_candidate;
  }
  EXPECT_GT(on_candidate, 10);  // about 30 of 300 users at 10%
  EXPECT_LT(on_candidate, 60);
}

TEST(Routing, ANameThatIsNoDeploymentStillServesTheModelItself) {
  auto repo = make_temp_dir("seraph-direct");
  std::filesystem::copy(demo_models() / "cancer", repo / "cancer", std::filesystem::copy_options::recursive);
  std::filesystem::copy(delivery_repository() / "sentiment", repo / "sentiment", std::filesystem::copy_options::recursive);
  ServerProcess server(write_config(repo, "log:\n  access_log: false\n" + kCanaryDeployments));
  Response r = HttpClient(server.port()).post("/predict?model=cancer", R"({"features":[17.99,10.38,122.8,1001,0.1184,0.2776,0.3001,0.1471,0.2419,0.07871,1.095,0.9053,8.589,153.4,0.006399,0.04904,0.05373,0.01587,0.03003,0.006193,25.38,17.33,184.6,2019,0.1622,0.6656,0.7119,0.2654,0.4601,0.1189]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-deployment"), "");
  EXPECT_EQ(r.header("x-model-version"), "1");
}

TEST(Routing, AShadowGetsACopyAfterTheAnswerAndItsComparisonIsRecorded) {
  ServerProcess server(delivery_config(R"(deployments:
  - name: sentiment
    variants:
      - {name: baseline, model: sentiment, version: 1, weight: 100}
      - {name: shadow, model: sentiment, version: 2, weight: 100, role: shadow}
)"));
  HttpClient client(server.port());
  for (int i = 0; i < 50; ++i) {
    Response r = client.post("/predict?model=sentiment", kBody);
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("x-variant"), "baseline");
  }
  const std::string series = R"(seraph_shadow_comparisons_total\{deployment="sentiment",environment="production",variant="shadow",model="sentiment",version="2",result=")";
  ASSERT_TRUE(eventually([&] {
    const std::string text = client.get("/metrics").body;
    return sample(text, series + R"(agree"\})") + sample(text, series + R"(disagree"\})") == 50;
  }));
  EXPECT_EQ(metric(server.port(), series + R"(failed"\})"), 0);
  EXPECT_EQ(client.post("/predict?model=sentiment", kBody, {{"Content-Type", "application/json"}, {"X-Canary", "shadow"}}).status, 400u);
}

TEST(Routing, TheClientNeverWaitsForTheShadow) {
  // Deployment `slowdep`: the slow model's version 1 serves, version 2 (a copy) is the shadow.
  auto repo = make_temp_dir("seraph-shadow");
  write_slow_model(repo);
  std::filesystem::copy(repo / "slow" / "1", repo / "slow" / "2", std::filesystem::copy_options::recursive);
  ServerProcess server(write_config(repo, R"(deployments:
  - name: slowdep
    variants:
      - {name: baseline, model: slow, version: 1, weight: 100}
      - {name: shadow, model: slow, version: 2, weight: 100, role: shadow}
)"));
  const uint16_t port = server.port();
  // Keep the shadow's one execution thread busy for about 1.5 s with a request of its own.
  const int long_rounds = slow_rounds_for(port, std::chrono::milliseconds(1500));
  std::thread busy([&] { HttpClient(port).post("/v2/models/slow/versions/2/infer", slow_request(long_rounds)); });
  ASSERT_TRUE(
      eventually([&] { return metric(port, R"(seraph_model_inflight_requests\{model="slow",version="2"\})") == 1; }));

  const std::string series = R"(seraph_shadow_comparisons_total\{deployment="slowdep",environment="production",variant="shadow",model="slow",version="2",result="agree"\})";
  HttpClient client(port);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    Response r = client.post("/v2/models/slowdep/infer", slow_request(1));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-variant"), "baseline");
  }
  const auto answered_in = std::chrono::steady_clock::now() - start;
  const double compared_meanwhile = metric(port, series);
  busy.join();
  // All ten were answered while their shadow copies still waited behind the busy request.
  EXPECT_LT(answered_in, std::chrono::milliseconds(1000));
  EXPECT_LE(compared_meanwhile, 0);
  EXPECT_TRUE(eventually([&] { return metric(port, series) == 10; }));
}

TEST(FaultInjection, AbortsAndDelaysTheConfiguredShareOfAVariantsRequestsAndCountsThem) {
  ServerProcess server(delivery_config(R"(deployments:
  - name: sentiment
    variants:
      - {name: baseline, model: sentiment, version: 1, weight: 100, fault: {abort_percent: 100, abort_status: 503}}
)"));
  HttpClient client(server.port());
  Response aborted = client.post("/predict?model=sentiment", kBody);
  EXPECT_EQ(aborted.status, 503u);
  EXPECT_NE(aborted.body.find("fault injected"), std::string::npos);

  admin(server.port(), "PUT", "/admin/v1/deployments/sentiment/variants/baseline/fault",
        R"({"delay_ms": 80, "delay_percent": 100, "abort_percent": 0})", 200);
  const auto start = std::chrono::steady_clock::now();
  Response delayed = client.post("/predict?model=sentiment", kBody);
  EXPECT_EQ(delayed.status, 200u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(80));

  // The deadline still holds during an injected delay.
  Response late = client.post("/predict?model=sentiment", kBody, {{"Content-Type", "application/json"}, {"X-Request-Timeout-Ms", "20"}});
  EXPECT_EQ(late.status, 504u);

  const std::string faults = R"(seraph_faults_injected_total\{deployment="sentiment",environment="production",variant="baseline",model="sentiment",version="1",fault=")";
  EXPECT_EQ(metric(server.port(), faults + R"(abort",source="variant"\})"), 1);
  EXPECT_EQ(metric(server.port(), faults + R"(delay",source="variant"\})"), 2);
  admin(server.port(), "PUT", "/admin/v1/deployments/sentiment/variants/baseline/fault", R"({"abort_percent": 150})", 400);
  admin(server.port(), "PUT", "/admin/v1/deployments/sentiment/variants/nobody/fault", R"({"abort_percent": 1})", 404);
}

}  // namespace
}  // namespace seraph::test
