// The fault-injection guard: faults of the deployment, the variant, the remote backend and the
// request's own headers; their shares on a fixed roll; the cap on faults in progress; the counts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <deque>

#include "control/deployments.h"
#include "guard_fixture.h"
#include "guards/fault_injection_guard.h"
#include "guards/guard_chain.h"
#include "resilience/backend_faults.h"

namespace seraph {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::make_exchange;

class FaultInjectionGuardTest : public ::testing::Test {
 protected:
  // "reviews": a local baseline and a candidate on the remote backend "far", with these faults.
  void publish(FaultSpec deployment, FaultSpec baseline = {}, FaultSpec candidate = {}) {
    DeploymentRecord d;
    d.name = "reviews";
    d.environment = "production";
    d.variants = {{"baseline", "sentiment", 1, 50, "baseline", baseline},
                  {"candidate", "sentiment", 2, 50, "candidate", candidate, "far"}};
    d.policy.fault = deployment;
    ASSERT_TRUE(deployments_.validate(d).is_ok());
    deployments_.publish(d);
  }

  // An exchange routed to `variant` of "reviews" (empty: to no deployment), on its own loop.
  std::shared_ptr<Exchange> routed(std::string_view variant,
                                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    scopes_.emplace_back();
    auto ex = make_exchange(scopes_.back().loop, std::move(headers));
    if (variant.empty()) return ex;
    ex->routing = deployments_.snapshot();
    ex->deployment = ex->routing->find("production", "reviews");
    ex->variant = ex->deployment->by_role_or_name(variant);
    return ex;
  }
  testing::FakeLoop& loop_of(size_t i) { return *scopes_[i].loop; }

  FaultInjectionGuard guard() {
    return FaultInjectionGuard(settings_, &backend_faults_, metrics_, [this] {
      EXPECT_FALSE(rolls_.empty()) << "the guard rolled more often than the test expected";
      const double roll = rolls_.empty() ? 99.9 : rolls_.front();
      if (!rolls_.empty()) rolls_.pop_front();
      return roll;
    });
  }

  uint64_t injected(std::string_view variant, std::string_view fault, std::string_view source) {
    Labels labels;
    if (!variant.empty()) {
      const int version = variant == "baseline" ? 1 : 2;
      labels = {{"deployment", "reviews"},
                {"environment", "production"},
                {"variant", std::string(variant)},
                {"model", "sentiment"},
                {"version", std::to_string(version)}};
    }
    labels.emplace_back("fault", fault);
    labels.emplace_back("source", source);
    return faults_injected_family(metrics_).get(labels).value();
  }
  uint64_t skipped() {
    return metrics_.counter("seraph_faults_skipped_total", "").get({{"reason", "max_active"}}).value();
  }

