// Canary analysis: a worse candidate is rolled back quickly, a good one is not rolled back by
// chance, however often the analysis looks. The rollout simulations drive the real analysis and
// look schedule with seeded synthetic traffic.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>

#include "control/canary_analysis.h"

namespace seraph {
namespace {

struct SimulatedVariant {
  double error_rate = 0.001;
  double median_ms = 10;
  double latency_sigma = 0.3;  // of the log-normal latency
};

struct SimulatedRollout {
  bool rolled_back = false;
  int64_t candidate_requests = 0;  // over the whole rollout
  std::string reason;
};

// One canary rollout over the steps (candidate percentages), each ended once the candidate has
// `step_min_requests` requests, with looks as the controller schedules them.
SimulatedRollout simulate(uint64_t seed, const SimulatedVariant& baseline, const SimulatedVariant& candidate,
                          const std::vector<double>& steps = {5, 25, 50}, int64_t step_min_requests = 200,
                          AnalysisSettings settings = {}) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::normal_distribution<double> normal(0, 1);
  SimulatedRollout out;
  LookSchedule schedule(settings.min_requests);
  int64_t looks = 0;
  for (double percent : steps) {
    VariantStats::Window wb, wc;
    schedule.start_step();
    for (;;) {
      const bool to_candidate = uniform(rng) * 100 < percent;
      const SimulatedVariant& v = to_candidate ? candidate : baseline;
      VariantStats::Window& w = to_candidate ? wc : wb;
      ++w.requests;
      if (uniform(rng) < v.error_rate) ++w.errors;
      w.latencies_ms.push_back(v.median_ms * std::exp(v.latency_sigma * normal(rng)));
      if (!to_candidate) continue;
      ++out.candidate_requests;
      const bool step_done = wc.requests >= step_min_requests;
      if (!schedule.due(wc.requests, step_done)) continue;
      const AnalysisResult r = analyse_step(wb, wc, nullptr, settings, ++looks);
      schedule.looked(wc.requests);
      if (r.verdict == Verdict::kRollback) {
        out.rolled_back = true;
        out.reason = r.reason;
        return out;
      }
      if (step_done) break;
    }
  }
  return out;
}

VariantStats::Window window(int64_t requests, int64_t errors, double latency_ms) {
  VariantStats::Window w;
  w.requests = requests;
  w.errors = errors;
  w.latencies_ms.assign(static_cast<size_t>(requests), latency_ms);
  for (size_t i = 0; i < w.latencies_ms.size(); ++i) w.latencies_ms[i] += 0.01 * static_cast<double>(i % 7);
  return w;
}

TEST(CanaryAnalysis, HoldsUntilTheCandidateHasEnoughRequestsForALook) {
  const AnalysisResult r = analyse_step(window(500, 0, 1), window(10, 10, 1), nullptr, {}, 1);
  EXPECT_EQ(r.verdict, Verdict::kHold);
  EXPECT_NE(r.reason.find("10 of 25"), std::string::npos);
}

TEST(CanaryAnalysis, UsesFishersTestAtSmallCountsAndTheZTestAtLargeOnes) {
  EXPECT_EQ(analyse_step(window(500, 1, 1), window(50, 1, 1), nullptr, {}, 1).error_test, "fisher");
  EXPECT_EQ(analyse_step(window(5000, 300, 1), window(2000, 120, 1), nullptr, {}, 1).error_test, "z");
}

TEST(CanaryAnalysis, RollsBackAClearlyWorseErrorRateAndSaysWhy) {
  const AnalysisResult r = analyse_step(window(2000, 2, 1), window(200, 20, 1), nullptr, {}, 1);
  EXPECT_EQ(r.verdict, Verdict::kRollback);
  EXPECT_LT(r.error_p_value, r.alpha_per_test);
  EXPECT_NE(r.reason.find("error rate"), std::string::npos);
}

TEST(CanaryAnalysis, PassesAnEquallyGoodCandidate) {
  const AnalysisResult r = analyse_step(window(2000, 2, 1), window(200, 0, 1), nullptr, {}, 1);
  EXPECT_EQ(r.verdict, Verdict::kPass);
}

TEST(CanaryAnalysis, ToleratesSlownessWithinTheToleranceButNotBeyond) {
  AnalysisSettings settings;
  settings.latency_tolerance = 0.2;
  settings.latency_slack_ms = 0;
  EXPECT_EQ(analyse_step(window(500, 0, 10), window(200, 0, 11.5), nullptr, settings, 1).verdict, Verdict::kPass);
  const AnalysisResult slow = analyse_step(window(500, 0, 10), window(200, 0, 13), nullptr, settings, 1);
  EXPECT_EQ(slow.verdict, Verdict::kRollback);
  EXPECT_NE(slow.reason.find("latency"), std::string::npos);
}

TEST(CanaryAnalysis, MicrosecondsOfExtraLatencyAreWithinTheSlack) {
  // 0.03 ms against 0.05 ms: 66% slower, but by 20 microseconds no user notices.
  EXPECT_EQ(analyse_step(window(500, 0, 0.03), window(200, 0, 0.05), nullptr, {}, 1).verdict, Verdict::kPass);
  EXPECT_EQ(analyse_step(window(500, 0, 0.03), window(200, 0, 0.05), nullptr, {.latency_slack_ms = 0}, 1).verdict,
            Verdict::kRollback);
}

TEST(CanaryAnalysis, LaterLooksMayEachSpendLessAlpha) {
  const AnalysisResult first = analyse_step(window(500, 0, 1), window(100, 0, 1), nullptr, {}, 1);
  const AnalysisResult tenth = analyse_step(window(500, 0, 1), window(100, 0, 1), nullptr, {}, 10);
  EXPECT_NEAR(tenth.alpha_per_test, first.alpha_per_test / 100, 1e-15);
}

TEST(CanaryAnalysis, FlaggerStyleThresholdsRollBackWhenSet) {
  AnalysisSettings settings;
  settings.min_success_rate = 99;
  EXPECT_EQ(analyse_step(window(100, 0, 1), window(100, 2, 1), nullptr, settings, 1).verdict, Verdict::kRollback);
  const AnalysisResult r = analyse_step(window(100, 0, 1), window(100, 0, 6), nullptr, {.latency_tolerance = 10, .max_p99_ms = 5}, 1);
  EXPECT_EQ(r.verdict, Verdict::kRollback);
  EXPECT_NE(r.reason.find("p99"), std::string::npos);
}

TEST(CanaryAnalysis, RollsBackWhenTheShadowDisagreesTooOften) {
  AnalysisSettings settings;
  settings.min_shadow_agreement = 0.95;
  VariantStats::Window shadow;
  shadow.shadow_compared = 100;
  shadow.shadow_agreed = 80;
  const AnalysisResult r = analyse_step(window(500, 0, 1), window(100, 0, 1), &shadow, settings, 1);
  EXPECT_EQ(r.verdict, Verdict::kRollback);
  EXPECT_NE(r.reason.find("shadow"), std::string::npos);
  shadow.shadow_agreed = 99;
  EXPECT_EQ(analyse_step(window(500, 0, 1), window(100, 0, 1), &shadow, settings, 1).verdict, Verdict::kPass);
}

TEST(CanaryAnalysis, ExplainsItsDecisionAsJson) {
  const std::string json = analyse_step(window(2000, 2, 1), window(200, 20, 1), nullptr, {}, 3).to_json();
  for (const char* field : {"\"verdict\":\"rollback\"", "\"look\":3", "\"p_value\"", "\"method\":\"fisher\"", "\"candidate\""}) {
    EXPECT_NE(json.find(field), std::string::npos) << field << " in " << json;
  }
}

TEST(LookSchedule, LooksFirstAtTheMinimumThenAtDoublingCountsAndAtTheEndOfTheStep) {
  LookSchedule schedule(25);
  EXPECT_FALSE(schedule.due(24, true));
  EXPECT_TRUE(schedule.due(25, false));
  schedule.looked(25);
  EXPECT_FALSE(schedule.due(49, false));
  EXPECT_TRUE(schedule.due(49, true));
  EXPECT_TRUE(schedule.due(50, false));
  schedule.looked(60);
  EXPECT_FALSE(schedule.due(119, false));
  EXPECT_TRUE(schedule.due(120, false));
  schedule.start_step();
  EXPECT_TRUE(schedule.due(25, false));
}

// --- Whole rollouts, simulated -------------------------------------------------------------------

TEST(CanaryRolloutSimulation, AFivePercentErrorCandidateIsRolledBackWithinFiveHundredRequests) {
  int64_t most = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const SimulatedRollout r = simulate(seed, {.error_rate = 0.001}, {.error_rate = 0.05});
    ASSERT_TRUE(r.rolled_back) << "seed " << seed;
    most = std::max(most, r.candidate_requests);
  }
  EXPECT_LE(most, 500);
  std::cout << "[ figures  ] 5% error candidate: rolled back in 200 of 200 rollouts, after at most " << most
            << " candidate requests\n";
}

