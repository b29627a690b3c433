// Model lifecycle over the wire: lazy loading (many first requests, one load), LRU unloading under
// a memory budget that never touches a version in use, Triton's repository API, and hot reload.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "e2e_env.h"
#include "typed_models.h"

namespace seraph::test {
namespace {

// Copies `model` from the shared repository as `name`, appending `extra_yaml` to its model.yaml.
void add_model(const std::filesystem::path& repo, const std::string& model, const std::string& name,
               const std::string& extra_yaml) {
  std::filesystem::create_directories(repo / name);
  std::filesystem::copy(shared_repository() / model / "1", repo / name / "1", std::filesystem::copy_options::recursive);
  std::ofstream(repo / name / "1" / "model.yaml", std::ios::app) << extra_yaml;
}

// The state of version 1 of `model` in /models.
std::string state_of(HttpClient& client, const std::string& model) {
  auto doc = client.get("/models").json();
  for (const auto& m : doc["models"].GetArray()) {
    if (model == m["name"].GetString()) return m["versions"][0]["state"].GetString();
  }
  return "";
}

const std::string kCancerRow =
    R"({"inputs":[{"name":"features","shape":[1,30],"datatype":"FP32","data":[17.99,10.38,122.8,1001,0.1184,0.2776,0.3001,0.1471,0.2419,0.07871,1.095,0.9053,8.589,153.4,0.006399,0.04904,0.05373,0.01587,0.03003,0.006193,25.38,17.33,184.6,2019,0.1622,0.6656,0.7119,0.2654,0.4601,0.1189]}]})";

// Appends a warm-up sample to the slow model's version `version` that makes its load take about
// `load_time` (calibrated on the shared server).
void make_slow_to_load(const std::filesystem::path& repo, const std::string& version,
                       std::chrono::milliseconds load_time) {
  const int rounds = slow_rounds_for(shared_server().port(), load_time);
  std::ofstream(repo / "slow" / version / "model.yaml", std::ios::app) << "warmup:\n  - {x: [" << rounds << "]}\n";
}

TEST(Lifecycle, ThirtyTwoConcurrentFirstRequestsToALazyModelShareExactlyOneLoad) {
  auto repo = make_temp_dir("seraph-lazy");
  write_slow_model(repo);
  make_slow_to_load(repo, "1", std::chrono::milliseconds(2000));
  std::ofstream(repo / "slow" / "1" / "model.yaml", std::ios::app) << "load: lazy\n";
  ServerProcess server(write_config(repo));
  HttpClient client(server.port());
  EXPECT_EQ(state_of(client, "slow"), "UNAVAILABLE");  // not loaded before it is asked for
  EXPECT_EQ(client.get("/readyz").status, 200u);       // a lazy model is ready to load
  EXPECT_EQ(client.get("/v2/models/slow/ready").status, 400u);

  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 32; ++i) {
    clients.emplace_back([&] {
      if (HttpClient(server.port()).post("/v2/models/slow/infer", slow_request(1)).status == 200) ok.fetch_add(1);
    });
  }
  // All 32 are in the server while the one load runs: the requests really overlap it.
  EXPECT_TRUE(eventually([&] {
    return metric(server.port(), R"(seraph_model_inflight_requests\{model="slow",version="1"\})") == 32 &&
           state_of(client, "slow") == "LOADING";
  }));
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 32);
  EXPECT_EQ(state_of(client, "slow"), "READY");
  const std::string metrics = client.get("/metrics").body;
  EXPECT_EQ(sample(metrics, R"(seraph_model_loads_total\{model="slow",version="1",outcome="success"\})"), 1);
  EXPECT_LE(sample(metrics, R"(seraph_model_loads_total\{model="slow",version="1",outcome="failure"\})"),
            0);  // -1: none
}

