// Rollouts against the real server and real models, with faults injected into the candidate
// through the fault-injection guard: a bad candidate is rolled back automatically, a good one is
// promoted, and the registry keeps every step and decision across kill -9.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "delivery_env.h"
#include "e2e_env.h"
#include "postgres_server.h"
#include "server_process.h"

namespace seraph::test {
namespace {

// Baseline sentiment v1; candidate v3, an identical copy of v1, waiting at weight 0 with `fault`.
std::string deployment_with_candidate(const std::string& baseline_fault, const std::string& candidate_fault) {
  return R"(deployments:
  - name: sentiment
    variants:
      - {name: baseline, model: sentiment, version: 1, weight: 100, fault: )" + baseline_fault + R"(}
      - {name: candidate, model: sentiment, version: 3, weight: 0, role: candidate, fault: )" + candidate_fault + R"(}
)";
}

std::string canary(const std::string& steps, int step_min_ms, int step_min_requests, const std::string& analysis = "{}") {
  return R"({"deployment": "sentiment", "strategy": "canary", "candidate": {"model": "sentiment", "version": 3},
             "steps": )" + steps + R"(, "step_min_ms": )" + std::to_string(step_min_ms) +
         R"(, "step_min_requests": )" + std::to_string(step_min_requests) + R"(, "analysis": )" + analysis + "}";
}

int64_t start(uint16_t port, const std::string& body) {
  auto doc = admin(port, "POST", "/admin/v1/rollouts", body, 201);
  EXPECT_TRUE(doc.IsObject());
  return doc.IsObject() ? doc["id"].GetInt64() : 0;
}

// Starts the rollout and sends traffic from `threads` clients until it ends; returns its record.
rapidjson::Document run_under_traffic(uint16_t port, const std::string& body, int threads, int64_t* id = nullptr) {
  const int64_t started = start(port, body);
  if (id) *id = started;
  Traffic traffic(port, "/predict?model=sentiment", threads);
  return wait_for_rollout_end(port, started);
}

std::string state_of(const rapidjson::Document& doc) { return doc.IsObject() ? doc["rollout"]["state"].GetString() : "?"; }

// The (variant -> weight) of the deployment's live traffic.
std::map<std::string, double> weights(uint16_t port) {
  auto doc = HttpClient(port).get("/admin/v1/deployments/sentiment").json();
  std::map<std::string, double> out;
  for (const auto& v : doc["deployment"]["variants"].GetArray()) out[v["name"].GetString()] = v["weight"].GetDouble();
  return out;
}

// The events of `subject`, oldest first.
rapidjson::Document events(uint16_t port, const std::string& subject) {
  return HttpClient(port).get("/admin/v1/events?limit=1000&subject=" + subject).json();
}

TEST(Rollout, ACandidateWithFivePercentErrorsIsRolledBackHavingServedAtMostFiveHundredRequests) {
  // The controller looks every 20 ms: how many requests pass between two looks then depends little
  // on how fast the server answers.
  ServerProcess server(
      delivery_config(deployment_with_candidate("{abort_percent: 0.1}", "{abort_percent: 5}"), /*tick_interval_ms=*/20));
  int64_t id = 0;
  auto done = run_under_traffic(server.port(), canary("[10, 25, 50]", 1000, 200), 4, &id);
  ASSERT_EQ(state_of(done), "rolled_back");
  EXPECT_NE(std::string(done["rollout"]["reason"].GetString()).find("error rate"), std::string::npos);
  EXPECT_LE(variant_requests(server.port(), "candidate"), 500);
  EXPECT_EQ(weights(server.port()), (std::map<std::string, double>{{"baseline", 100}}));

  // The decision is in the event log with its statistics.
  auto log = events(server.port(), "rollout/" + std::to_string(id));
  const auto& last = log["events"].GetArray()[log["events"].Size() - 1];
  EXPECT_STREQ(last["kind"].GetString(), "rollout.rolled_back");
  EXPECT_STREQ(last["actor"].GetString(), "rollout-controller");
  EXPECT_LT(last["details"]["error_test"]["p_value"].GetDouble(), last["details"]["alpha_per_test"].GetDouble());
  EXPECT_GT(last["details"]["candidate"]["errors"].GetInt64(), 0);
}

