// The admission guard in a chain: the priority from X-Priority, the API key and the deployment, a
// slot held from request to answer, waiters resumed when a slot frees, sheds answered at once with
// their reason, and no waiter left past its wait or deadline with a slot leaked.
#include "guards/admission_guard.h"

#include <gtest/gtest.h>

#include <thread>

#include "control/deployments.h"
#include "guard_fixture.h"
#include "guards/guard_chain.h"
#include "models/remote/remote_backend.h"
#include "observe/metrics.h"

namespace seraph {
namespace {

using testing::LoopScope;
using testing::make_exchange;
using testing::response_header;

class AdmissionGuardTest : public ::testing::Test {
 protected:
  // A chain of the admission guard alone, whose backend calls wait in `calls` until answered.
  void build(const ConcurrencySettings& settings) {
    std::vector<std::unique_ptr<Guard>> guards;
    guards.push_back(std::make_unique<AdmissionGuard>(settings, metrics_));
    chain_ = std::make_unique<GuardChain>(
        Stage::kInference, std::move(guards), [this](Exchange& ex) { calls_.push_back(ex.shared_from_this()); },
        [this](Exchange& ex) { finished_.push_back(ex.shared_from_this()); });
  }
  // A limit of `limit`, fixed, and room for `max_queue` waiters.
  static ConcurrencySettings fixed(int limit, int max_queue = 4) {
    ConcurrencySettings s;
    s.gradient.min_limit = s.gradient.initial_limit = s.gradient.max_limit = limit;
    s.max_queue = max_queue;
    s.max_queue_wait = std::chrono::milliseconds(100);
    return s;
  }
  // A request for the remote backend's model, on its own loop, with these headers.
  std::shared_ptr<Exchange> start(LoopScope& scope, std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto ex = make_exchange(scope.loop, std::move(headers));
    ex->backend = remote_->model("sentiment", 1);
    ex->deadline = Clock::now() + std::chrono::seconds(10);
    chain_->run(*ex);
    return ex;
  }
  static RemoteBackendConfig far() {
    RemoteBackendConfig config;
    config.name = "far";
    config.endpoints = {"127.0.0.1:1"};
    return config;
  }
  void answer(Exchange& ex) {
    std::erase(calls_, ex.shared_from_this());
    ex.status = {};
    chain_->complete(ex);
  }
  bool finished(const Exchange& ex) const {
    return std::find_if(finished_.begin(), finished_.end(), [&](const auto& f) { return f.get() == &ex; }) !=
           finished_.end();
  }
  bool called(const Exchange& ex) const {
    return std::find_if(calls_.begin(), calls_.end(), [&](const auto& c) { return c.get() == &ex; }) != calls_.end();
  }
  std::string metric(const std::string& series) {
    const std::string text = metrics_.render();
    const size_t at = text.find(series + " ");
    return at == std::string::npos ? ""
                                   : text.substr(at + series.size() + 1, text.find('\n', at) - at - series.size() - 1);
  }