TEST(Lifecycle, TheLeastRecentlyUsedIdleVersionIsUnloadedFirstUnderTheBudget) {
  auto repo = make_temp_dir("seraph-budget");
  for (const char* name : {"a", "b", "c"}) add_model(repo, "cancer", name, "load: lazy\nmemory_bytes: 100\n");
  ServerProcess server(write_config(repo), {{"SERAPH_MODELS_MEMORY_BUDGET_BYTES", "250"}});
  HttpClient client(server.port());
  ASSERT_EQ(client.post("/v2/models/a/infer", kCancerRow).status, 200u);
  ASSERT_EQ(client.post("/v2/models/b/infer", kCancerRow).status, 200u);
  ASSERT_EQ(client.post("/v2/models/a/infer", kCancerRow).status, 200u);  // a is now used more recently than b
  ASSERT_EQ(client.post("/v2/models/c/infer", kCancerRow).status, 200u);  // 300 bytes > 250: one must go
  // The loader enforces the budget right after c's load, which may be just after c answered.
  ASSERT_TRUE(eventually([&] { return metric(server.port(), "seraph_model_evictions_total") >= 1; }));
  EXPECT_EQ(state_of(client, "a"), "READY");
  EXPECT_EQ(state_of(client, "b"), "UNAVAILABLE");
  EXPECT_EQ(state_of(client, "c"), "READY");
  // An evicted version loads again on its next request.
  EXPECT_EQ(client.post("/v2/models/b/infer", kCancerRow).status, 200u);
  EXPECT_EQ(state_of(client, "b"), "READY");
  // The loader enforces the budget right after b's load, which may be just after b answered.
  EXPECT_TRUE(eventually([&] { return metric(server.port(), "seraph_model_evictions_total") >= 2; }));
  const std::string metrics = client.get("/metrics").body;
  EXPECT_EQ(sample(metrics, "seraph_models_memory_budget_bytes"), 250);
  EXPECT_LE(sample(metrics, "seraph_models_memory_loaded_bytes"), 250);
}

TEST(Lifecycle, AVersionInUseIsNeverUnloadedUnderBudgetPressure) {
  auto repo = make_temp_dir("seraph-inuse");
  write_slow_model(repo);
  std::ofstream(repo / "slow" / "1" / "model.yaml", std::ios::app) << "memory_bytes: 100\n";
  add_model(repo, "cancer", "cancer", "load: lazy\nmemory_bytes: 100\n");
  ServerProcess server(write_config(repo), {{"SERAPH_MODELS_MEMORY_BUDGET_BYTES", "150"}});
  HttpClient client(server.port());
  // Keep the slow model busy for about a second and a half.
  const int rounds = slow_rounds_for(server.port(), std::chrono::milliseconds(1500));
  Response slow_answer;
  std::thread busy([&] { slow_answer = HttpClient(server.port()).post("/v2/models/slow/infer", slow_request(rounds)); });
  ASSERT_TRUE(eventually([&] { return metric(server.port(), R"(seraph_model_inflight_requests\{model="slow",version="1"\})") == 1; }));
  // Loading cancer goes over the budget; the only other loaded version is in use, so it stays.
  ASSERT_EQ(client.post("/v2/models/cancer/infer", kCancerRow).status, 200u);
  EXPECT_EQ(state_of(client, "slow"), "READY");
  busy.join();
  EXPECT_EQ(slow_answer.status, 200u) << slow_answer.body;
}

TEST(Lifecycle, AVersionIsReadyOnlyAfterItsWarmUpSucceeds) {
  auto repo = make_temp_dir("seraph-warmup");
  write_picky_model(repo, "warm", "warmup:\n  - {x: [1.5]}\n");
  write_picky_model(repo, "cold", "warmup:\n  - {x: [-1]}\n");
  ServerProcess server(write_config(repo), {}, /*wait_ready=*/false);
  HttpClient client(server.port());
  // Loading is over once both versions are listed and neither is LOADING.
  EXPECT_TRUE(eventually([&] {
    const std::string warm = state_of(client, "warm"), cold = state_of(client, "cold");
    return !warm.empty() && !cold.empty() && warm != "LOADING" && cold != "LOADING";
  }));
  EXPECT_EQ(state_of(client, "warm"), "READY");
  EXPECT_EQ(state_of(client, "cold"), "UNAVAILABLE");
  EXPECT_NE(client.get("/models").body.find("warm-up sample 0 failed"), std::string::npos) << client.get("/models").body;
  EXPECT_EQ(client.get("/readyz").status, 503u);
  EXPECT_EQ(client.post("/v2/models/warm/infer", R"({"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[2]}]})").status, 200u);
}

