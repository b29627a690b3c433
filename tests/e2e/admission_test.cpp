// Admission control over the wire: a burst of mixed-priority requests on a slow model is served up
// to the concurrency limit, queued while the queue has room, and the rest shed at once with 503,
// Retry-After and X-Shed-Reason; low requests go before critical ones, and every request is
// answered.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "e2e_env.h"
#include "typed_models.h"

namespace seraph::test {
namespace {

using namespace std::chrono_literals;

// A slow model behind a fixed limit of 4 (low requests may hold 2), with 6 places to wait.
const char* kAdmission = R"(guards:
  admission:
    enabled: true
    min_limit: 4
    initial_limit: 4
    max_limit: 4
    max_queue: 6
    max_queue_wait_ms: 2000
    low_share: 0.5
    normal_share: 0.75
)";

struct Outcome {
  std::string priority;
  unsigned status = 0;
  std::string shed_reason;
  std::string retry_after;
  double ms = 0;
};

TEST(Admission, AnOverloadedModelShedsLowFirstAnswersShedsAtOnceAndLeavesNothingUnanswered) {
  auto repo = make_temp_dir("seraph-admission");
  write_slow_model(repo);
  ServerProcess server(write_config(repo, kAdmission));
  const std::string request = slow_request(std::max(2, slow_rounds_for(server.port(), 40ms)));

  std::mutex mutex;
  std::vector<Outcome> outcomes;
  std::vector<std::thread> clients;
  for (int t = 0; t < 12; ++t) {
    const std::string priority = t % 2 == 0 ? "critical" : "low";
    clients.emplace_back([&, priority] {
      HttpClient client(server.port());
      for (int k = 0; k < 5; ++k) {
        const auto start = std::chrono::steady_clock::now();
        Response r = client.post("/v2/models/slow/infer", request,
                                 {{"Content-Type", "application/json"}, {"X-Priority", priority}});
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        std::lock_guard lock(mutex);
        outcomes.push_back({priority, r.status, r.header("x-shed-reason"), r.header("retry-after"), ms});
      }
    });
  }
  for (auto& c : clients) c.join();

  ASSERT_EQ(outcomes.size(), 60u);
  int served[2] = {0, 0};  // critical, low
  int shed = 0;
  double slowest_immediate_shed_ms = 0;
  for (const Outcome& o : outcomes) {
    const int which = o.priority == "critical" ? 0 : 1;
    if (o.status == 200) {
      ++served[which];
      continue;
    }
    ASSERT_EQ(o.status, 503u) << "every request is served or shed, none left unanswered or timed out";
    ++shed;
    EXPECT_EQ(o.retry_after, "1");
    EXPECT_FALSE(o.shed_reason.empty());
    // Shed on arrival: answered at once, never after a wait it could not finish.
    if (o.shed_reason == "queue_full" || o.shed_reason == "no_time") {
      slowest_immediate_shed_ms = std::max(slowest_immediate_shed_ms, o.ms);
      EXPECT_LT(o.ms, 50) << o.priority << " shed (" << o.shed_reason << ") after " << o.ms << " ms";
    }
  }
  EXPECT_GT(shed, 0) << "the burst must overload the model";
  EXPECT_GT(served[0], served[1]) << "critical served " << served[0] << "/30, low " << served[1] << "/30";
  std::cout << "[ figures  ] critical served " << served[0] << "/30, low served " << served[1] << "/30, shed " << shed
            << ", slowest immediate shed " << slowest_immediate_shed_ms << " ms\n";

  const std::string metrics = HttpClient(server.port()).get("/metrics").body;
  EXPECT_EQ(sample(metrics, R"(seraph_admission_limit\{target="slow/1"\})"), 4);
  EXPECT_EQ(sample(metrics, R"(seraph_admission_inflight\{target="slow/1"\})"), 0);
  EXPECT_EQ(sample(metrics, R"(seraph_admission_queue_depth\{target="slow/1"\})"), 0);
  double counted = 0;
  for (const char* p : {"critical", "normal", "low"}) {
    for (const char* reason : {"queue_full", "no_time", "queue_timeout", "evicted"}) {
      counted += std::max(0.0, sample(metrics, std::string(R"(seraph_shed_total\{target="slow/1",priority=")") + p +
                                                   R"(",reason=")" + reason + R"("\})"));
    }
  }
  EXPECT_EQ(counted, shed);
  EXPECT_EQ(promtool_findings(metrics), "");
}

TEST(Admission, AnUnknownPriorityIsA400NamingTheAcceptedOnes) {
  auto repo = make_temp_dir("seraph-admission");
  write_slow_model(repo);
  ServerProcess server(write_config(repo, kAdmission));
  Response r = HttpClient(server.port())
                   .post("/v2/models/slow/infer", slow_request(1),
                         {{"Content-Type", "application/json"}, {"X-Priority", "urgent"}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("critical, normal or low"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace seraph::test
