// Model lifecycle over the wire: lazy loading (many first requests, one load), LRU unloading under
// a memory budget that never touches a version in use, and Triton's repository API.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <regex>
#include <thread>

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

TEST(Lifecycle, ThirtyTwoConcurrentFirstRequestsToALazyModelShareExactlyOneLoad) {
  auto repo = make_temp_dir("seraph-lazy");
  add_model(repo, "cancer", "cancer", "load: lazy\n");
  ServerProcess server(write_config(repo));
  HttpClient client(server.port());
  EXPECT_EQ(state_of(client, "cancer"), "UNAVAILABLE");  // not loaded before it is asked for
  EXPECT_EQ(client.get("/readyz").status, 200u);           // a lazy model is ready to load
  EXPECT_EQ(client.get("/v2/models/cancer/ready").status, 400u);

  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 32; ++i) {
    clients.emplace_back([&] {
      if (HttpClient(server.port()).post("/v2/models/cancer/infer", kCancerRow).status == 200) ok.fetch_add(1);
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 32);
  EXPECT_EQ(state_of(client, "cancer"), "READY");
  const std::string metrics = client.get("/metrics").body;
  EXPECT_EQ(sample(metrics, R"(seraph_model_loads_total\{model="cancer",version="1",outcome="success"\})"), 1);
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
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
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
