// Retries and hedging over the wire: a front seraph whose deployment is served by a remote backend
// of two seraph endpoints, one of which misbehaves through its own fault injection. A failing
// endpoint's answers are retried on the other, so every client request succeeds; a slow endpoint's
// calls are hedged on the other, so the tail latency stays below its delay.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "delivery_env.h"
#include "e2e_env.h"
#include "server_process.h"

namespace seraph::test {
namespace {

const std::string kBody = R"({"text":"what a wonderful, moving film"})";

// A remote whose sentiment version 1 is a deployment variant with `fault` (a YAML flow mapping).
std::filesystem::path faulty_remote_config(const std::string& fault) {
  return delivery_config(fmt::format(R"(deployments:
  - name: sentiment
    variants:
      - {{name: baseline, model: sentiment, version: 1, weight: 100, fault: {}}}
)",
                                     fault));
}

// The front: deployment `remote-sentiment` on backend `far` of both remotes; `retry` is the
// guards.retry section. Outlier ejection is off so that the faulty endpoint keeps its turn.
std::filesystem::path front_config(uint16_t good, uint16_t faulty, const std::string& retry) {
  return delivery_config(fmt::format(R"(backends:
  - name: far
    endpoints: ["127.0.0.1:{}", "127.0.0.1:{}"]
    request_timeout_ms: 5000
    health_check: {{interval_ms: 100, timeout_ms: 300}}
    outlier: {{consecutive_failures: 1000000}}
deployments:
  - name: remote-sentiment
    variants:
      - {{name: baseline, model: sentiment, version: 1, weight: 100, backend: far}}
guards:
  retry:
{}
)",
                                     good, faulty, retry));
}

class Retry : public ::testing::Test {
 protected:
  // Starts the good remote, the faulty one (with `fault`) and the front (with guards.retry `retry`),
  // and waits until the front sees both endpoints healthy.
  void start(const std::string& fault, const std::string& retry) {
    good_ = std::make_unique<ServerProcess>(delivery_config(""));
    faulty_ = std::make_unique<ServerProcess>(faulty_remote_config(fault));
    front_ = std::make_unique<ServerProcess>(front_config(good_->port(), faulty_->port(), retry));
    ASSERT_TRUE(eventually([&] { return healthy(good_->port()) && healthy(faulty_->port()); }))
        << "the remotes never turned healthy";
  }
  bool healthy(uint16_t endpoint) {
    return metric(front_->port(), fmt::format(R"(seraph_backend_endpoint_healthy\{{backend="far",endpoint="127.0.0.1:{}"\}})",
                                              endpoint)) == 1;
  }
  Response predict(HttpClient& client) {
    return client.post("/predict?model=remote-sentiment", kBody,
                       {{"Content-Type", "application/json"}, {"X-Request-Timeout-Ms", "3000"}});
  }

  std::unique_ptr<ServerProcess> good_;
  std::unique_ptr<ServerProcess> faulty_;
  std::unique_ptr<ServerProcess> front_;
};

TEST_F(Retry, AnEndpointAnswering503IsRetriedOnTheOtherAndEveryRequestSucceeds) {
  start("{abort_percent: 100, abort_status: 503}", "    backoff_base_ms: 5\n    backoff_max_ms: 20");
  HttpClient client(front_->port());
  int retried = 0;
  for (int i = 0; i < 40; ++i) {
    Response r = predict(client);
    ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.body;
    const std::string count = r.header("x-retry-count");
    if (count.empty()) continue;
    EXPECT_EQ(count, "1") << "the retry went to the good endpoint";
    ++retried;
  }
  // The endpoints take turns (a retry takes one too): at least every other request met the faulty one first.
  EXPECT_GE(retried, 10);
  EXPECT_EQ(metric(front_->port(), R"(seraph_retries_total\{backend="far",reason="503"\})"), retried);
  EXPECT_GE(metric(faulty_->port(), R"(seraph_faults_injected_total\{[^}]*fault="abort",source="variant"\})"), retried)
      << "the faulty remote really failed them";
}

TEST_F(Retry, WithRetriesOffTheFaultyEndpointsAnswersReachTheClient) {
  start("{abort_percent: 100, abort_status: 503}", "    enabled: false");
  HttpClient client(front_->port());
  int failed = 0;
  for (int i = 0; i < 10; ++i) {
    Response r = predict(client);
    EXPECT_EQ(r.header("x-retry-count"), "");
    failed += r.status == 503;
  }
  EXPECT_GE(failed, 3);
}

TEST_F(Retry, ASlowEndpointsCallsAreHedgedAndTheTailStaysBelowItsDelay) {
  start("{delay_ms: 600, delay_percent: 100}", "    hedge:\n      enabled: true\n      delay: 50");
  HttpClient client(front_->port());
  std::vector<double> took;
  int hedged = 0;
  for (int i = 0; i < 30; ++i) {
    const auto begin = std::chrono::steady_clock::now();
    Response r = predict(client);
    took.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count());
    ASSERT_EQ(r.status, 200u) << r.body;
    hedged += r.header("x-hedged") == "1";
  }
  std::sort(took.begin(), took.end());
  EXPECT_LT(took[took.size() * 99 / 100], 600) << "p99 under the slow endpoint's delay";
  EXPECT_GE(hedged, 10) << "the endpoints take turns: at least every other request met the slow one first";
  EXPECT_EQ(metric(front_->port(), R"(seraph_hedges_total\{backend="far",outcome="won"\})"), hedged);
  EXPECT_GE(metric(front_->port(), R"(seraph_hedges_total\{backend="far",outcome="sent"\})"), hedged);
}

}  // namespace
}  // namespace seraph::test
