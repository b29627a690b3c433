// Deployments: the routing table's weight line, variant lookups, stats that survive a republish,
// sticky points, and the validation every deployment passes before it is stored.
#include <gtest/gtest.h>

#include <map>

#include "control/deployments.h"
#include "control/records_json.h"
#include "control/rollout_controller.h"
#include "guards/route_guard.h"
#include "wire/json_reader.h"

namespace seraph {
namespace {

const std::vector<std::string> kEnvironments{"staging", "production"};

DeploymentRecord canary(double baseline_weight, double candidate_weight) {
  DeploymentRecord d;
  d.name = "sentiment";
  d.environment = "production";
  d.variants = {{"baseline", "sentiment", 1, baseline_weight, "baseline", {}},
                {"candidate", "sentiment", 2, candidate_weight, "candidate", {}}};
  return d;
}

std::string problem(const DeploymentRecord& d) { return validate_deployment(d, kEnvironments).message(); }

TEST(Deployments, ThePublishedTableIsFoundByEnvironmentAndName) {
  MetricsRegistry metrics;
  Deployments deployments(metrics, "production", kEnvironments);
  deployments.publish(canary(90, 10));
  auto table = deployments.snapshot();
  ASSERT_NE(table->find("production", "sentiment"), nullptr);
  EXPECT_EQ(table->find("staging", "sentiment"), nullptr);
  EXPECT_EQ(table->find("production", "other"), nullptr);
}

TEST(Deployments, PickWalksTheWeightLineOfServedVariants) {
  MetricsRegistry metrics;
  Deployments deployments(metrics, "production", kEnvironments);
  DeploymentRecord d = canary(75, 25);
  d.variants.push_back({"shadow", "sentiment", 3, 100, "shadow", {}});
  deployments.publish(d);
  const LiveDeployment& live = *deployments.snapshot()->find("production", "sentiment");
  EXPECT_EQ(live.pick(0.0).record.name, "baseline");
  EXPECT_EQ(live.pick(0.7499).record.name, "baseline");
  EXPECT_EQ(live.pick(0.75).record.name, "candidate");
  EXPECT_EQ(live.pick(0.9999).record.name, "candidate");
  ASSERT_NE(live.shadow(), nullptr);
  EXPECT_EQ(live.shadow()->record.version, 3);
}

TEST(Deployments, AZeroWeightVariantGetsNoRandomTrafficButCanBeForced) {
  MetricsRegistry metrics;
  Deployments deployments(metrics, "production", kEnvironments);
  deployments.publish(canary(100, 0));
  const LiveDeployment& live = *deployments.snapshot()->find("production", "sentiment");
  for (double u : {0.0, 0.5, 0.999}) EXPECT_EQ(live.pick(u).record.name, "baseline");
  ASSERT_NE(live.by_role_or_name("candidate"), nullptr);
  EXPECT_EQ(live.serving_version(2)->record.name, "candidate");
  EXPECT_EQ(live.serving_version(7), nullptr);
}

// The published candidate's stats.
VariantStats& candidate_stats(const Deployments& deployments) {
  return *deployments.snapshot()->find("production", "sentiment")->by_role_or_name("candidate")->stats;
}

TEST(Deployments, RepublishingKeepsTheStatsOfUnchangedVariantsOnly) {
  MetricsRegistry metrics;
  Deployments deployments(metrics, "production", kEnvironments);
  deployments.publish(canary(90, 10));
  candidate_stats(deployments).record(200, 1.0);
  deployments.publish(canary(50, 50));
  EXPECT_EQ(candidate_stats(deployments).window().requests, 1);
  DeploymentRecord other = canary(50, 50);
  other.variants[1].version = 3;
  deployments.publish(other);
  EXPECT_EQ(candidate_stats(deployments).window().requests, 0);
}

TEST(Deployments, AnOldSnapshotStaysIntactAfterAPublish) {
  MetricsRegistry metrics;
  Deployments deployments(metrics, "production", kEnvironments);
  deployments.publish(canary(90, 10));
  auto before = deployments.snapshot();
  deployments.publish(canary(10, 90));
  EXPECT_EQ(before->find("production", "sentiment")->variants[1].record.weight, 10);
  EXPECT_EQ(deployments.snapshot()->find("production", "sentiment")->variants[1].record.weight, 90);
}

TEST(VariantStats, CountsErrorsAsFiveHundredsAndResetsItsWindow) {
  MetricsRegistry metrics;
  VariantMetricFamilies families(metrics);
  VariantStats stats(families, {{"variant", "v"}});
  stats.record(200, 1.5);
  stats.record(404, 1.0);
  stats.record(503, 2.0);
  VariantStats::Window w = stats.window();
  EXPECT_EQ(w.requests, 3);
  EXPECT_EQ(w.errors, 1);
  EXPECT_EQ(w.latencies_ms.size(), 3u);
  stats.reset_window();
  EXPECT_EQ(stats.window().requests, 0);
  EXPECT_NE(metrics.render().find(R"(seraph_variant_requests_total{variant="v",outcome="error"} 1)"), std::string::npos);
}

TEST(VariantStats, KeepsOnlyTheMostRecentLatencies) {
  MetricsRegistry metrics;
  VariantMetricFamilies families(metrics);
  VariantStats stats(families, {});
  for (size_t i = 0; i < VariantStats::kLatencyCapacity + 10; ++i) stats.record(200, 1);
  EXPECT_EQ(stats.window().latencies_ms.size(), VariantStats::kLatencyCapacity);
}

TEST(StickyPoint, IsStableForAKeyAndSpreadsKeysEvenly) {
  EXPECT_EQ(sticky_point("user-42"), sticky_point("user-42"));
  std::map<int, int> tenths;
  for (int i = 0; i < 10000; ++i) ++tenths[static_cast<int>(sticky_point("user-" + std::to_string(i)) * 10)];
  for (int bucket = 0; bucket < 10; ++bucket) {
    EXPECT_GT(tenths[bucket], 850);
    EXPECT_LT(tenths[bucket], 1150);
  }
}

TEST(DeploymentValidation, AcceptsAPlainCanarySplit) { EXPECT_TRUE(validate_deployment(canary(90, 10), kEnvironments).is_ok()); }

TEST(DeploymentValidation, ChecksThePolicy) {
  DeploymentRecord d = canary(90, 10);
  d.policy.priority = "urgent";
  EXPECT_NE(problem(d).find("priority must be critical, normal or low"), std::string::npos);
  d = canary(90, 10);
  d.policy.fault.delay_percent = 150;
  EXPECT_NE(problem(d).find("fault percentages"), std::string::npos);
  d = canary(90, 10);
  d.policy.fallback = {{.kind = FallbackStep::Kind::kVariant, .variant = "nowhere"}};
  EXPECT_NE(problem(d).find("fallback[0].variant 'nowhere' is not a served variant"), std::string::npos);
  d.policy.fallback = {{.kind = FallbackStep::Kind::kVariant, .variant = "baseline"}, {.kind = FallbackStep::Kind::kStaleCache}};
  d.policy.priority = "critical";
  EXPECT_TRUE(validate_deployment(d, kEnvironments).is_ok());
}

TEST(DeploymentValidation, NamesWhatIsWrong) {
  DeploymentRecord d = canary(90, 10);
  d.environment = "qa";
  EXPECT_NE(problem(d).find("unknown environment 'qa'"), std::string::npos);
  d = canary(0, 0);
  EXPECT_NE(problem(d).find("weight above 0"), std::string::npos);
  d = canary(90, 10);
  d.variants[1].name = "baseline";
  EXPECT_NE(problem(d).find("used twice"), std::string::npos);
  d = canary(90, 10);
  d.variants[1].role = "primary";
  EXPECT_NE(problem(d).find("variants[1].role"), std::string::npos);
  d = canary(90, -1);
  EXPECT_NE(problem(d).find("variants[1].weight"), std::string::npos);
  d = canary(90, 10);
  d.variants[1].fault.abort_percent = 101;
  EXPECT_NE(problem(d).find("fault percentages"), std::string::npos);
  d = canary(90, 10);
  d.variants[1].fault.abort_status = 418;
  EXPECT_NE(problem(d).find("abort_status"), std::string::npos);
  d = canary(90, 10);
  d.sticky_header = "X User";
  EXPECT_NE(problem(d).find("sticky_header"), std::string::npos);
  d = canary(90, 10);
  d.variants.push_back({"s1", "sentiment", 3, 100, "shadow", {}});
  d.variants.push_back({"s2", "sentiment", 4, 100, "shadow", {}});
  EXPECT_NE(problem(d).find("at most one shadow"), std::string::npos);
  d = canary(90, 10);
  d.variants.clear();
  EXPECT_NE(problem(d).find("at least one variant"), std::string::npos);
}

TEST(DeploymentValidation, AVariantMayNameOnlyAConfiguredBackend) {
  DeploymentRecord d = canary(90, 10);
  d.variants[1].backend = "triton-a";
  EXPECT_TRUE(validate_deployment(d, kEnvironments, {"triton-a"}).is_ok());
  EXPECT_EQ(validate_deployment(d, kEnvironments, {"triton-b"}).message(),
            "variants[1].backend 'triton-a' is not a configured backend (configured: triton-b)");
  EXPECT_EQ(problem(d), "variants[1].backend 'triton-a' is not a configured backend (configured: none)");
}

TEST(DeploymentRecords, AVariantsBackendSurvivesTheRegistrysJson) {
  std::vector<VariantRecord> variants = canary(90, 10).variants;
  variants[1].backend = "triton-a";
  std::vector<VariantRecord> read;
  ASSERT_TRUE(variants_from_json(variants_to_json(variants), read).is_ok());
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].backend, "");
  EXPECT_EQ(read[1].backend, "triton-a");
}