TEST(Lifecycle, TheRepositoryApiIndexesUnloadsAndLoadsModels) {
  ServerProcess server(write_config(shared_repository()));
  HttpClient client(server.port());
  Response index = client.post("/v2/repository/index", "");
  ASSERT_EQ(index.status, 200u) << index.body;
  auto doc = index.json();
  ASSERT_TRUE(doc.IsArray());
  bool saw_cancer = false;
  for (const auto& entry : doc.GetArray()) {
    if (std::string(entry["name"].GetString()) == "cancer") {
      saw_cancer = true;
      EXPECT_STREQ(entry["version"].GetString(), "1");
      EXPECT_STREQ(entry["state"].GetString(), "READY");
    }
  }
  EXPECT_TRUE(saw_cancer);

  ASSERT_EQ(client.post("/v2/repository/models/cancer/unload", "").status, 200u);
  EXPECT_EQ(state_of(client, "cancer"), "UNAVAILABLE");
  EXPECT_EQ(client.post("/v2/models/cancer/infer", kCancerRow).status, 503u);  // unloaded stays unloaded
  ASSERT_EQ(client.post("/v2/repository/models/cancer/load", "").status, 200u);
  EXPECT_EQ(state_of(client, "cancer"), "READY");
  EXPECT_EQ(client.post("/v2/models/cancer/infer", kCancerRow).status, 200u);
  EXPECT_EQ(client.post("/v2/repository/models/ghost/load", "").status, 404u);
  EXPECT_EQ(client.get("/v2/repository/index").status, 405u);
}

TEST(Lifecycle, AnUnloadThatOutlastsItsTimeoutAnswers409NamingTheVersionInUseWhichStaysLoaded) {
  auto repo = make_temp_dir("seraph-unload");
  write_slow_model(repo);
  ServerProcess server(write_config(repo), {{"SERAPH_MODELS_UNLOAD_TIMEOUT_MS", "300"}});
  HttpClient client(server.port());
  const int rounds = slow_rounds_for(server.port(), std::chrono::milliseconds(2000));
  Response slow_answer;
  std::thread busy(
      [&] { slow_answer = HttpClient(server.port()).post("/v2/models/slow/infer", slow_request(rounds)); });
  EXPECT_TRUE(eventually(
      [&] { return metric(server.port(), R"(seraph_model_inflight_requests\{model="slow",version="1"\})") == 1; }));

  Response unload = client.post("/v2/repository/models/slow/unload", "");
  const std::string state_after = state_of(client, "slow");
  busy.join();
  EXPECT_EQ(unload.status, 409u) << unload.body;
  EXPECT_NE(unload.body.find(R"({"error":)"), std::string::npos) << unload.body;
  EXPECT_NE(unload.body.find("version 1 (1 requests in progress)"), std::string::npos) << unload.body;
  EXPECT_EQ(state_after, "READY");
  EXPECT_EQ(slow_answer.status, 200u) << slow_answer.body;
  // Once idle, it unloads.
  EXPECT_EQ(client.post("/v2/repository/models/slow/unload", "").status, 200u);
  EXPECT_EQ(state_of(client, "slow"), "UNAVAILABLE");
}

// A version that fails to load is the server's problem, not the request's: 503 whether the load
// was asked for through the repository API or by an inference request.
TEST(Lifecycle, ALoadFailureAnswers503OnTheRepositoryApiAndOnInference) {
  auto repo = make_temp_dir("seraph-loadfail");
  write_picky_model(repo, "cold", "load: lazy\nwarmup:\n  - {x: [-1]}\n");
  ServerProcess server(write_config(repo));
  HttpClient client(server.port());
  Response inferred =
      client.post("/v2/models/cold/infer", R"({"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[2]}]})");
  EXPECT_EQ(inferred.status, 503u) << inferred.body;
  EXPECT_NE(inferred.body.find("warm-up sample 0 failed"), std::string::npos) << inferred.body;
  Response loaded = client.post("/v2/repository/models/cold/load", "");
  EXPECT_EQ(loaded.status, 503u) << loaded.body;
  EXPECT_NE(loaded.body.find("warm-up sample 0 failed"), std::string::npos) << loaded.body;
}

}  // namespace
}  // namespace seraph::test