TEST(Rollout, ACandidateThirtyPercentSlowerAtTheMedianIsRolledBack) {
  // Both variants are held back by injected delays: 10 ms for the baseline, 13 ms for the candidate.
  ServerProcess server(delivery_config(
      deployment_with_candidate("{delay_ms: 10, delay_percent: 100}", "{delay_ms: 13, delay_percent: 100}")));
  auto done = run_under_traffic(server.port(), canary("[20, 50]", 1000, 200), 8);
  ASSERT_EQ(state_of(done), "rolled_back");
  EXPECT_NE(std::string(done["rollout"]["reason"].GetString()).find("latency"), std::string::npos) << done["rollout"]["reason"].GetString();
}

TEST(Rollout, AnIdenticalCandidateIsPromotedToAllTraffic) {
  ServerProcess server(delivery_config(deployment_with_candidate("{}", "{}")));
  int64_t id = 0;
  auto done = run_under_traffic(server.port(), canary("[10, 50]", 300, 100), 4, &id);
  ASSERT_EQ(state_of(done), "succeeded") << HttpClient(server.port()).get("/admin/v1/events?subject=rollout/" + std::to_string(id)).body;
  EXPECT_EQ(weights(server.port()), (std::map<std::string, double>{{"baseline", 100}}));
  Response r = HttpClient(server.port()).post("/predict?model=sentiment", R"({"text":"fine"})");
  EXPECT_EQ(r.header("x-model-version"), "3");
  // The progress is in the metrics too, which Prometheus can read.
  const std::string metrics = HttpClient(server.port()).get("/metrics").body;
  EXPECT_EQ(promtool_findings(metrics), "");
  const std::string variant = R"({deployment="sentiment",environment="production",variant=")";
  EXPECT_EQ(sample(metrics, R"(seraph_variant_weight\)" + variant + R"(baseline",model="sentiment",version="3"\})"), 100);
  EXPECT_EQ(sample(metrics, R"(seraph_variant_weight\)" + variant + R"(candidate",model="sentiment",version="3"\})"), 0);
  EXPECT_EQ(sample(metrics, R"(seraph_rollout_events_total\{deployment="sentiment",environment="production",event="rollout.succeeded"\})"), 1);
  // Started, one step, promoted: each step and decision recorded.
  auto log = events(server.port(), "rollout/" + std::to_string(id));
  std::vector<std::string> kinds;
  for (const auto& e : log["events"].GetArray()) kinds.emplace_back(e["kind"].GetString());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "rollout.step"), kinds.end());
  EXPECT_EQ(kinds.back(), "rollout.succeeded");
}

TEST(Rollout, BlueGreenSwitchesAllTrafficAtOnceAndKeepsThePreviousVersionForAnInstantRollback) {
  ServerProcess server(delivery_config(deployment_with_candidate("{}", "{}")));
  const int64_t id = start(server.port(), R"({"deployment": "sentiment", "strategy": "blue_green",
      "candidate": {"model": "sentiment", "version": 3}, "keep_previous_ms": 600000})");
  HttpClient client(server.port());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(client.post("/predict?model=sentiment", R"({"text":"ok"})").header("x-model-version"), "3");
  EXPECT_EQ(weights(server.port()), (std::map<std::string, double>{{"baseline", 0}, {"candidate", 100}}));
  admin(server.port(), "POST", "/admin/v1/rollouts/" + std::to_string(id) + "/rollback", "", 200);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(client.post("/predict?model=sentiment", R"({"text":"ok"})").header("x-model-version"), "1");
}

TEST(Rollout, BlueGreenFinishesOnceThePreviousVersionsStandbyIsOver) {
  ServerProcess server(delivery_config(deployment_with_candidate("{}", "{}")));
  const int64_t id = start(server.port(), R"({"deployment": "sentiment", "strategy": "blue_green",
      "candidate": {"model": "sentiment", "version": 3}, "keep_previous_ms": 300})");
  EXPECT_EQ(state_of(wait_for_rollout_end(server.port(), id, 10)), "succeeded");
  EXPECT_EQ(weights(server.port()), (std::map<std::string, double>{{"baseline", 100}}));
}

// Sentiment version 1 serving; version 3 a lazy copy of it, not loaded yet; version 4 lazy and
// broken.
std::filesystem::path lazy_candidates_repository() {
  auto repo = make_temp_dir("seraph-blue-green");
  const auto sentiment = delivery_repository() / "sentiment";
  std::filesystem::create_directories(repo / "sentiment");
  for (const char* v : {"1", "3", "4"}) std::filesystem::copy(sentiment / "1", repo / "sentiment" / v, std::filesystem::copy_options::recursive);
  for (const char* v : {"3", "4"}) std::ofstream(repo / "sentiment" / v / "model.yaml", std::ios::app) << "load: lazy\n";
  write_file(repo / "sentiment" / "4" / "model.bin", "not a fastText model");
  return repo;
}

