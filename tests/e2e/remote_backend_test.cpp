// Remote backends over the wire: a second seraph serves the demo models as a KServe V2 remote,
// and a deployment variant of the front server routes to it. Answers match local ones; when the
// remote is killed, stopped or restarted every request is answered by its deadline, health and
// ejection metrics move, and traffic returns.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "child_process.h"
#include "delivery_env.h"
#include "e2e_env.h"
#include "server_process.h"

namespace seraph::test {
namespace {

const std::string kBody = R"({"text":"what a wonderful, moving film"})";

// The front's config: backend `far` on `remote_port`; deployment `remote-sentiment` served by it
// with a local shadow, and `remote-shadow` served locally with a remote shadow. Health checks run
// every 100 ms but take an endpoint out only after 20 failures (2 s): the requests a test sends
// right after killing or stopping the remote must still reach it (to be ejected by their
// failures, or to fill max_pending), even on a loaded machine where they take longer than two
// checks.
std::string front_yaml(uint16_t remote_port) {
  return fmt::format(R"(backends:
  - name: far
    endpoints: ["127.0.0.1:{}"]
    connect_timeout_ms: 300
    request_timeout_ms: 5000
    max_pending: 2
    health_check: {{interval_ms: 100, timeout_ms: 300, unhealthy_threshold: 20}}
    outlier: {{consecutive_failures: 2, base_ejection_ms: 500}}
deployments:
  - name: remote-sentiment
    variants:
      - {{name: baseline, model: sentiment, version: 1, weight: 100, backend: far}}
      - {{name: shadow, model: sentiment, version: 1, weight: 100, role: shadow}}
  - name: remote-shadow
    variants:
      - {{name: baseline, model: sentiment, version: 1, weight: 100}}
      - {{name: shadow, model: sentiment, version: 1, weight: 100, role: shadow, backend: far}}
)",
                     remote_port);
}

// The local ports of this machine's TCP sockets in CLOSE_WAIT (the peer closed, we have not) to `port`.
std::set<std::string> close_wait_sockets_to(uint16_t port) {
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // the header
  const std::string remote_port = fmt::format(":{:04X}", port);
  std::set<std::string> found;
  while (std::getline(tcp, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (remote.size() > 5 && remote.substr(remote.size() - 5) == remote_port && state == "08") found.insert(local);
  }
  return found;
}

// Whether a socket to `port` stays in CLOSE_WAIT for 100 ms: an idle pooled connection the peer
// closed (a health check's socket passes through CLOSE_WAIT only for an instant).
bool has_idle_closed_socket_to(uint16_t port) {
  const std::set<std::string> before = close_wait_sockets_to(port);
  if (before.empty()) return false;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (const std::string& s : close_wait_sockets_to(port)) {
    if (before.count(s)) return true;
  }
  return false;
}

const std::string kFar = R"(backend="far",endpoint="127.0.0.1:[0-9]+")";

class RemoteBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    remote_config_ = delivery_config("");
    start_remote();
    front_ = std::make_unique<ServerProcess>(delivery_config(front_yaml(remote_port_)));
    ASSERT_TRUE(eventually([&] { return healthy() == 1; })) << "the remote never turned healthy";
  }
  void TearDown() override {
    if (remote_stopped_) ::kill(remote_->pid(), SIGCONT);
  }

  // The remote closes a kept-alive connection after 300 ms idle, as servers do.
  void start_remote() {
    remote_ = std::make_unique<ServerProcess>(remote_config_, std::vector<std::pair<std::string, std::string>>{
                                                                  {"SERAPH_SERVER_PORT", std::to_string(remote_port_)},
                                                                  {"SERAPH_SERVER_IDLE_TIMEOUT_MS", "300"}});
  }
  double healthy() { return metric(front_->port(), "seraph_backend_endpoint_healthy\\{" + kFar + "\\}"); }
  double ejections() { return metric(front_->port(), "seraph_backend_ejections_total\\{" + kFar + "\\}"); }
  Response predict(HttpClient& client, int timeout_ms = 2000) {
    return client.post("/predict?model=remote-sentiment", kBody,
                       {{"Content-Type", "application/json"}, {"X-Request-Timeout-Ms", std::to_string(timeout_ms)}});
  }
  // Sends `n` requests one after another; every one must be a 200 or a JSON 503/504 within its
  // deadline (plus slack for a loaded machine). Returns the count of 200s.
  int bounded_loop(int n, int timeout_ms) {
    HttpClient client(front_->port());
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      const auto start = std::chrono::steady_clock::now();
      Response r = predict(client, timeout_ms);
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      EXPECT_LE(took.count(), timeout_ms + 1000) << r.body;
      if (r.status == 200) {
        ++ok;
        continue;
      }
      EXPECT_TRUE(r.status == 503 || r.status == 504) << r.status << " " << r.body;
      EXPECT_TRUE(r.json().IsObject() && r.json().HasMember("error")) << r.body;
    }
    return ok;
  }

  uint16_t remote_port_ = testing::free_port();
  std::filesystem::path remote_config_;
  std::unique_ptr<ServerProcess> remote_;
  std::unique_ptr<ServerProcess> front_;
  bool remote_stopped_ = false;
};

