#include "observe/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "observe/http_metrics.h"
#include "observe/model_metrics.h"
#include "observe/process_metrics.h"
#include "test_support.h"

namespace seraph {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Counter, StartsAtZeroAndAdds) {
  Counter c;
  EXPECT_EQ(c.value(), 0u);
  c.add();
  c.add(41);
  EXPECT_EQ(c.value(), 42u);
}

TEST(Gauge, IsSetAndMovedByDeltas) {
  Gauge g;
  EXPECT_EQ(g.value(), 0.0);
  g.set(10);
  g.add(2.5);
  g.add(-4);
  EXPECT_DOUBLE_EQ(g.value(), 8.5);
}

TEST(Gauge, DeltasFromManyThreadsSumToTheLevelInFlight) {
  Gauge in_flight;
  std::vector<std::thread> threads;
  for (int t = 0; t < static_cast<int>(kMetricShards) + 3; ++t) {
    threads.emplace_back([&in_flight] {
      for (int i = 0; i < 10000; ++i) {
        in_flight.add(1);
        in_flight.add(-1);
      }
      in_flight.add(1);  // each thread leaves one in flight
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_DOUBLE_EQ(in_flight.value(), static_cast<double>(kMetricShards) + 3);
}

TEST(Histogram, BucketsAreCumulativeAndEndWithInf) {
  Histogram h({1, 2, 5});
  for (double v : {0.5, 1.0, 3.0, 10.0}) h.observe(v);
  Histogram::Snapshot snap = h.snapshot();
  // A value equal to a bound falls in that bound's bucket (le is "less than or equal").
  EXPECT_EQ(snap.cumulative, (std::vector<uint64_t>{2, 2, 3, 4}));
}

TEST(Histogram, TracksSumAndCount) {
  Histogram h({1, 2, 5});
  for (double v : {0.5, 1.0, 3.0, 10.0}) h.observe(v);
  Histogram::Snapshot snap = h.snapshot();
  EXPECT_EQ(snap.count, 4u);
  EXPECT_DOUBLE_EQ(snap.sum, 14.5);
}

// More threads than shards, so some share one: every sample is still counted once.
TEST(Histogram, SumsEveryThreadsSamplesAcrossShards) {
  Histogram h({1.0, 2.0});
  Counter c;
  constexpr int kThreads = static_cast<int>(kMetricShards) * 2 + 1;
  constexpr int kEach = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, &c, t] {
      for (int i = 0; i < kEach; ++i) {
        h.observe(t % 3 == 0 ? 0.5 : 1.5);
        c.add(2);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto snap = h.snapshot();
  const int low_threads = (kThreads + 2) / 3;  // t = 0, 3, 6, ...
  EXPECT_EQ(snap.count, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_EQ(snap.cumulative[0], static_cast<uint64_t>(low_threads * kEach));
  EXPECT_EQ(snap.cumulative[1], snap.count);
  EXPECT_EQ(snap.cumulative[2], snap.count);
  EXPECT_DOUBLE_EQ(snap.sum, low_threads * kEach * 0.5 + (kThreads - low_threads) * kEach * 1.5);
  EXPECT_EQ(c.value(), static_cast<uint64_t>(kThreads * kEach * 2));
}

TEST(Family, SameLabelsGiveTheSameSeries) {
  Family<Counter> family("requests_total", "Requests.");
  Counter& a = family.get({{"code", "200"}});
  Counter& b = family.get({{"code", "200"}});
  Counter& c = family.get({{"code", "500"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
}

TEST(Render, WritesHelpAndTypeBeforeTheSamples) {
  MetricsRegistry registry;
  registry.counter("jobs_total", "Jobs done.").get({{"queue", "fast"}}).add(3);
  EXPECT_EQ(registry.render(),
            "# HELP jobs_total Jobs done.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total{queue=\"fast\"} 3\n");
}

TEST(Render, SeriesWithoutLabelsHasNoBraces) {
  MetricsRegistry registry;
  registry.gauge("temperature_celsius", "Temperature.").get({}).set(21.5);
  EXPECT_THAT(registry.render(), HasSubstr("\ntemperature_celsius 21.5\n"));
}

TEST(Render, SeparatesSeveralLabelsWithCommas) {
  MetricsRegistry registry;
  registry.counter("hits_total", "Hits.").get({{"a", "1"}, {"b", "2"}}).add();
  EXPECT_THAT(registry.render(), HasSubstr("hits_total{a=\"1\",b=\"2\"} 1\n"));
}

TEST(Render, EscapesBackslashQuoteAndNewlineInLabelValues) {
  MetricsRegistry registry;
  registry.counter("odd_total", "Odd labels.").get({{"path", "C:\\dir \"x\"\nnext"}}).add();
  EXPECT_THAT(registry.render(), HasSubstr("odd_total{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n"));
}

TEST(Render, EscapesBackslashAndNewlineButNotQuotesInHelp) {
  MetricsRegistry registry;
  registry.counter("odd_total", "Say \"hi\" \\ twice\nplease.");
  EXPECT_THAT(registry.render(), HasSubstr("# HELP odd_total Say \"hi\" \\\\ twice\\nplease.\n"));
}

TEST(Render, HistogramHasBucketsWithLeThenSumAndCount) {
  MetricsRegistry registry;
  Histogram& h = registry.histogram("wait_seconds", "Wait.", {0.25, 1, 2.5}).get({{"pool", "a"}});
  h.observe(0.1);
  h.observe(2);
  h.observe(7);
  EXPECT_EQ(registry.render(),
            "# HELP wait_seconds Wait.\n"
            "# TYPE wait_seconds histogram\n"
            "wait_seconds_bucket{pool=\"a\",le=\"0.25\"} 1\n"
            "wait_seconds_bucket{pool=\"a\",le=\"1\"} 1\n"
            "wait_seconds_bucket{pool=\"a\",le=\"2.5\"} 2\n"
            "wait_seconds_bucket{pool=\"a\",le=\"+Inf\"} 3\n"
            "wait_seconds_sum{pool=\"a\"} 9.1\n"
            "wait_seconds_count{pool=\"a\"} 3\n");
}

TEST(Render, HistogramWithoutLabelsHasOnlyLe) {
  MetricsRegistry registry;
  registry.histogram("wait_seconds", "Wait.", {1}).get({}).observe(0.5);
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("wait_seconds_bucket{le=\"1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("wait_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("wait_seconds_sum 0.5\n"));
  EXPECT_THAT(text, HasSubstr("wait_seconds_count 1\n"));
}

TEST(Render, GaugesWriteNonFiniteValuesInPrometheusSpelling) {
  MetricsRegistry registry;
  auto& family = registry.gauge("ratio", "Ratio.");
  family.get({{"k", "nan"}}).set(std::nan(""));
  family.get({{"k", "inf"}}).set(std::numeric_limits<double>::infinity());
  family.get({{"k", "-inf"}}).set(-std::numeric_limits<double>::infinity());
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("ratio{k=\"nan\"} NaN\n"));
  EXPECT_THAT(text, HasSubstr("ratio{k=\"inf\"} +Inf\n"));
  EXPECT_THAT(text, HasSubstr("ratio{k=\"-inf\"} -Inf\n"));
}

TEST(Render, SampledCounterHasTypeCounter) {
  MetricsRegistry registry;
  registry.sampled_counter("cpu_seconds_total", "CPU time.").get({}).set(1.25);
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("# TYPE cpu_seconds_total counter\n"));
  EXPECT_THAT(text, Not(HasSubstr("gauge")));
  EXPECT_THAT(text, HasSubstr("\ncpu_seconds_total 1.25\n"));
}

TEST(Render, RunsOnCollectRefreshesBeforeEachScrape) {
  MetricsRegistry registry;
  Gauge& scrapes = registry.gauge("scrapes", "Scrapes seen.").get({});
  registry.on_collect([&scrapes] { scrapes.add(1); });
  EXPECT_THAT(registry.render(), HasSubstr("\nscrapes 1\n"));
  EXPECT_THAT(registry.render(), HasSubstr("\nscrapes 2\n"));
}

TEST(LatencyBuckets, AscendFrom100MicrosecondsTo10Seconds) {
  const auto& b = latency_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.0001);
  EXPECT_DOUBLE_EQ(b.back(), 10);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

// Runs `promtool check metrics` on `exposition`; returns its exit status and everything it printed.
std::pair<int, std::string> promtool_check(const std::string& exposition) {
  testing::TempDir dir;
  const auto file = dir / "metrics.txt";
  testing::write_file(file, exposition);
  const std::string command = "promtool check metrics < '" + file.string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(RenderPromtool, HandBuiltFamiliesPassPromtoolLint) {
  MetricsRegistry registry;
  registry.counter("demo_requests_total", "Requests by path.").get({{"path", "a\\b \"q\"\nz"}}).add(7);
  registry.gauge("demo_inflight_requests", "In flight.").get({}).set(2);
  registry.sampled_counter("demo_cpu_seconds_total", "CPU seconds.").get({}).set(0.5);
  auto& latency = registry.histogram("demo_request_duration_seconds", "Latency.", latency_buckets());
  latency.get({{"handler", "predict"}}).observe(0.003);
  latency.get({{"handler", "infer"}}).observe(12);
  auto [status, output] = promtool_check(registry.render());
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "");
}

TEST(HttpMetrics, RecordsTheHandlerSeriesAndTheServingVersionsSeries) {
  MetricsRegistry registry;
  ModelMetricFamilies families(registry);
  ModelMetrics model(families, "cancer", 1);
  HttpMetrics http(registry);
  FinishedRequest served;
  served.handler = Handler::kV2Infer;
  served.model_metrics = &model;
  served.status = 200;
  served.seconds = 0.002;
  http.on_finished(served);
  const std::string text = registry.render();
  EXPECT_THAT(text, ::testing::HasSubstr(R"(seraph_http_requests_total{handler="v2_infer",outcome="success",code="200"} 1)"));
  EXPECT_THAT(text, ::testing::HasSubstr(R"(seraph_model_requests_total{model="cancer",version="1",outcome="success",code="200"} 1)"));
  EXPECT_THAT(text, ::testing::HasSubstr(R"(seraph_model_request_duration_seconds_count{model="cancer",version="1"} 1)"));
}

TEST(RenderPromtool, GatewayFamiliesPassPromtoolLint) {
  MetricsRegistry registry;
  ModelMetricFamilies families(registry);
  ModelMetrics model(families, "sentiment", 2);
  model.set_state("READY");
  model.record_request(400, 0.001, Clock::now());
  model.record_execution(4, 2, 0.002);
  model.record_load("success", 0.3);
  model.record_unload("evicted");
  model.set_memory_bytes(1024);
  HttpMetrics http(registry);
  FinishedRequest served;
  served.handler = Handler::kPredict;
  served.model_metrics = &model;
  served.status = 200;
  served.seconds = 0.005;
  http.on_finished(served);
  FinishedRequest unknown;
  unknown.status = 404;
  unknown.seconds = 0.0001;
  http.on_finished(unknown);
  register_process_metrics(registry);
  auto [status, output] = promtool_check(registry.render());
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "");
}

}  // namespace
}  // namespace seraph