TEST(Rollout, BlueGreenLoadsAndWarmsUpACandidateBeforeMovingAnyTraffic) {
  ServerProcess server(write_config(lazy_candidates_repository(), "control:\n  tick_interval_ms: 100\n" + kSentimentV1));
  const uint16_t port = server.port();
  const int64_t id = start(port, R"({"deployment": "sentiment", "strategy": "blue_green",
      "candidate": {"model": "sentiment", "version": 3}, "keep_previous_ms": 600000})");
  ASSERT_TRUE(eventually([&] {
    return HttpClient(port).get("/admin/v1/rollouts/" + std::to_string(id)).json()["rollout"]["step_index"].GetInt() == 1;
  }));
  EXPECT_EQ(HttpClient(port).post("/predict?model=sentiment", R"({"text":"ok"})").header("x-model-version"), "3");
  auto log = events(port, "rollout/" + std::to_string(id));
  EXPECT_STREQ(log["events"][0]["kind"].GetString(), "rollout.switched");
}

TEST(Rollout, BlueGreenEndsWithoutMovingTrafficWhenTheCandidateFailsToLoad) {
  ServerProcess server(write_config(lazy_candidates_repository(), "control:\n  tick_interval_ms: 100\n" + kSentimentV1));
  const uint16_t port = server.port();
  const int64_t id = start(port, R"({"deployment": "sentiment", "strategy": "blue_green",
      "candidate": {"model": "sentiment", "version": 4}})");
  auto done = wait_for_rollout_end(port, id, 30);
  ASSERT_EQ(state_of(done), "rolled_back");
  EXPECT_NE(std::string(done["rollout"]["reason"].GetString()).find("failed to load"), std::string::npos);
  EXPECT_EQ(HttpClient(port).post("/predict?model=sentiment", R"({"text":"ok"})").header("x-model-version"), "1");
}

TEST(Rollout, ImmediateMovesAllTrafficAtOnce) {
  ServerProcess server(delivery_config(deployment_with_candidate("{}", "{}")));
  auto doc = admin(server.port(), "POST", "/admin/v1/rollouts",
                   R"({"deployment": "sentiment", "strategy": "immediate", "candidate": {"model": "sentiment", "version": 2}})", 201);
  EXPECT_STREQ(doc["state"].GetString(), "succeeded");
  EXPECT_EQ(HttpClient(server.port()).post("/predict?model=sentiment", R"({"text":"ok"})").header("x-model-version"), "2");
}

TEST(Rollout, AnAdminCanPauseResumePromoteAndRollBack) {
  ServerProcess server(delivery_config(deployment_with_candidate("{}", "{}")));
  const uint16_t port = server.port();
  const int64_t id = start(port, canary("[10, 50]", 600000, 100));
  const std::string path = "/admin/v1/rollouts/" + std::to_string(id);
  admin(port, "POST", "/admin/v1/rollouts", canary("[10]", 1000, 100), 409);  // one rollout at a time
  admin(port, "PUT", "/admin/v1/deployments/sentiment",
        R"({"variants": [{"name": "baseline", "model": "sentiment", "version": 1, "weight": 1}]})", 409);
  EXPECT_STREQ(admin(port, "POST", path + "/pause", "", 200)["state"].GetString(), "paused");
  admin(port, "POST", path + "/pause", "", 409);
  EXPECT_STREQ(admin(port, "POST", path + "/resume", "", 200)["state"].GetString(), "running");
  EXPECT_STREQ(admin(port, "POST", path + "/promote", "", 200)["state"].GetString(), "succeeded");
  admin(port, "POST", path + "/rollback", "", 409);  // it has ended
  admin(port, "POST", path + "/launch", "", 404);
  admin(port, "POST", "/admin/v1/rollouts/999/pause", "", 404);
  EXPECT_EQ(HttpClient(port).post("/predict?model=sentiment", R"({"text":"ok"})").header("x-model-version"), "3");

  const int64_t back = start(port, R"({"deployment": "sentiment", "candidate": {"model": "sentiment", "version": 1},
                                       "steps": [50], "step_min_ms": 600000, "step_min_requests": 100})");
  EXPECT_STREQ(admin(port, "POST", "/admin/v1/rollouts/" + std::to_string(back) + "/rollback", "", 200)["state"].GetString(),
               "rolled_back");
  EXPECT_EQ(HttpClient(port).post("/predict?model=sentiment", R"({"text":"ok"})").header("x-model-version"), "3");
}

