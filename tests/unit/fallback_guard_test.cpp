// The fallback guard in a real chain (route, validation, cache, fallback, fault injection) ending in
// a backend the test answers per variant: a covered failure moves down the deployment's fallback
// chain, the failed variant's stats still see the failure, and client errors, an exhausted chain
// and a passed deadline keep the failure.
#include "guards/fallback_guard.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "control/deployments.h"
#include "guard_fixture.h"
#include "guards/cache_guard.h"
#include "guards/fault_injection_guard.h"
#include "guards/guard_chain.h"
#include "guards/route_guard.h"
#include "guards/validation_guard.h"
#include "models/model_manager.h"
#include "test_support.h"

namespace seraph {
namespace {

using namespace std::chrono_literals;
using testing::make_exchange;
using testing::response_header;

InferRequest text_request(std::string text = "fine") {
  InferRequest request;
  request.model = "reviews";
  request.inputs.push_back(Tensor{"text", DataType::kBytes, {1}, {}, {std::move(text)}});
  return request;
}

class FallbackGuardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sentiment_ = new testing::SentimentVersions; }
  static void TearDownTestSuite() { delete sentiment_; }

  // "reviews": all traffic to the candidate (version 2), the baseline (version 1) on weight 0,
  // serving only as a fallback.
  void publish(std::vector<FallbackStep> fallback) {
    DeploymentRecord d;
    d.name = "reviews";
    d.environment = "production";
    d.variants = {{"baseline", "sentiment", 1, 0, "baseline", {}}, {"candidate", "sentiment", 2, 100, "candidate", {}}};
    d.policy.fallback = std::move(fallback);
    ASSERT_TRUE(deployments_.validate(d).is_ok()) << deployments_.validate(d).message();
    deployments_.publish(d);
  }

  void build(std::optional<CacheSettings> cache = std::nullopt) {
    std::vector<std::unique_ptr<Guard>> guards;
    guards.push_back(std::make_unique<RouteGuard>(sentiment_->models, deployments_));
    guards.push_back(std::make_unique<ValidationGuard>());
    if (cache) guards.push_back(std::make_unique<CacheGuard>(*cache, metrics_));
    guards.push_back(std::make_unique<FallbackGuard>(sentiment_->models, nullptr));
    guards.push_back(std::make_unique<FaultInjectionGuard>(fault_settings_, nullptr, metrics_));
    chain_ = std::make_unique<GuardChain>(
        Stage::kInference, std::move(guards),
        [this](Exchange& ex) {
          const std::string& variant = ex.variant->record.name;
          calls_.push_back(variant);
          ex.status = failures_.count(variant) ? failures_[variant] : Status::ok();
          if (!ex.status.is_ok() && shed_headers_) {
            ex.response_headers.emplace_back("Retry-After", "1");
            ex.response_headers.emplace_back("X-Shed-Reason", "queue_full");
          }
          ex.response = {};
          if (ex.status.is_ok()) {
            ex.response.model = "sentiment";
            ex.response.outputs.push_back(
                {"label", DataType::kBytes, {1}, {}, {variant + " call " + std::to_string(calls_.size())}});
          }
          chain_->complete(ex);
        },
        [](Exchange&) {});
  }

  std::shared_ptr<Exchange> run(InferRequest request = text_request()) {
    auto ex = make_exchange(scope_.loop, {}, std::move(request));
    chain_->run(*ex);
    return ex;
  }

  const LiveVariant& variant(std::string_view name) const {
    return *deployments_.snapshot()->find("production", "reviews")->by_role_or_name(name);
  }
  uint64_t fallbacks(std::string_view kind, std::string_view outcome) {
    uint64_t total = 0;
    metrics_.counter("seraph_fallbacks_total", "").for_each([&](const Labels& labels, const Counter& c) {
      if (labels == Labels{{"deployment", "reviews"}, {"environment", "production"}, {"kind", std::string(kind)},
                           {"outcome", std::string(outcome)}}) {
        total += c.value();
      }
    });
    return total;
  }
  static std::string label(const Exchange& ex) { return ex.response.outputs.at(0).strings.at(0); }

  static testing::SentimentVersions* sentiment_;
  MetricsRegistry metrics_;
  FaultInjectionSettings fault_settings_;
  Deployments deployments_{metrics_, "production", {"production"}};
  testing::LoopScope scope_;
  std::unique_ptr<GuardChain> chain_;
  std::map<std::string, Status> failures_;  // by variant: what its backend answers instead of an answer
  std::vector<std::string> calls_;          // the variants the backend was called for, in order
  bool shed_headers_ = false;               // a failure says why and when to come back, as a shed does
};
testing::SentimentVersions* FallbackGuardTest::sentiment_ = nullptr;