TEST(DeploymentRecords, StoredRecordsWithMembersANewerVersionWroteStillRead) {
  // Replicas sharing a registry are upgraded one at a time: an older one must read what a newer
  // one stored, while the admin API refuses the same member from a client.
  const std::string stored =
      R"([{"name": "baseline", "model": "sentiment", "version": 1, "weight": 100, "mirror": true,
          "fault": {"delay_ms": 5, "jitter_ms": 2}}])";
  std::vector<VariantRecord> read;
  ASSERT_TRUE(variants_from_json(stored, read).is_ok());
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].fault.delay_ms, 5);
  DeploymentPolicy policy;
  ASSERT_TRUE(policy_from_json(R"({"priority": "low", "shed_first": true, "fault": {"jitter_ms": 2},
      "fallback": [{"variant": "baseline", "timeout_ms": 50}]})", policy).is_ok());
  EXPECT_EQ(policy.priority, "low");
  ASSERT_EQ(policy.fallback.size(), 1u);
  EXPECT_EQ(policy.fallback[0].variant, "baseline");
  std::vector<FallbackStep> steps;
  EXPECT_EQ(fallback_from_json(R"([{"variant": "baseline", "stale_cache": true}])", steps, UnknownMembers::kIgnore)
                .message(),
            "fallback[0] must be an object with one of variant (a name), stale_cache (true) or default_answer (an object)")
      << "a step is one kind, however lenient the reading";

  JsonValue from_client;
  ASSERT_TRUE(parse_json(stored, from_client).is_ok());
  EXPECT_EQ(read_variants(from_client, "variants", read, UnknownMembers::kReject).message(),
            "variants[0].mirror: unknown key (use name, model, version, weight, role, backend, fault)");
}