  MetricsRegistry metrics_;
  BackendMetricFamilies families_{metrics_};
  std::shared_ptr<RemoteBackend> remote_ = std::make_shared<RemoteBackend>(far(), families_);
  std::unique_ptr<GuardChain> chain_;
  std::vector<std::shared_ptr<Exchange>> calls_;
  std::vector<std::shared_ptr<Exchange>> finished_;
};

TEST_F(AdmissionGuardTest, AnUnknownPriorityIsRefusedNamingTheAcceptedValues) {
  build(fixed(4));
  LoopScope scope;
  auto ex = start(scope, {{"X-Priority", "urgent"}});
  ASSERT_TRUE(finished(*ex));
  EXPECT_EQ(ex->status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ex->status.message().find("critical, normal or low"), std::string::npos) << ex->status.message();
}

TEST_F(AdmissionGuardTest, ASlotIsHeldFromTheRequestToItsAnswer) {
  build(fixed(4));
  LoopScope scope;
  auto ex = start(scope);
  ASSERT_TRUE(called(*ex));
  EXPECT_EQ(metric("seraph_admission_inflight{target=\"remote:far\"}"), "1");
  EXPECT_EQ(metric("seraph_admission_limit{target=\"remote:far\"}"), "4");
  answer(*ex);
  EXPECT_TRUE(finished(*ex));
  EXPECT_TRUE(ex->status.is_ok());
  EXPECT_EQ(metric("seraph_admission_inflight{target=\"remote:far\"}"), "0");
}

TEST_F(AdmissionGuardTest, AWaiterGetsTheSlotTheAnswerFreesAndCriticalGoesFirst) {
  build(fixed(1));
  LoopScope s1, s2, s3;
  auto holder = start(s1);
  auto normal = start(s2, {{"X-Priority", "normal"}});
  auto critical = start(s3, {{"X-Priority", "critical"}});
  EXPECT_FALSE(called(*normal));
  EXPECT_FALSE(called(*critical));
  EXPECT_EQ(metric("seraph_admission_queue_depth{target=\"remote:far\"}"), "2");
  answer(*holder);
  EXPECT_TRUE(called(*critical));
  EXPECT_FALSE(called(*normal));
  answer(*critical);
  EXPECT_TRUE(called(*normal));
  answer(*normal);
  EXPECT_EQ(metric("seraph_admission_inflight{target=\"remote:far\"}"), "0");
}

TEST_F(AdmissionGuardTest, UnderOverloadLowIsShedAtOnceWhileCriticalIsServed) {
  ConcurrencySettings s = fixed(4, 0);
  s.low_share = 0.5;
  build(s);
  LoopScope s1, s2, s3, s4;
  auto low1 = start(s1, {{"X-Priority", "low"}});
  auto low2 = start(s2, {{"X-Priority", "low"}});
  auto low3 = start(s3, {{"X-Priority", "low"}});
  auto critical = start(s4, {{"X-Priority", "critical"}});
  EXPECT_TRUE(called(*low1));
  EXPECT_TRUE(called(*low2));
  ASSERT_TRUE(finished(*low3)) << "shed at once, never queued";
  EXPECT_EQ(low3->status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(response_header(*low3, "X-Shed-Reason"), "queue_full");
  EXPECT_NE(low3->status.message().find("'remote:far'"), std::string::npos) << low3->status.message();
  EXPECT_NE(low3->status.message().find("low priority"), std::string::npos) << low3->status.message();
  EXPECT_TRUE(called(*critical));
  EXPECT_EQ(metric("seraph_shed_total{target=\"remote:far\",priority=\"low\",reason=\"queue_full\"}"), "1");
  answer(*low1);
  answer(*low2);
  answer(*critical);
}

TEST_F(AdmissionGuardTest, TheDeploymentsPriorityIsTheDefault) {
  ConcurrencySettings s = fixed(2, 0);
  s.low_share = 0.5;
  build(s);
  LiveDeployment deployment;
  deployment.policy.priority = "low";
  LoopScope s1, s2;
  auto first = make_exchange(s1.loop);
  auto second = make_exchange(s2.loop);
  for (auto& ex : {first, second}) {
    ex->backend = remote_->model("sentiment", 1);
    ex->deployment = &deployment;
    chain_->run(*ex);
  }
  EXPECT_TRUE(called(*first));
  ASSERT_TRUE(finished(*second)) << "a low request may hold half of 2 slots";
  EXPECT_EQ(response_header(*second, "X-Shed-Reason"), "queue_full");
  answer(*first);
}

// The priority a lone request is admitted at, as X-Priority (empty: none), its API key and its
// deployment say.
class PriorityOfTest : public AdmissionGuardTest {
 protected:
  void SetUp() override { build(fixed(4)); }
  Priority admitted_at(std::string header, std::optional<Priority> key, std::string deployment_priority = "") {
    LiveDeployment deployment;
    deployment.policy.priority = std::move(deployment_priority);
    LoopScope scope;
    std::vector<std::pair<std::string, std::string>> headers;
    if (!header.empty()) headers.emplace_back("X-Priority", std::move(header));
    auto ex = make_exchange(scope.loop, std::move(headers));
    ex->backend = remote_->model("sentiment", 1);
    ex->deployment = &deployment;
    ex->principal.method = Principal::Method::kApiKey;
    ex->principal.priority = key;
    chain_->run(*ex);
    EXPECT_TRUE(called(*ex));
    answer(*ex);
    return ex->admission.priority;
  }
};

TEST_F(PriorityOfTest, WithoutAKeyPriorityTheHeaderThenTheDeploymentThenNormal) {
  EXPECT_EQ(admitted_at("critical", std::nullopt, "low"), Priority::kCritical);
  EXPECT_EQ(admitted_at("", std::nullopt, "low"), Priority::kLow);
  EXPECT_EQ(admitted_at("", std::nullopt), Priority::kNormal);
}

TEST_F(PriorityOfTest, TheKeysPriorityIsTheDefaultOverTheDeployments) {
  EXPECT_EQ(admitted_at("", Priority::kLow, "critical"), Priority::kLow);
  EXPECT_EQ(admitted_at("", Priority::kCritical, "low"), Priority::kCritical);
}

TEST_F(PriorityOfTest, TheHeaderMayLowerTheKeysPriorityButNeverRaiseIt) {
  EXPECT_EQ(admitted_at("critical", Priority::kLow), Priority::kLow) << "served as low, not refused";
  EXPECT_EQ(admitted_at("critical", Priority::kNormal), Priority::kNormal);
  EXPECT_EQ(admitted_at("low", Priority::kCritical), Priority::kLow);
  EXPECT_EQ(admitted_at("normal", Priority::kCritical), Priority::kNormal);
}

TEST_F(PriorityOfTest, AnUnknownHeaderIsRefusedEvenWithAKeyPriority) {
  LoopScope scope;
  auto ex = make_exchange(scope.loop, {{"X-Priority", "urgent"}});
  ex->backend = remote_->model("sentiment", 1);
  ex->principal.priority = Priority::kLow;
  chain_->run(*ex);
  ASSERT_TRUE(finished(*ex));
  EXPECT_EQ(ex->status.code(), StatusCode::kInvalidArgument);
}

TEST_F(AdmissionGuardTest, AWaiterIsShedWhenItsWaitRunsOut) {
  build(fixed(1));
  LoopScope s1, s2;
  auto holder = start(s1);
  auto waiter = start(s2);
  ASSERT_TRUE(s2.loop->has_timer());
  EXPECT_LE(s2.loop->timer_at(), Clock::now() + std::chrono::milliseconds(100));
  s2.loop->fire_timer();
  ASSERT_TRUE(finished(*waiter));
  EXPECT_EQ(waiter->status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(response_header(*waiter, "X-Shed-Reason"), "queue_timeout");
  EXPECT_EQ(metric("seraph_admission_queue_depth{target=\"remote:far\"}"), "0");
  answer(*holder);
  EXPECT_FALSE(called(*waiter));
  EXPECT_EQ(metric("seraph_admission_inflight{target=\"remote:far\"}"), "0");
}

TEST_F(AdmissionGuardTest, AWaiterTheDeadlineAnsweredLeavesTheQueue) {
  build(fixed(1));
  LoopScope s1, s2;
  auto holder = start(s1);
  auto waiter = start(s2);
  GuardChain::abort(*waiter, Stage::kInference, {StatusCode::kDeadlineExceeded, "deadline"});
  ASSERT_TRUE(finished(*waiter));
  EXPECT_EQ(metric("seraph_admission_queue_depth{target=\"remote:far\"}"), "0");
  answer(*holder);
  EXPECT_FALSE(called(*waiter));
  EXPECT_EQ(metric("seraph_admission_inflight{target=\"remote:far\"}"), "0");
}

TEST_F(AdmissionGuardTest, ASlotGrantedToAWaiterTheDeadlineAnsweredMeanwhileIsGivenOn) {
  build(fixed(1));
  LoopScope s1, s2, s3;
  auto holder = start(s1);
  auto waiter = start(s2);
  // The holder is answered on another thread: the slot is granted to the waiter, whose resumption
  // waits for its own loop.
  std::thread([&] {
    holder->status = {};
    chain_->complete(*holder);
  }).join();
  calls_.clear();
  s1.loop->run_posted();
  GuardChain::abort(*waiter, Stage::kInference, {StatusCode::kDeadlineExceeded, "deadline"});
  EXPECT_EQ(s2.loop->run_posted(), 1u);
  EXPECT_FALSE(called(*waiter));
  EXPECT_EQ(metric("seraph_admission_inflight{target=\"remote:far\"}"), "0") << "the slot is not leaked";
  auto next = start(s3);
  EXPECT_TRUE(called(*next));
  answer(*next);
}

}  // namespace
}  // namespace seraph
