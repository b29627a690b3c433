#include "observe/model_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>

namespace seraph {
namespace {

using ::testing::HasSubstr;

std::map<Labels, uint64_t> counter_values(const Family<Counter>& family) {
  std::map<Labels, uint64_t> values;
  family.for_each([&](const Labels& labels, const Counter& c) { values[labels] = c.value(); });
  return values;
}

TEST(StatusCodeCounters, CreatesOneSeriesPerStatusCodeWithItsOutcome) {
  Family<Counter> family("requests_total", "Requests.");
  StatusCodeCounters counters(family, {{"model", "m"}});
  counters.add(200);
  counters.add(200);
  counters.add(404);
  counters.add(503);
  const std::map<Labels, uint64_t> expected{
      {{{"model", "m"}, {"outcome", "success"}, {"code", "200"}}, 2},
      {{{"model", "m"}, {"outcome", "client_error"}, {"code", "404"}}, 1},
      {{{"model", "m"}, {"outcome", "server_error"}, {"code", "503"}}, 1},
  };
  EXPECT_EQ(counter_values(family), expected);
}

TEST(StatusCodeCounters, CountsImpossibleStatusesAs500) {
  Family<Counter> family("requests_total", "Requests.");
  StatusCodeCounters counters(family, {});
  counters.add(42);
  counters.add(600);
  const std::map<Labels, uint64_t> expected{{{{"outcome", "server_error"}, {"code", "500"}}, 2}};
  EXPECT_EQ(counter_values(family), expected);
}

TEST(OutcomeOf, TwoHundredsAreSuccess) {
  for (unsigned s : {200u, 201u, 204u, 299u}) EXPECT_STREQ(outcome_of(s), "success") << s;
}

TEST(OutcomeOf, FourHundredsAreClientErrors) {
  for (unsigned s : {400u, 404u, 429u, 499u}) EXPECT_STREQ(outcome_of(s), "client_error") << s;
}

TEST(OutcomeOf, FiveHundredsAreServerErrors) {
  for (unsigned s : {500u, 503u, 504u, 599u}) EXPECT_STREQ(outcome_of(s), "server_error") << s;
}

TEST(ModelMetrics, ExactlyOneStateSeriesIsSet) {
  MetricsRegistry registry;
  ModelMetricFamilies families(registry);
  ModelMetrics metrics(families, "iris", 3);
  metrics.set_state("LOADING");
  metrics.set_state("READY");
  std::map<std::string, double> states;
  families.state.for_each([&](const Labels& labels, const Gauge& g) { states[labels.back().second] = g.value(); });
  const std::map<std::string, double> expected{{"LOADING", 0}, {"READY", 1}, {"UNLOADING", 0}, {"UNAVAILABLE", 0}};
  EXPECT_EQ(states, expected);
}

TEST(ModelMetrics, RequestsAreLabelledWithModelAndVersion) {
  MetricsRegistry registry;
  ModelMetricFamilies families(registry);
  ModelMetrics metrics(families, "iris", 3);
  metrics.record_request(200, 0.01, Clock::now());
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr(
      "seraph_model_requests_total{model=\"iris\",version=\"3\",outcome=\"success\",code=\"200\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("seraph_model_request_duration_seconds_count{model=\"iris\",version=\"3\"} 1\n"));
}

TEST(ModelMetrics, StatisticsCountSuccessesAndFailuresWithTheirDurations) {
  MetricsRegistry registry;
  ModelMetricFamilies families(registry);
  ModelMetrics metrics(families, "iris", 3);
  metrics.record_request(200, 0.01, Clock::now());
  metrics.record_request(200, 0.02, Clock::now());
  metrics.record_request(503, 0.002, Clock::now());
  metrics.record_request(400, 0.001, Clock::now());
  const InferenceStatistics& stats = metrics.statistics();
  EXPECT_EQ(stats.success().count(), 2u);
  EXPECT_NEAR(static_cast<double>(stats.success().ns()), 30e6, 1e3);
  EXPECT_EQ(stats.fail().count(), 2u);
  EXPECT_NEAR(static_cast<double>(stats.fail().ns()), 3e6, 1e3);
}

TEST(ModelMetrics, StatisticsRememberWhenTheLastRequestFinished) {
  MetricsRegistry registry;
  ModelMetricFamilies families(registry);
  ModelMetrics metrics(families, "iris", 3);
  EXPECT_EQ(metrics.statistics().last_inference_ms(), 0);
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = now_ms();
  metrics.record_request(200, 0.001, Clock::now());
  const int64_t after = now_ms();
  EXPECT_GE(metrics.statistics().last_inference_ms(), before);
  EXPECT_LE(metrics.statistics().last_inference_ms(), after);
}

TEST(ModelMetrics, QueueTimeFeedsTheHistogramAndTheStatistics) {
  MetricsRegistry registry;
  ModelMetricFamilies families(registry);
  ModelMetrics metrics(families, "iris", 3);
  metrics.record_queue_time(std::chrono::milliseconds(5));
  EXPECT_EQ(metrics.statistics().queue().count(), 1u);
  EXPECT_EQ(metrics.statistics().queue().ns(), 5'000'000u);
  EXPECT_THAT(registry.render(), HasSubstr("seraph_model_queue_duration_seconds_count{model=\"iris\",version=\"3\"} 1\n"));
}

}  // namespace
}  // namespace seraph
