// /metrics: valid Prometheus exposition (checked by promtool) with the per-model series.
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>

#include "e2e_env.h"

namespace seraph::test {
namespace {

class Metrics : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 5; ++i) ASSERT_EQ(client.post("/predict?model=sentiment&model_version=1", R"({"text":"x"})").status, 200u);
    ASSERT_EQ(client.post("/predict?model=sentiment&model_version=1", "{").status, 400u);
    ASSERT_EQ(client.get("/nope").status, 404u);
    text = client.get("/metrics").body;
  }
  HttpClient client{shared_server().port()};
  std::string text;
};

TEST_F(Metrics, PassesPromtoolCheck) { EXPECT_EQ(promtool_findings(text), ""); }

TEST_F(Metrics, ServedWithThePrometheusTextContentType) {
  EXPECT_EQ(client.get("/metrics").header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
}

TEST_F(Metrics, CountsRequestsPerModelVersionByOutcomeAndCode) {
  EXPECT_GE(sample(text, R"(seraph_model_requests_total\{model="sentiment",version="1",outcome="success",code="200"\})"), 5);
  EXPECT_GE(sample(text, R"(seraph_http_requests_total\{handler="not_found",outcome="client_error",code="404"\})"), 1);
  EXPECT_GE(sample(text, R"(seraph_http_requests_total\{handler="predict",outcome="client_error",code="400"\})"), 1);
}

TEST_F(Metrics, HasLatencyHistogramsInflightStateAndLoadTime) {
  EXPECT_GE(sample(text, R"(seraph_model_request_duration_seconds_count\{model="sentiment",version="1"\})"), 5);
  EXPECT_GE(sample(text, R"(seraph_model_compute_duration_seconds_count\{model="sentiment",version="1"\})"), 5);
  EXPECT_GE(sample(text, R"(seraph_model_request_duration_seconds_bucket\{model="sentiment",version="1",le="\+Inf"\})"), 5);
  EXPECT_EQ(sample(text, R"(seraph_model_inflight_requests\{model="sentiment",version="1"\})"), 0);
  EXPECT_EQ(sample(text, R"(seraph_model_state\{model="sentiment",version="1",state="READY"\})"), 1);
  EXPECT_EQ(sample(text, R"(seraph_model_state\{model="sentiment",version="1",state="LOADING"\})"), 0);
  EXPECT_GT(sample(text, R"(seraph_model_load_duration_seconds_sum\{model="mlp",version="1"\})"), 0);
  EXPECT_EQ(sample(text, R"(seraph_model_loads_total\{model="mlp",version="1",outcome="success"\})"), 1);
  EXPECT_GT(sample(text, R"(seraph_model_memory_bytes\{model="mlp",version="1"\})"), 0);
}

TEST_F(Metrics, HasProcessMetrics) {
  EXPECT_GT(sample(text, "seraph_process_resident_memory_bytes"), 1e6);
  EXPECT_GT(sample(text, "seraph_process_cpu_seconds_total"), 0);
  EXPECT_GT(sample(text, "seraph_process_open_fds"), 3);
  EXPECT_GT(sample(text, "seraph_process_start_time_seconds"), 1.6e9);
}

}  // namespace
}  // namespace seraph::test