namespace seraph::test {
namespace {

TEST(RuntimeErrors, AModelThatRaisesAnswers500AndTheServerKeepsServing) {
  auto repo = make_temp_dir("seraph-raise");
  write_picky_model(repo, "picky", "");
  ServerProcess server(write_config(repo));
  HttpClient client(server.port());
  Response failed = client.post("/v2/models/picky/infer", R"({"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[-3]}]})");
  EXPECT_EQ(failed.status, 500u) << failed.body;
  EXPECT_NE(failed.body.find("negative input"), std::string::npos) << failed.body;
  EXPECT_EQ(client.post("/v2/models/picky/infer", R"({"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[3]}]})").status, 200u);
}

}  // namespace
}  // namespace seraph::test

namespace seraph::test {
namespace {

TEST(Watcher, ANewVersionIsServedOnceCompleteAndAHalfCopiedOneIsNot) {
  auto repo = make_temp_dir("seraph-watch");
  std::filesystem::create_directories(repo / "sentiment");
  std::filesystem::copy(shared_repository() / "sentiment" / "1", repo / "sentiment" / "1", std::filesystem::copy_options::recursive);
  ServerProcess server(write_config(repo), {{"SERAPH_MODELS_POLL_INTERVAL_MS", "100"}});
  HttpClient client(server.port());
  ASSERT_EQ(client.post("/predict", R"({"text":"fine"})").json()["model_version"].GetInt(), 1);

  // Half copied: model.yaml is there, the artifact is not yet. Several polls later it is still ignored.
  std::filesystem::create_directories(repo / "sentiment" / "2");
  std::filesystem::copy_file(shared_repository() / "sentiment" / "2" / "model.yaml", repo / "sentiment" / "2" / "model.yaml");
  const double scans = metric(server.port(), "seraph_model_repository_scans_total");
  ASSERT_TRUE(eventually([&] { return metric(server.port(), "seraph_model_repository_scans_total") >= scans + 3; }));
  EXPECT_EQ(client.get("/v2/models/sentiment/versions/2").status, 404u);
  EXPECT_EQ(client.post("/predict", R"({"text":"fine"})").json()["model_version"].GetInt(), 1);

  // The artifact arrives: the version is picked up, loaded, and becomes the default.
  std::filesystem::copy_file(shared_repository() / "sentiment" / "2" / "model.bin", repo / "sentiment" / "2" / "model.bin");
  EXPECT_TRUE(eventually([&] { return client.post("/predict", R"({"text":"fine"})").json()["model_version"].GetInt() == 2; }))
      << client.get("/models").body;

  // Removed from disk: it stops serving and version 1 serves again.
  std::filesystem::remove_all(repo / "sentiment" / "2");
  EXPECT_TRUE(eventually([&] { return client.post("/predict", R"({"text":"fine"})").json()["model_version"].GetInt() == 1; }));
}

}  // namespace
}  // namespace seraph::test

namespace seraph::test {
namespace {

TEST(VersionPolicies, APolicyFileChoosesTheServedVersionsAndLatestFollowsNewOnes) {
  auto repo = make_temp_dir("seraph-policy");
  std::filesystem::create_directories(repo / "sentiment");
  for (const char* v : {"1", "2"}) {
    std::filesystem::copy(shared_repository() / "sentiment" / v, repo / "sentiment" / v, std::filesystem::copy_options::recursive);
  }
  std::ofstream(repo / "sentiment" / "policy.yaml") << "versions: latest 1\n";
  ServerProcess server(write_config(repo), {{"SERAPH_MODELS_POLL_INTERVAL_MS", "100"}});
  HttpClient client(server.port());
  EXPECT_EQ(client.get("/v2/models/sentiment/versions/1").status, 404u);  // not served
  EXPECT_EQ(client.post("/predict", R"({"text":"fine"})").json()["model_version"].GetInt(), 2);

  // Version 3 arrives: under "latest 1" it replaces version 2.
  std::filesystem::copy(shared_repository() / "sentiment" / "2", repo / "sentiment" / "3", std::filesystem::copy_options::recursive);
  EXPECT_TRUE(eventually([&] { return client.post("/predict", R"({"text":"fine"})").json()["model_version"].GetInt() == 3; }));
  EXPECT_TRUE(eventually([&] { return client.get("/v2/models/sentiment/versions/2").status == 404; }));
}

}  // namespace
}  // namespace seraph::test

