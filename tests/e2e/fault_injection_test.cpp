// Fault injection over the wire: the request's own fault headers, honoured only where the config
// allows them; a deployment's faults changed through the admin API at run time; a remote backend's
// faults (the backend is a second seraph), from the config and the admin API; every fault counted.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "child_process.h"
#include "delivery_env.h"
#include "e2e_env.h"
#include "server_process.h"

namespace seraph::test {
namespace {

const std::string kBody = R"({"text":"a wonderful film"})";
const std::string kJson = "application/json";

// The series of seraph_faults_injected_total for the baseline of deployment `deployment`, version 1.
std::string injected(const std::string& deployment, const std::string& fault, const std::string& source) {
  return fmt::format(
      R"(seraph_faults_injected_total\{{deployment="{}",environment="production",variant="baseline",model="sentiment",version="1",fault="{}",source="{}"\}})",
      deployment, fault, source);
}

TEST(FaultInjection, RequestHeadersAskForFaultsOnlyWhereTheConfigAllowsThem) {
  const std::vector<std::pair<std::string, std::string>> abort = {{"Content-Type", kJson},
                                                                  {"X-Seraph-Fault-Abort", "429"}};
  ServerProcess closed(delivery_config(kSentimentV1));
  EXPECT_EQ(HttpClient(closed.port()).post("/predict?model=sentiment", kBody, abort).status, 200u)
      << "without guards.fault_injection.allow_request_headers the header is ignored";

  ServerProcess open(delivery_config(kSentimentV1 + "guards:\n  fault_injection:\n    allow_request_headers: true\n"));
  HttpClient client(open.port());
  Response aborted = client.post("/predict?model=sentiment", kBody, abort);
  EXPECT_EQ(aborted.status, 429u);
  EXPECT_TRUE(aborted.json().HasMember("error")) << aborted.body;
  EXPECT_NE(aborted.body.find("X-Seraph-Fault-Abort"), std::string::npos) << aborted.body;

  const auto start = std::chrono::steady_clock::now();
  Response delayed =
      client.post("/predict?model=sentiment", kBody, {{"Content-Type", kJson}, {"X-Seraph-Fault-Delay-Ms", "150"}});
  EXPECT_EQ(delayed.status, 200u) << delayed.body;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  // The deadline answers in time, a header delay or not.
  Response late =
      client.post("/predict?model=sentiment", kBody,
                  {{"Content-Type", kJson}, {"X-Seraph-Fault-Delay-Ms", "5000"}, {"X-Request-Timeout-Ms", "50"}});
  EXPECT_EQ(late.status, 504u);

  Response bad =
      client.post("/predict?model=sentiment", kBody, {{"Content-Type", kJson}, {"X-Seraph-Fault-Abort", "418"}});
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("X-Seraph-Fault-Abort must be"), std::string::npos) << bad.body;

  EXPECT_EQ(metric(open.port(), injected("sentiment", "abort", "header")), 1);
  EXPECT_EQ(metric(open.port(), injected("sentiment", "delay", "header")), 2);
  EXPECT_EQ(metric(closed.port(), injected("sentiment", "abort", "header")), 0);
}

TEST(FaultInjection, ADeploymentsFaultSetThroughTheAdminApiChangesItsAnswersAtRunTime) {
  ServerProcess server(delivery_config(kSentimentV1));
  HttpClient client(server.port());
  ASSERT_EQ(client.post("/predict?model=sentiment", kBody).status, 200u);

  auto set = admin(server.port(), "PUT", "/admin/v1/deployments/sentiment/fault",
                   R"({"abort_percent": 100, "abort_status": 500})", 200);
  EXPECT_EQ(set["fault"]["abort_percent"].GetDouble(), 100);
  Response aborted = client.post("/predict?model=sentiment", kBody);
  EXPECT_EQ(aborted.status, 500u);
  EXPECT_NE(aborted.body.find("fault injected: deployment 'sentiment'"), std::string::npos) << aborted.body;
  EXPECT_EQ(metric(server.port(), injected("sentiment", "abort", "deployment")), 1);

  auto events = admin(server.port(), "GET", "/admin/v1/events?subject=deployment/production/sentiment", "", 200);
  bool logged = false;
  for (const auto& e : events["events"].GetArray()) logged |= std::string(e["kind"].GetString()) == "fault.set";
  EXPECT_TRUE(logged);

  admin(server.port(), "PUT", "/admin/v1/deployments/sentiment/fault", "{}", 200);
  EXPECT_EQ(client.post("/predict?model=sentiment", kBody).status, 200u);
  admin(server.port(), "PUT", "/admin/v1/deployments/sentiment/fault", R"({"abort_status": 418})", 400);
  admin(server.port(), "PUT", "/admin/v1/deployments/nobody/fault", "{}", 404);
}

TEST(FaultInjection, ARemoteBackendsFaultsComeFromTheConfigAndTheAdminApiAndAreCounted) {
  const uint16_t remote_port = testing::free_port();
  ServerProcess remote(delivery_config(""), {{"SERAPH_SERVER_PORT", std::to_string(remote_port)}});
  ServerProcess front(delivery_config(fmt::format(R"(backends:
  - name: far
    endpoints: ["127.0.0.1:{}"]
    fault: {{abort_percent: 100, abort_status: 503}}
deployments:
  - name: remote-sentiment
    variants:
      - {{name: baseline, model: sentiment, version: 1, weight: 100, backend: far}}
)",
                                                  remote_port)));
  HttpClient client(front.port());
  const std::string far_requests = R"(seraph_backend_requests_total\{backend="far".*outcome="success"\})";
  Response aborted = client.post("/predict?model=remote-sentiment", kBody);
  EXPECT_EQ(aborted.status, 503u);
  EXPECT_NE(aborted.body.find("fault injected: backend 'far'"), std::string::npos) << aborted.body;
  EXPECT_EQ(metric(front.port(), injected("remote-sentiment", "abort", "backend")), 1);
  EXPECT_LE(metric(front.port(), far_requests), 0) << "an aborted request never reaches the backend";

  auto got = admin(front.port(), "GET", "/admin/v1/backends/far/fault", "", 200);
  EXPECT_EQ(got["fault"]["abort_status"].GetInt(), 503);
  admin(front.port(), "DELETE", "/admin/v1/backends/far/fault", "", 200);
  ASSERT_TRUE(
      eventually([&] { return metric(front.port(), R"(seraph_backend_endpoint_healthy\{backend="far".*\})") == 1; }));
  Response served = client.post("/predict?model=remote-sentiment", kBody);
  EXPECT_EQ(served.status, 200u) << served.body;

  admin(front.port(), "PUT", "/admin/v1/backends/far/fault", R"({"delay_ms": 100, "delay_percent": 100})", 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.post("/predict?model=remote-sentiment", kBody).status, 200u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_EQ(metric(front.port(), injected("remote-sentiment", "delay", "backend")), 1);

  admin(front.port(), "PUT", "/admin/v1/backends/far/fault", R"({"delay_percent": 101})", 400);
  admin(front.port(), "PUT", "/admin/v1/backends/near/fault", "{}", 404);
  auto events = admin(front.port(), "GET", "/admin/v1/events?subject=backend/far", "", 200);
  EXPECT_EQ(events["events"].GetArray().Size(), 2u) << "cleared, then set; what was refused changed nothing";
}

}  // namespace
}  // namespace seraph::test
