// Circuit breakers over the wire. A front seraph serves a deployment from a remote backend with
// two endpoints (two more seraphs), one made slow by its own injected delay: the slow endpoint's
// breaker opens and traffic goes to the other, which the admin API, the metrics and the event log
// show, and a reset brings it back. A local version whose requests fail (an injected abort runs
// after the breaker, so it counts as the backend's failure) has its circuit opened: then it is
// answered 503 at once, with Retry-After, and the version is not called.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <fmt/format.h>

#include "child_process.h"
#include "delivery_env.h"
#include "e2e_env.h"
#include "server_process.h"

namespace seraph::test {
namespace {

const std::string kBody = R"({"text":"what a wonderful, moving film"})";

// Short windows and a long open time, so a circuit opens after a few calls and stays open while
// the test looks at it.
const std::string kBreakerSettings = R"(guards:
  circuit_breaker:
    window_size: 10
    minimum_calls: 4
    failure_rate_percent: 50
    slow_call_ms: 150
    slow_call_rate_percent: 50
    open_ms: 600000
    half_open_calls: 1
)";

// The state of breaker `name` from /metrics: 0 closed, 1 open, 2 half-open; -1 when not listed.
double breaker_state(uint16_t port, const std::string& name) {
  return metric(port, R"(seraph_circuit_breaker_state\{breaker=")" + name + R"("\})");
}

// The breaker named `name` in GET /admin/v1/circuit-breakers; null when not listed.
const rapidjson::Value* find_breaker(const rapidjson::Document& listing, const std::string& name) {
  for (const auto& b : listing["circuit_breakers"].GetArray()) {
    if (b["name"].GetString() == name) return &b;
  }
  return nullptr;
}

class RemoteCircuitBreaker : public ::testing::Test {
 protected:
  void SetUp() override {
    // The slow endpoint's model waits 300 ms per request (its own fault injection), twice the
    // front's slow-call threshold.
    slow_ = std::make_unique<ServerProcess>(delivery_config(R"(deployments:
  - name: sentiment
    variants:
      - {name: baseline, model: sentiment, version: 1, weight: 100, fault: {delay_ms: 300, delay_percent: 100}}
)"),
                                            std::vector<std::pair<std::string, std::string>>{
                                                {"SERAPH_SERVER_PORT", std::to_string(slow_port_)}});
    fast_ = std::make_unique<ServerProcess>(delivery_config(kSentimentV1),
                                            std::vector<std::pair<std::string, std::string>>{
                                                {"SERAPH_SERVER_PORT", std::to_string(fast_port_)}});
    front_ = std::make_unique<ServerProcess>(delivery_config(fmt::format(R"(backends:
  - name: far
    endpoints: ["127.0.0.1:{}", "127.0.0.1:{}"]
    request_timeout_ms: 5000
    health_check: {{interval_ms: 100, timeout_ms: 1000}}
deployments:
  - name: remote-sentiment
    variants:
      - {{name: baseline, model: sentiment, version: 1, weight: 100, backend: far}}
)",
                                                                          slow_port_, fast_port_) +
                                                              kBreakerSettings));
    ASSERT_TRUE(eventually([&] {
      return metric(front_->port(), R"(seraph_backend_endpoint_healthy\{backend="far",endpoint="127.0.0.1:)" +
                                        std::to_string(slow_port_) + R"("\})") == 1 &&
             metric(front_->port(), R"(seraph_backend_endpoint_healthy\{backend="far",endpoint="127.0.0.1:)" +
                                        std::to_string(fast_port_) + R"("\})") == 1;
    })) << "the endpoints never turned healthy";
  }

  Response predict(HttpClient& client) {
    return client.post("/predict?model=remote-sentiment", kBody, {{"Content-Type", "application/json"}});
  }
  // Successful calls the front made to endpoint `port`.
  double calls_to(uint16_t port) {
    return metric(front_->port(), R"(seraph_backend_requests_total\{backend="far",endpoint="127.0.0.1:)" +
                                      std::to_string(port) + R"(",outcome="success"\})");
  }

  const uint16_t slow_port_ = testing::free_port();
  const uint16_t fast_port_ = testing::free_port();
  const std::string slow_breaker_ = "backend:far:127.0.0.1:" + std::to_string(slow_port_);
  const std::string fast_breaker_ = "backend:far:127.0.0.1:" + std::to_string(fast_port_);
  std::unique_ptr<ServerProcess> slow_;
  std::unique_ptr<ServerProcess> fast_;
  std::unique_ptr<ServerProcess> front_;
};

