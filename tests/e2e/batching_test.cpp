// Dynamic batching over the wire: concurrent requests merge into larger runtime calls, and every
// answer is exactly the answer the same request gets without batching; a full queue answers 503.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "e2e_env.h"
#include "typed_models.h"

namespace seraph::test {
namespace {

// A repository holding copies of `models` whose model.yaml gets `extra_yaml` appended.
std::filesystem::path repository_with(const std::vector<std::string>& models, const std::string& extra_yaml) {
  auto repo = make_temp_dir("seraph-batching");
  for (const auto& model : models) {
    std::filesystem::copy(shared_repository() / model, repo / model, std::filesystem::copy_options::recursive);
    for (const auto& version : std::filesystem::directory_iterator(repo / model)) {
      std::ofstream(version.path() / "model.yaml", std::ios::app) << extra_yaml;
    }
  }
  return repo;
}

std::string cancer_row_request(int i) {
  std::string data;
  for (int f = 0; f < 30; ++f) {
    if (f) data += ',';
    data += std::to_string(0.5 + ((i * 31 + f * 7) % 97) * 3.1);
  }
  return R"({"inputs":[{"name":"features","shape":[1,30],"datatype":"FP32","data":[)" + data + "]}]}";
}

TEST(Batching, ConcurrentRequestsMergeAndAnswerExactlyAsUnbatched) {
  ServerProcess batched(write_config(repository_with({"cancer", "sentiment"},
                                                     "batching: {max_batch_size: 16, max_queue_delay_us: 5000}\n")));
  HttpClient unbatched(shared_server().port());
  // The reference answers, one request at a time, from the shared server (no batching).
  std::vector<std::string> requests, expected;
  for (int i = 0; i < 40; ++i) {
    requests.push_back(cancer_row_request(i));
    expected.push_back(unbatched.post("/v2/models/cancer/infer", requests.back()).body);
  }
  std::atomic<int> mismatches{0};
  std::mutex mutex;
  std::string first;
  std::vector<std::thread> clients;
  for (int t = 0; t < 32; ++t) {
    clients.emplace_back([&, t] {
      HttpClient client(batched.port());
      for (int k = 0; k < 40; ++k) {
        const int i = (t * 7 + k) % 40;
        Response r = client.post("/v2/models/cancer/infer", requests[i]);
        if (r.status != 200 || r.body != expected[i]) {
          mismatches.fetch_add(1);
          std::lock_guard lock(mutex);
          if (first.empty()) first = r.body + " instead of " + expected[i];
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(mismatches.load(), 0) << first;

  const std::string metrics = HttpClient(batched.port()).get("/metrics").body;
  const double executions = sample(metrics, R"(seraph_model_executions_total\{model="cancer",version="1"\})");
  const double requests_run = sample(metrics, R"(seraph_model_executed_requests_total\{model="cancer",version="1"\})");
  const double single = sample(metrics, R"(seraph_model_batch_size_bucket\{model="cancer",version="1",le="1"\})");
  EXPECT_EQ(requests_run, 32 * 40);
  EXPECT_LT(executions, requests_run) << "no request was merged with another";
  EXPECT_LT(single, executions) << "the batch-size histogram shows no batch above 1";
  std::cout << "cancer: " << requests_run << " requests in " << executions << " executions\n";
}

TEST(Batching, TextRequestsMergeToo) {
  ServerProcess batched(write_config(repository_with({"sentiment"}, "batching: {max_batch_size: 8, max_queue_delay_us: 5000}\n")));
  HttpClient reference(shared_server().port());
  std::vector<std::thread> clients;
  std::atomic<int> wrong{0};
  const double positive = reference.post("/predict?model=sentiment&model_version=2", R"({"text":"not bad at all"})").json()["scores"]["positive"].GetDouble();
  for (int t = 0; t < 16; ++t) {
    clients.emplace_back([&] {
      HttpClient client(batched.port());
      for (int k = 0; k < 20; ++k) {
        auto doc = client.post("/predict?model=sentiment&model_version=2", R"({"text":"not bad at all"})").json();
        if (!doc.IsObject() || doc["scores"]["positive"].GetDouble() != positive) wrong.fetch_add(1);
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Batching, AFullQueueAnswers503WithRetryAfter) {
  auto repo = make_temp_dir("seraph-queue");
  write_slow_model(repo);
  std::ofstream(repo / "slow" / "1" / "model.yaml", std::ios::app) << "max_queue_size: 1\n";
  ServerProcess server(write_config(repo));
  const std::string long_request = slow_request(slow_rounds_for(server.port(), std::chrono::milliseconds(1500)));
  const std::string inflight = R"(seraph_model_inflight_requests\{model="slow",version="1"\})";
  const std::string depth = R"(seraph_model_queue_depth\{model="slow",version="1"\})";
  std::thread running([&] { HttpClient(server.port()).post("/v2/models/slow/infer", long_request); });
  ASSERT_TRUE(eventually([&] { return metric(server.port(), inflight) == 1 && metric(server.port(), depth) == 0; }));
  std::thread queued([&] { HttpClient(server.port()).post("/v2/models/slow/infer", long_request); });
  ASSERT_TRUE(eventually([&] { return metric(server.port(), depth) == 1; }));  // the second waits in the queue
  Response refused = HttpClient(server.port()).post("/v2/models/slow/infer", long_request);
  running.join();
  queued.join();
  EXPECT_EQ(refused.status, 503u) << refused.body;
  EXPECT_EQ(refused.header("retry-after"), "1");
  EXPECT_NE(refused.body.find("queue is full"), std::string::npos) << refused.body;
}

}  // namespace
}  // namespace seraph::test