TEST(RolloutSpecs, AStoredSpecSkipsAnalysisSettingsANewerVersionWroteWhileAClientsAreRefused) {
  JsonValue spec;
  ASSERT_TRUE(parse_json(R"({"steps": [10, 50], "analysis": {"alpha": 0.01, "max_p95_ms": 80}})", spec).is_ok());
  RolloutSpec stored;
  ASSERT_TRUE(RolloutSpec::parse(spec, stored, UnknownMembers::kIgnore).is_ok());
  EXPECT_EQ(stored.analysis.alpha, 0.01) << "the settings it knows still hold";
  RolloutSpec asked;
  EXPECT_EQ(RolloutSpec::parse(spec, asked, UnknownMembers::kReject).message(),
            "analysis.max_p95_ms: unknown key (use alpha, latency_tolerance, latency_slack_ms, min_requests, "
            "min_shadow_agreement, min_shadow_comparisons, min_success_rate, max_p99_ms)");
}

TEST(Deployments, AVariantMovedToAnotherBackendStartsFreshStats) {
  MetricsRegistry metrics;
  Deployments deployments(metrics, "production", kEnvironments, {"triton-a"});
  deployments.publish(canary(90, 10));
  auto before = deployments.snapshot()->find("production", "sentiment")->variants[1].stats;
  DeploymentRecord moved = canary(90, 10);
  moved.variants[1].backend = "triton-a";
  deployments.publish(moved);
  EXPECT_NE(deployments.snapshot()->find("production", "sentiment")->variants[1].stats, before);
}

}  // namespace
}  // namespace seraph