  MetricsRegistry metrics_;
  Deployments deployments_{metrics_, "production", {"production"}, {"far"}};
  BackendFaults backend_faults_{{"far"}, {}};
  FaultInjectionSettings settings_;
  std::deque<double> rolls_;  // what the guard's dice show, in turn
  std::deque<testing::LoopScope> scopes_;
};

TEST_F(FaultInjectionGuardTest, NoFaultSetLetsEveryRequestThroughWithoutRolling) {
  publish({});
  FaultInjectionGuard g = guard();
  EXPECT_EQ(g.on_request(*routed("baseline")), RequestVerdict::kContinue);
  EXPECT_EQ(g.on_request(*routed("candidate")), RequestVerdict::kContinue);
  EXPECT_EQ(g.on_request(*routed("")), RequestVerdict::kContinue);
}

TEST_F(FaultInjectionGuardTest, ADeploymentFaultAbortsEveryVariantAndIsCountedAsTheDeployments) {
  publish({.abort_percent = 100, .abort_status = 500});
  FaultInjectionGuard g = guard();
  for (std::string_view variant : {"baseline", "candidate"}) {
    auto ex = routed(variant);
    EXPECT_EQ(g.on_request(*ex), RequestVerdict::kRespond);
    EXPECT_EQ(ex->status.code(), StatusCode::kInternal);
    EXPECT_THAT(ex->status.message(), HasSubstr("fault injected: deployment 'reviews'"));
    EXPECT_EQ(injected(variant, "abort", "deployment"), 1u);
    EXPECT_EQ(injected(variant, "abort", "variant"), 0u);
  }
}

TEST_F(FaultInjectionGuardTest, AVariantFaultAbortsOnlyTheShareOfRequestsItsPercentageSays) {
  publish({}, {.abort_percent = 25, .abort_status = 503});
  FaultInjectionGuard g = guard();
  rolls_ = {30, 24.9};
  EXPECT_EQ(g.on_request(*routed("baseline")), RequestVerdict::kContinue) << "a roll of 30 is outside 25%";
  auto hit = routed("baseline");
  EXPECT_EQ(g.on_request(*hit), RequestVerdict::kRespond);
  EXPECT_EQ(hit->status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(hit->status.message(), HasSubstr("variant 'baseline'"));
  EXPECT_EQ(injected("baseline", "abort", "variant"), 1u);
  EXPECT_EQ(g.on_request(*routed("candidate")), RequestVerdict::kContinue) << "the candidate has no fault";
}

TEST_F(FaultInjectionGuardTest, EveryAllowedAbortStatusAnswersWithThatStatus) {
  // Every status validation lets through, so that one added there cannot answer as another.
  int allowed = 0;
  for (int status = 100; status < 600; ++status) {
    if (!is_abort_status(status)) continue;
    ++allowed;
    publish({.abort_percent = 100, .abort_status = status});
    auto ex = routed("baseline");
    EXPECT_EQ(guard().on_request(*ex), RequestVerdict::kRespond);
    EXPECT_EQ(http_status_of(ex->status.code()), static_cast<unsigned>(status));
  }
  EXPECT_EQ(allowed, 4) << "429, 500, 503 and 504";
}

TEST_F(FaultInjectionGuardTest, ABackendFaultHitsOnlyVariantsOnThatBackendAndChangesAtRunTime) {
  publish({});
  FaultInjectionGuard g = guard();
  EXPECT_EQ(g.on_request(*routed("candidate")), RequestVerdict::kContinue);
  ASSERT_TRUE(backend_faults_.set("far", {.abort_percent = 100, .abort_status = 504}).is_ok());
  auto ex = routed("candidate");
  EXPECT_EQ(g.on_request(*ex), RequestVerdict::kRespond);
  EXPECT_EQ(ex->status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(ex->status.message(), HasSubstr("backend 'far'"));
  EXPECT_EQ(injected("candidate", "abort", "backend"), 1u);
  EXPECT_EQ(g.on_request(*routed("baseline")), RequestVerdict::kContinue) << "the baseline is local";
  EXPECT_EQ(backend_faults_.set("near", {}).code(), StatusCode::kNotFound);
}

TEST_F(FaultInjectionGuardTest, ADelayPausesTheRequestUntilItsTimerThenLetsItReachTheBackend) {
  publish({}, {.delay_ms = 40, .delay_percent = 50});
  std::vector<std::unique_ptr<Guard>> guards;
  guards.push_back(std::make_unique<FaultInjectionGuard>(guard()));
  int backend_calls = 0;
  GuardChain chain(
      Stage::kInference, std::move(guards), [&](Exchange&) { ++backend_calls; }, [](Exchange&) {});
  rolls_ = {10};
  auto ex = routed("baseline");
  const TimePoint before = Clock::now();
  chain.run(*ex);
  EXPECT_EQ(backend_calls, 0);
  ASSERT_TRUE(loop_of(0).has_timer());
  EXPECT_GE(loop_of(0).timer_at(), before + 40ms);
  EXPECT_EQ(injected("baseline", "delay", "variant"), 1u);
  loop_of(0).fire_timer();
  EXPECT_EQ(backend_calls, 1);
}

TEST_F(FaultInjectionGuardTest, BeyondMaxActiveFaultsNoneIsInjectedUntilOneEnds) {
  settings_.max_active = 1;
  publish({.delay_ms = 40, .delay_percent = 100}, {.abort_percent = 100});
  FaultInjectionGuard g = guard();
  // The deployment's delay is tried after the variant's abort; the abort comes first.
  auto aborted = routed("baseline");
  EXPECT_EQ(g.on_request(*aborted), RequestVerdict::kRespond) << "an abort holds no slot once answered";
  auto delayed = routed("candidate");
  EXPECT_EQ(g.on_request(*delayed), RequestVerdict::kPause);
  EXPECT_EQ(g.on_request(*routed("candidate")), RequestVerdict::kContinue) << "the one slot is taken";
  EXPECT_EQ(g.on_request(*routed("baseline")), RequestVerdict::kContinue) << "an abort needs a slot too";
  EXPECT_EQ(skipped(), 2u);
  // The delay ends (here: its request is answered first and the timer dropped): the slot is free.
  loop_of(1).drop_pending();
  delayed.reset();
  EXPECT_EQ(g.on_request(*routed("candidate")), RequestVerdict::kPause);
  EXPECT_EQ(injected("candidate", "delay", "deployment"), 2u);
}

TEST_F(FaultInjectionGuardTest, RequestHeadersAreIgnoredUnlessTheConfigAllowsThem) {
  publish({});
  const std::vector<std::pair<std::string, std::string>> ask = {{"X-Seraph-Fault-Abort", "429"},
                                                                {"X-Seraph-Fault-Delay-Ms", "nonsense"}};
  EXPECT_EQ(guard().on_request(*routed("baseline", ask)), RequestVerdict::kContinue);
  settings_.allow_request_headers = true;
  auto ex = routed("baseline", {{"X-Seraph-Fault-Abort", "429"}});
  EXPECT_EQ(guard().on_request(*ex), RequestVerdict::kRespond);
  EXPECT_EQ(ex->status.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(ex->status.message(), HasSubstr("X-Seraph-Fault-Abort"));
  EXPECT_EQ(injected("baseline", "abort", "header"), 1u);
}

TEST_F(FaultInjectionGuardTest, AHeaderDelayPausesEvenARequestNoDeploymentServesAndIsCounted) {
  settings_.allow_request_headers = true;
  auto ex = routed("", {{"X-Seraph-Fault-Delay-Ms", "25"}});
  const TimePoint before = Clock::now();
  EXPECT_EQ(guard().on_request(*ex), RequestVerdict::kPause);
  ASSERT_TRUE(loop_of(0).has_timer());
  EXPECT_GE(loop_of(0).timer_at(), before + 25ms);
  EXPECT_EQ(injected("", "delay", "header"), 1u);
}

TEST_F(FaultInjectionGuardTest, ABadHeaderValueIsA400NamingTheHeader) {
  settings_.allow_request_headers = true;
  publish({});
  const std::pair<std::string, std::string> bad[] = {{"X-Seraph-Fault-Delay-Ms", "-1"},
                                                     {"X-Seraph-Fault-Delay-Ms", "12ms"},
                                                     {"X-Seraph-Fault-Delay-Ms", "600001"},
                                                     {"X-Seraph-Fault-Abort", "418"},
                                                     {"X-Seraph-Fault-Abort", "five hundred"}};
  for (const auto& header : bad) {
    auto ex = routed("baseline", {header});
    EXPECT_EQ(guard().on_request(*ex), RequestVerdict::kRespond) << header.first << ": " << header.second;
    EXPECT_EQ(ex->status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(ex->status.message(), HasSubstr(header.first));
  }
}

}  // namespace
}  // namespace seraph