namespace seraph::test {
namespace {

// Like TensorFlow Serving: while a new version loads, requests that name no version keep going to
// the version already READY, never waiting for the load; they move once the new one is READY,
// and only then does the version policy retire the old one.
TEST(HotReload, UnversionedTrafficStaysOnTheReadyVersionUntilTheNewOneIsReady) {
  auto repo = make_temp_dir("seraph-hot");
  write_slow_model(repo);
  std::ofstream(repo / "slow" / "policy.yaml") << "versions: latest 1\n";
  ServerProcess server(write_config(repo), {{"SERAPH_MODELS_POLL_INTERVAL_MS", "100"}});
  const uint16_t port = server.port();

  // Version 2 takes about 3 s to load; written aside, then renamed in whole.
  std::filesystem::copy(repo / "slow" / "1", repo / "slow" / ".incoming", std::filesystem::copy_options::recursive);
  const int rounds = slow_rounds_for(port, std::chrono::milliseconds(3000));
  std::ofstream(repo / "slow" / ".incoming" / "model.yaml", std::ios::app) << "warmup:\n  - {x: [" << rounds << "]}\n";

  struct Answer {
    unsigned status;
    std::string version;
    std::chrono::milliseconds took;
  };
  std::vector<Answer> answers;
  HttpClient client(port);
  auto send = [&] {
    const auto start = std::chrono::steady_clock::now();
    Response r = client.post("/v2/models/slow/infer", slow_request(1),
                             {{"Content-Type", "application/json"}, {"X-Request-Timeout-Ms", "5000"}});
    auto doc = r.json();
    answers.push_back(
        {r.status, doc.IsObject() && doc.HasMember("model_version") ? doc["model_version"].GetString() : "",
         std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)});
  };
  send();
  std::filesystem::rename(repo / "slow" / ".incoming", repo / "slow" / "2");
  // Bounded: until version 2 has answered 20 times, or 30 s.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int from_v2 = 0;
  while (from_v2 < 20 && std::chrono::steady_clock::now() < until) {
    send();
    if (answers.back().version == "2") ++from_v2;
  }

  ASSERT_EQ(from_v2, 20) << "traffic never moved to version 2: " << client.get("/models").body;
  // The load lasted long enough for the claim to mean something.
  const auto load = std::chrono::duration<double>(
      metric(port, R"(seraph_model_load_duration_seconds_sum\{model="slow",version="2"\})"));
  ASSERT_GE(load.count(), 1.0);
  size_t first_v2 = answers.size();
  for (size_t i = 0; i < answers.size(); ++i) {
    EXPECT_EQ(answers[i].status, 200u) << "request " << i;
    // Well within its 5 s deadline, and under half the load's time: nothing waited for it.
    EXPECT_LT(answers[i].took, std::min<std::chrono::duration<double>>(std::chrono::milliseconds(1000), load / 2))
        << "request " << i << " of version " << answers[i].version << "; the load took " << load.count() << " s";
    if (answers[i].version == "2" && first_v2 == answers.size()) first_v2 = i;
  }
  // Version 1 served while version 2 loaded, and nothing went back to it afterwards.
  EXPECT_GT(first_v2, 1u);
  for (size_t i = first_v2; i < answers.size(); ++i) EXPECT_EQ(answers[i].version, "2") << "request " << i;
  // Under "latest 1" version 1 retires once version 2 is READY.
  EXPECT_TRUE(eventually([&] { return client.get("/v2/models/slow/versions/1").status == 404; }));
}

}  // namespace
}  // namespace seraph::test