TEST_F(RemoteBackend, AnswersTheSameAsTheLocalModel) {
  HttpClient client(front_->port());
  Response remote = predict(client);
  ASSERT_EQ(remote.status, 200u) << remote.body;
  Response local = client.post("/predict?model=sentiment&model_version=1", kBody);
  ASSERT_EQ(local.status, 200u) << local.body;
  auto r = remote.json();
  auto l = local.json();
  EXPECT_STREQ(r["label"].GetString(), l["label"].GetString());
  EXPECT_EQ(r["scores"], l["scores"]);
  EXPECT_STREQ(r["variant"].GetString(), "baseline");
  EXPECT_EQ(remote.header("x-deployment"), "remote-sentiment");

  const std::string v2 = R"({"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["a wonderful film"]}]})";
  auto rv = client.post("/v2/models/remote-sentiment/infer", v2).json();
  auto lv = client.post("/v2/models/sentiment/versions/1/infer", v2).json();
  ASSERT_TRUE(rv.HasMember("outputs"));
  EXPECT_EQ(rv["outputs"], lv["outputs"]);
  EXPECT_GE(metric(front_->port(), "seraph_backend_requests_total\\{" + kFar + ",outcome=\"success\"\\}"), 2);
}

TEST_F(RemoteBackend, APooledConnectionTheRemoteClosedIsReplacedUnseen) {
  HttpClient client(front_->port());
  ASSERT_EQ(predict(client).status, 200u);
  // Idle past the remote's idle timeout (300 ms): it closes the pooled connection, which waits in
  // CLOSE_WAIT on the front's side until the front uses it again.
  ASSERT_TRUE(eventually([&] { return has_idle_closed_socket_to(remote_port_); }));
  Response r = predict(client);
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(metric(front_->port(), "seraph_backend_requests_total\\{" + kFar + ",outcome=\"connect_failure\"\\}"), 0);
}

TEST_F(RemoteBackend, PassesTheRemotesClientErrorsThrough) {
  Response r = HttpClient(front_->port())
                   .post("/v2/models/remote-sentiment/infer",
                         R"({"inputs":[{"name":"nope","shape":[1],"datatype":"BYTES","data":["x"]}]})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("missing input 'text'"), std::string::npos) << r.body;
  EXPECT_EQ(ejections(), 0);
}

TEST_F(RemoteBackend, ShadowsCompareRemoteAndLocalAnswersEitherWay) {
  HttpClient client(front_->port());
  ASSERT_EQ(predict(client).status, 200u);
  ASSERT_EQ(client.post("/predict?model=remote-shadow", kBody).status, 200u);
  for (const char* deployment : {"remote-sentiment", "remote-shadow"}) {
    const std::string agree = fmt::format(
        R"(seraph_shadow_comparisons_total\{{deployment="{}",.*variant="shadow".*result="agree"\}})", deployment);
    EXPECT_TRUE(eventually([&] { return metric(front_->port(), agree) >= 1; })) << deployment;
  }
}

TEST_F(RemoteBackend, MetricsPassPromtool) {
  HttpClient client(front_->port());
  ASSERT_EQ(predict(client).status, 200u);
  EXPECT_EQ(promtool_findings(client.get("/metrics").body), "");
}

TEST_F(RemoteBackend, KilledRemoteIsEjectedAndMarkedUnhealthyThenTrafficReturnsAfterRestart) {
  ASSERT_EQ(bounded_loop(3, 1000), 3);
  remote_->stop(SIGKILL);
  bounded_loop(5, 500);
  EXPECT_TRUE(eventually([&] { return ejections() >= 1; })) << "connect failures never ejected the endpoint";
  EXPECT_TRUE(eventually([&] { return healthy() == 0; }));
  EXPECT_EQ(bounded_loop(3, 500), 0);
  start_remote();
  EXPECT_TRUE(eventually([&] { return healthy() == 1; }));
  EXPECT_TRUE(eventually([&] { return bounded_loop(1, 1000) == 1; })) << "traffic never returned after the restart";
}

TEST_F(RemoteBackend, StoppedRemoteAnswersByTheDeadlineAndPendingCallsAreBounded) {
  HttpClient warm(front_->port());
  ASSERT_EQ(predict(warm).status, 200u);
  testing::stop_child(remote_->pid(), std::chrono::steady_clock::now() + std::chrono::seconds(5));
  remote_stopped_ = true;
  // Two calls hang on the stopped remote: max_pending (2) is reached and the next is refused at once.
  std::vector<std::thread> hanging;
  std::vector<unsigned> statuses(2);
  for (int i = 0; i < 2; ++i) {
    hanging.emplace_back([&, i] {
      HttpClient client(front_->port());
      statuses[i] = predict(client, 1500).status;
    });
  }
  const std::string pending = "seraph_backend_pending_requests\\{backend=\"far\"\\}";
  if (eventually([&] { return metric(front_->port(), pending) == 2; }, 5)) {
    HttpClient client(front_->port());
    Response refused = predict(client, 1500);
    EXPECT_EQ(refused.status, 503u);
    EXPECT_NE(refused.body.find("max_pending"), std::string::npos) << refused.body;
  } else {
    ADD_FAILURE() << "the two calls never were pending together";
  }
  for (auto& t : hanging) t.join();
  for (unsigned s : statuses) EXPECT_EQ(s, 504u);
  EXPECT_TRUE(eventually([&] { return healthy() == 0; })) << "failed health checks never marked the endpoint unhealthy";
  bounded_loop(3, 300);
  ::kill(remote_->pid(), SIGCONT);
  remote_stopped_ = false;
  EXPECT_TRUE(eventually([&] { return healthy() == 1; }));
  EXPECT_TRUE(eventually([&] { return bounded_loop(1, 1000) == 1; })) << "traffic never returned after SIGCONT";
}

}  // namespace
}  // namespace seraph::test