TEST(CanaryRolloutSimulation, ACandidateThirtyPercentSlowerAtTheMedianIsRolledBack) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const SimulatedRollout r = simulate(seed, {.median_ms = 10}, {.median_ms = 13});
    ASSERT_TRUE(r.rolled_back) << "seed " << seed;
    EXPECT_NE(r.reason.find("latency"), std::string::npos);
  }
}

TEST(CanaryRolloutSimulation, IdenticalVariantsAreFalselyRolledBackInAtMostOnePercentOfRollouts) {
  for (double error_rate : {0.001, 0.01, 0.05}) {
    int in_first_200 = 0;
    int in_2000 = 0;
    for (uint64_t seed = 1; seed <= 2000; ++seed) {
      if (!simulate(seed, {.error_rate = error_rate}, {.error_rate = error_rate}).rolled_back) continue;
      ++in_2000;
      if (seed <= 200) ++in_first_200;
    }
    EXPECT_LE(in_first_200, 2) << "of 200 rollouts at error rate " << error_rate;
    EXPECT_LE(in_2000, 20) << "of 2000 rollouts at error rate " << error_rate;
    std::cout << "[ figures  ] identical variants at error rate " << error_rate << ": " << in_first_200
              << " false rollbacks in 200 rollouts, " << in_2000 << " in 2000\n";
  }
}

}  // namespace
}  // namespace seraph