TEST_F(RemoteCircuitBreaker, ASlowEndpointsCircuitOpensAndTrafficGoesToTheOtherUntilReset) {
  const uint16_t port = front_->port();
  HttpClient client(port);
  // Round robin: every other call goes to the slow endpoint until its circuit opens.
  ASSERT_TRUE(eventually([&] {
    EXPECT_EQ(predict(client).status, 200u);
    return breaker_state(port, slow_breaker_) == 1;
  })) << "the slow endpoint's circuit never opened";
  EXPECT_EQ(breaker_state(port, fast_breaker_), 0);

  // Now every call goes to the fast endpoint, and none waits for the slow one.
  const double slow_before = calls_to(slow_port_);
  const double fast_before = calls_to(fast_port_);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(predict(client).status, 200u);
  EXPECT_EQ(calls_to(slow_port_), slow_before);
  EXPECT_EQ(calls_to(fast_port_), fast_before + 10);

  // The admin API lists both, with the rates that opened the slow one and when it probes again.
  rapidjson::Document listing = admin(port, "GET", "/admin/v1/circuit-breakers", "", 200);
  const rapidjson::Value* slow = find_breaker(listing, slow_breaker_);
  const rapidjson::Value* fast = find_breaker(listing, fast_breaker_);
  ASSERT_TRUE(slow && fast);
  EXPECT_STREQ((*slow)["state"].GetString(), "open");
  EXPECT_GE((*slow)["slow_rate_percent"].GetDouble(), 50.0);
  EXPECT_GE((*slow)["calls"].GetInt(), 4);
  EXPECT_TRUE((*slow)["opened_at_ms"].IsInt64());
  EXPECT_GT((*slow)["next_probe_ms"].GetInt64(), (*slow)["opened_at_ms"].GetInt64());
  EXPECT_STREQ((*fast)["state"].GetString(), "closed");
  EXPECT_TRUE((*fast)["next_probe_ms"].IsNull());
  EXPECT_EQ(metric(port, R"(seraph_circuit_breaker_transitions_total\{breaker=")" + slow_breaker_ + R"(",to="open"\})"),
            1);

  // The change is in the event log (written off the I/O thread, so it may take a moment).
  EXPECT_TRUE(eventually([&] {
    rapidjson::Document events =
        admin(port, "GET", "/admin/v1/events?subject=circuit_breaker/" + slow_breaker_, "", 200);
    for (const auto& e : events["events"].GetArray()) {
      if (std::string(e["kind"].GetString()) == "circuit_breaker.open") return true;
    }
    return false;
  })) << "no circuit_breaker.open event";

  // A reset closes it: the slow endpoint takes calls again.
  admin(port, "POST", "/admin/v1/circuit-breakers/" + slow_breaker_ + "/reset", "", 200);
  EXPECT_EQ(breaker_state(port, slow_breaker_), 0);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(predict(client).status, 200u);
  EXPECT_GT(calls_to(slow_port_), slow_before);
  admin(port, "POST", "/admin/v1/circuit-breakers/backend:far:nowhere/reset", "", 404);
  admin(port, "GET", "/admin/v1/circuit-breakers/" + slow_breaker_ + "/reset", "", 405);
}

TEST(LocalCircuitBreaker, AFailingVersionsCircuitOpensAndIsAnswered503AtOnceWithoutCallingIt) {
  ServerProcess server(delivery_config(R"(deployments:
  - name: sentiment
    variants:
      - {name: baseline, model: sentiment, version: 1, weight: 100, fault: {abort_percent: 100, abort_status: 500}}
)" + kBreakerSettings));
  const uint16_t port = server.port();
  HttpClient client(port);
  for (int i = 0; i < 4; ++i) {
    Response r = client.post("/predict?model=sentiment", kBody);
    EXPECT_EQ(r.status, 500u) << r.body;
    EXPECT_NE(r.body.find("fault injected"), std::string::npos) << r.body;
  }
  EXPECT_EQ(breaker_state(port, "model:sentiment:1"), 1);

  Response refused = client.post("/predict?model=sentiment", kBody);
  EXPECT_EQ(refused.status, 503u);
  ASSERT_TRUE(refused.json().IsObject()) << refused.body;
  const std::string message = refused.json()["error"].GetString();
  EXPECT_NE(message.find("model 'sentiment' version 1"), std::string::npos) << message;
  EXPECT_NE(message.find("circuit breaker is open"), std::string::npos) << message;
  EXPECT_GE(std::stoi(refused.header("retry-after")), 599) << "open_ms is 600 s";
  // The fault guard, after the breaker, saw only the four calls that went through.
  EXPECT_EQ(metric(port, R"(seraph_faults_injected_total\{deployment="sentiment",.*fault="abort",source="variant"\})"), 4);
  EXPECT_EQ(metric(port, R"(seraph_circuit_breaker_rejected_total\{breaker="model:sentiment:1"\})"), 1);

  admin(port, "POST", "/admin/v1/circuit-breakers/model:sentiment:1/reset", "", 200);
  EXPECT_EQ(client.post("/predict?model=sentiment", kBody).status, 500u) << "closed again: the call goes through";
}

}  // namespace
}  // namespace seraph::test