TEST(Rollout, BadRolloutRequestsGetAClear4xx) {
  ServerProcess server(delivery_config(deployment_with_candidate("{}", "{}")));
  const uint16_t port = server.port();
  admin(port, "POST", "/admin/v1/rollouts", R"({"deployment": "sentiment", "strategy": "yolo", "candidate": {"version": 3}})", 400);
  admin(port, "POST", "/admin/v1/rollouts", R"({"deployment": "sentiment", "candidate": {"version": 3}, "steps": [50, 10]})", 400);
  admin(port, "POST", "/admin/v1/rollouts", R"({"deployment": "sentiment", "candidate": {"version": 3}, "steps": [100]})", 400);
  admin(port, "POST", "/admin/v1/rollouts", R"({"deployment": "sentiment", "candidate": {"version": 9}})", 404);
  admin(port, "POST", "/admin/v1/rollouts", R"({"deployment": "nothing", "candidate": {"model": "sentiment", "version": 3}})", 404);
  admin(port, "POST", "/admin/v1/rollouts", R"({"deployment": "sentiment", "candidate": {"version": 1}})", 409);
  admin(port, "POST", "/admin/v1/rollouts", R"({"deployment": "sentiment", "candidate": {"version": 3}, "analysis": {"alpha": 2}})", 400);
  admin(port, "POST", "/admin/v1/rollouts", R"([1, 2])", 400);
  admin(port, "POST", "/admin/v1/rollouts", R"({"deployment": )", 400);
}

// kill -9 in the middle of a rollout, while the controller writes its decisions: the restarted
// server finds the registry consistent, the traffic split of the last recorded step, and carries
// the rollout on to the end.
void survives_kill_nine(const std::string& registry_yaml) {
  const auto config = delivery_config(registry_yaml + deployment_with_candidate("{}", "{}"));
  int64_t id = 0;
  int step = 0;
  {
    ServerProcess server(config);
    // What is on trial is the registry, not the analysis: a latency tolerance no scheduling hiccup
    // of a loaded machine can reach keeps the analysis from ending the rollout before the kill.
    id = start(server.port(), canary("[10, 40, 70]", 200, 60, R"({"latency_tolerance": 10, "latency_slack_ms": 1000})"));
    Traffic traffic(server.port(), "/predict?model=sentiment", 4);
    std::string state, seen;
    ASSERT_TRUE(eventually([&] {
      const Response r = HttpClient(server.port()).get("/admin/v1/rollouts/" + std::to_string(id));
      seen = r.body;
      auto doc = r.json();
      step = doc["rollout"]["step_index"].GetInt();
      state = state_of(doc);
      return step >= 1 || state != "running";
    }, 60));
    ASSERT_EQ(server.stop(SIGKILL), 128 + SIGKILL);
    ASSERT_EQ(state, "running") << "the rollout ended before the kill: " << seen;
    traffic.stop();
  }
  ServerProcess restarted(config);
  const uint16_t port = restarted.port();
  const Response resumed = HttpClient(port).get("/admin/v1/rollouts/" + std::to_string(id));
  auto doc = resumed.json();
  ASSERT_EQ(state_of(doc), "running") << resumed.body;
  const int resumed_step = doc["rollout"]["step_index"].GetInt();
  EXPECT_GE(resumed_step, step);
  const double percent[] = {10, 40, 70};
  auto split = weights(port);
  EXPECT_EQ(split["candidate"], percent[resumed_step]);
  EXPECT_EQ(split["baseline"], 100 - percent[resumed_step]);
  // Every event id is there once, in order.
  auto log = HttpClient(port).get("/admin/v1/events?limit=10000").json();
  int64_t previous = 0;
  for (const auto& e : log["events"].GetArray()) {
    EXPECT_GT(e["id"].GetInt64(), previous);
    previous = e["id"].GetInt64();
  }
  Traffic traffic(port, "/predict?model=sentiment", 4);
  EXPECT_EQ(state_of(wait_for_rollout_end(port, id)), "succeeded");
}

TEST(Rollout, SurvivesKillNineMidRolloutAndResumesFromItsLastRecordedStep) { survives_kill_nine(""); }

TEST(Rollout, WithAPostgresRegistryAlsoSurvivesKillNine) {
  seraph::testing::PostgresServer postgres;
  survives_kill_nine("registry:\n  location: " + postgres.fresh_database_url() + "\n");
}

}  // namespace
}  // namespace seraph::test