FallbackStep variant_step(std::string name) { return {FallbackStep::Kind::kVariant, std::move(name)}; }
FallbackStep stale_step() { return {FallbackStep::Kind::kStaleCache}; }
FallbackStep default_step() {
  return {FallbackStep::Kind::kDefaultAnswer, "",
          R"({"outputs":[{"name":"label","datatype":"BYTES","shape":[1],"data":["unknown"]}]})"};
}

TEST_F(FallbackGuardTest, ACandidateFailureIsServedByTheBaselineAndStillCountsAgainstTheCandidate) {
  publish({variant_step("baseline")});
  build();
  failures_["candidate"] = unavailable("candidate down");
  auto ex = run();
  ASSERT_TRUE(ex->status.is_ok()) << ex->status.message();
  EXPECT_EQ(calls_, (std::vector<std::string>{"candidate", "baseline"}));
  EXPECT_EQ(ex->variant->record.name, "baseline");
  EXPECT_EQ(ex->version->version(), 1) << "the exchange serves the baseline's version";
  EXPECT_EQ(label(*ex), "baseline call 2");
  EXPECT_EQ(response_header(*ex, "X-Fallback"), "variant:baseline");
  EXPECT_EQ(ex->fallback.serving->label, "variant:baseline");
  const VariantStats::Window candidate = variant("candidate").stats->window();
  EXPECT_EQ(candidate.requests, 1);
  EXPECT_EQ(candidate.errors, 1) << "canary analysis sees the candidate fail";
  EXPECT_FALSE(ex->fallback.variant_recorded) << "the observers record the baseline's success";
  EXPECT_EQ(variant("baseline").stats->window().requests, 0) << "not yet: the observers do that, once";
  EXPECT_EQ(fallbacks("variant", "served"), 1u);
}

TEST_F(FallbackGuardTest, TheAnswerThatReplacesAShedCarriesNoneOfTheShedsHeaders) {
  publish({variant_step("baseline")});
  build();
  shed_headers_ = true;
  failures_["candidate"] = unavailable("overloaded");
  auto ex = run();
  ASSERT_TRUE(ex->status.is_ok()) << ex->status.message();
  EXPECT_EQ(response_header(*ex, "X-Fallback"), "variant:baseline");
  EXPECT_EQ(response_header(*ex, "Retry-After"), "") << "a 200 asks no one to come back later";
  EXPECT_EQ(response_header(*ex, "X-Shed-Reason"), "");
  failures_["baseline"] = unavailable("overloaded too");
  ex = run();
  EXPECT_EQ(ex->status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(response_header(*ex, "X-Shed-Reason"), "queue_full") << "the last failure stands, with its headers";
}

TEST_F(FallbackGuardTest, AClientErrorIsNotCovered) {
  publish({variant_step("baseline")});
  build();
  failures_["candidate"] = invalid_argument("bad input");
  auto ex = run();
  EXPECT_EQ(ex->status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_EQ(response_header(*ex, "X-Fallback"), "");
  EXPECT_FALSE(ex->fallback.variant_recorded) << "the observers record it as usual";
  failures_["candidate"] = {StatusCode::kResourceExhausted, "over quota"};
  EXPECT_EQ(run()->status.code(), StatusCode::kResourceExhausted) << "a 429 asks to slow down, not to go elsewhere";
  EXPECT_EQ(calls_.size(), 2u);
}

TEST_F(FallbackGuardTest, AnInjectedAbortIsAFailureTheFallbackCovers) {
  DeploymentRecord d;
  d.name = "reviews";
  d.environment = "production";
  d.variants = {{"baseline", "sentiment", 1, 0, "baseline", {}},
                {"candidate", "sentiment", 2, 100, "candidate", {0, 0, 100, 503}}};
  d.policy.fallback = {variant_step("baseline")};
  deployments_.publish(d);
  build();
  auto ex = run();
  ASSERT_TRUE(ex->status.is_ok()) << ex->status.message();
  EXPECT_EQ(calls_, (std::vector<std::string>{"baseline"})) << "the abort answered before the candidate's backend";
  EXPECT_EQ(variant("candidate").stats->window().errors, 1);
}

TEST_F(FallbackGuardTest, WhenEveryVariantFailsTheDefaultAnswerIsServed) {
  publish({variant_step("baseline"), default_step()});
  build();
  failures_["candidate"] = internal_error("candidate broke");
  failures_["baseline"] = unavailable("baseline down");
  auto ex = run();
  ASSERT_TRUE(ex->status.is_ok()) << ex->status.message();
  EXPECT_EQ(label(*ex), "unknown");
  EXPECT_EQ(ex->response.model, "reviews");
  EXPECT_EQ(response_header(*ex, "X-Fallback"), "default_answer");
  EXPECT_EQ(variant("candidate").stats->window().errors, 1);
  EXPECT_EQ(variant("baseline").stats->window().errors, 1);
  EXPECT_TRUE(ex->fallback.variant_recorded) << "no variant served: the observers record none";
  EXPECT_EQ(fallbacks("variant", "failed"), 1u);
  EXPECT_EQ(fallbacks("default_answer", "served"), 1u);
}

TEST_F(FallbackGuardTest, AnExhaustedChainLeavesTheLastFailure) {
  publish({variant_step("baseline"), variant_step("candidate"), stale_step()});
  build();
  failures_["candidate"] = unavailable("candidate down");
  failures_["baseline"] = {StatusCode::kDeadlineExceeded, "baseline timed out"};
  auto ex = run();
  EXPECT_EQ(ex->status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ex->status.message(), "baseline timed out");
  EXPECT_EQ(calls_, (std::vector<std::string>{"candidate", "baseline"})) << "a variant that failed is not tried again";
  EXPECT_EQ(response_header(*ex, "X-Fallback"), "");
  EXPECT_EQ(variant("candidate").stats->window().errors, 1);
  EXPECT_EQ(variant("baseline").stats->window().errors, 1);
  EXPECT_EQ(fallbacks("stale_cache", "failed"), 1u) << "no cache, no stale answer";
}

TEST_F(FallbackGuardTest, NoFallbackOnceTheClientsDeadlineHasPassed) {
  publish({variant_step("baseline"), default_step()});
  build();
  failures_["candidate"] = {StatusCode::kDeadlineExceeded, "too slow"};
  auto ex = make_exchange(scope_.loop, {}, text_request());
  ex->deadline = Clock::now() - 1ms;
  chain_->run(*ex);
  EXPECT_EQ(ex->status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_FALSE(ex->fallback.variant_recorded);
}

TEST_F(FallbackGuardTest, AnExpiredCachedAnswerIsServedWhenTheBackendFails) {
  publish({stale_step()});
  CacheSettings cache;
  cache.ttl_ms = 1;
  build(cache);
  auto first = run();
  ASSERT_TRUE(first->status.is_ok());
  std::this_thread::sleep_for(5ms);  // past the 1 ms time to live
  failures_["candidate"] = unavailable("candidate down");
  auto ex = run();
  ASSERT_TRUE(ex->status.is_ok()) << ex->status.message();
  EXPECT_EQ(label(*ex), "candidate call 1");
  EXPECT_EQ(response_header(*ex, "X-Fallback"), "stale_cache");
  EXPECT_EQ(variant("candidate").stats->window().errors, 1);
  // The stale answer was not stored as fresh: the next request goes to the backend again.
  failures_.clear();
  auto next = run();
  EXPECT_EQ(response_header(*next, "X-Cache"), "MISS");
  EXPECT_EQ(label(*next), "candidate call 3");
}

TEST_F(FallbackGuardTest, AFallbackVariantsAnswerIsNotCachedAsTheCandidates) {
  publish({variant_step("baseline")});
  build(CacheSettings{});
  failures_["candidate"] = unavailable("candidate down");
  ASSERT_TRUE(run()->status.is_ok());
  failures_.clear();
  auto next = run();
  EXPECT_EQ(response_header(*next, "X-Cache"), "MISS");
  EXPECT_EQ(label(*next), "candidate call 3");
}

TEST(FallbackValidation, ADefaultAnswerMustHoldV2OutputsAndAChainIsBounded) {
  DeploymentRecord d;
  d.name = "reviews";
  d.environment = "production";
  d.variants = {{"baseline", "sentiment", 1, 100, "baseline", {}}};
  d.policy.fallback = {{FallbackStep::Kind::kDefaultAnswer, "", R"({"outputs":[{"name":"label"}]})"}};
  const Status s = validate_deployment(d, {"production"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("fallback[0].default_answer"), std::string::npos) << s.message();
  d.policy.fallback = {default_step()};
  EXPECT_TRUE(validate_deployment(d, {"production"}).is_ok());
  d.policy.fallback.assign(9, stale_step());
  EXPECT_EQ(validate_deployment(d, {"production"}).code(), StatusCode::kInvalidArgument) << "at most 8 steps";
}

}  // namespace
}  // namespace seraph
