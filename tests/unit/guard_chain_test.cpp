// The guard chain: order, early answers, pauses resumed from another thread, replaced answers,
// retries, and the deadline's cancellation.
#include "guards/guard_chain.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "guard_fixture.h"

namespace seraph {
namespace {

using testing::FakeLoop;
using testing::make_exchange;

// A guard that records its calls in a shared log and does what the test tells it to.
class ScriptedGuard final : public Guard {
 public:
  ScriptedGuard(std::string name, std::vector<std::string>& log) : name_(std::move(name)), log_(log) {}
  std::string_view name() const override { return name_; }
  RequestVerdict on_request(Exchange& exchange) override {
    log_.push_back(name_ + ".request");
    if (on_request_) return on_request_(exchange);
    return RequestVerdict::kContinue;
  }
  ResponseVerdict on_response(Exchange& exchange) override {
    log_.push_back(name_ + ".response");
    if (on_response_) return on_response_(exchange);
    return ResponseVerdict::kPass;
  }
  std::function<RequestVerdict(Exchange&)> on_request_;
  std::function<ResponseVerdict(Exchange&)> on_response_;

 private:
  std::string name_;
  std::vector<std::string>& log_;
};

class GuardChainTest : public ::testing::Test {
 protected:
  // A chain of guards a, b, c whose terminal step logs "backend" and completes at once unless
  // `hold_backend` is set; the finished step logs "finished".
  void build(bool hold_backend = false) {
    std::vector<std::unique_ptr<Guard>> guards;
    for (const char* name : {"a", "b", "c"}) {
      auto g = std::make_unique<ScriptedGuard>(name, log);
      scripted.push_back(g.get());
      guards.push_back(std::move(g));
    }
    chain = std::make_unique<GuardChain>(
        Stage::kInference, std::move(guards),
        [this, hold_backend](Exchange& ex) {
          log.push_back("backend");
          ++backend_calls;
          if (hold_backend) return;
          ex.status = {};
          ex.response.version = backend_calls;
          chain->complete(ex);
        },
        [this](Exchange&) { log.push_back("finished"); });
  }

  std::vector<std::string> log;
  std::vector<ScriptedGuard*> scripted;
  std::unique_ptr<GuardChain> chain;
  int backend_calls = 0;
  testing::LoopScope scope;
  std::shared_ptr<FakeLoop>& loop = scope.loop;
};

TEST_F(GuardChainTest, RequestHalvesRunInOrderAndResponseHalvesInReverse) {
  build();
  auto ex = make_exchange(loop);
  chain->run(*ex);
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "b.request", "c.request", "backend", "c.response",
                                           "b.response", "a.response", "finished"}));
}

TEST_F(GuardChainTest, AGuardThatAnswersStopsTheRequestAndOnlyEarlierGuardsSeeTheAnswer) {
  build();
  scripted[1]->on_request_ = [](Exchange& ex) {
    ex.status = {StatusCode::kUnauthenticated, "no credentials"};
    return RequestVerdict::kRespond;
  };
  auto ex = make_exchange(loop);
  chain->run(*ex);
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "b.request", "a.response", "finished"}));
  EXPECT_EQ(ex->status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(backend_calls, 0);
}

TEST_F(GuardChainTest, AGuardMayAnswerWithASuccessfulResponseWithoutTheBackend) {
  build();
  scripted[2]->on_request_ = [](Exchange& ex) {
    ex.response.model = "cached";
    return RequestVerdict::kRespond;
  };
  auto ex = make_exchange(loop);
  chain->run(*ex);
  EXPECT_TRUE(ex->status.is_ok());
  EXPECT_EQ(ex->response.model, "cached");
  EXPECT_EQ(backend_calls, 0);
}

TEST_F(GuardChainTest, APausedRequestResumesFromAnotherThreadOnTheLoopThread) {
  build();
  std::thread::id resumed_on;
  scripted[1]->on_request_ = [](Exchange& ex) {
    std::thread([ex = ex.shared_from_this()] {
      GuardChain::resume_request(*ex, Stage::kInference, RequestVerdict::kContinue);
    }).join();
    return RequestVerdict::kPause;
  };
  scripted[2]->on_request_ = [&](Exchange&) {
    resumed_on = std::this_thread::get_id();
    return RequestVerdict::kContinue;
  };
  auto ex = make_exchange(loop);
  chain->run(*ex);
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "b.request"})) << "nothing runs until the loop takes it";
  EXPECT_EQ(loop->run_posted(), 1u);
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
  EXPECT_EQ(log.back(), "finished");
  EXPECT_EQ(backend_calls, 1);
}

TEST_F(GuardChainTest, APausedGuardMayResumeWithAnAnswer) {
  build();
  scripted[1]->on_request_ = [](Exchange& ex) {
    ex.status = {StatusCode::kResourceExhausted, "rate limited"};
    GuardChain::resume_request(ex, Stage::kInference, RequestVerdict::kRespond);
    return RequestVerdict::kPause;
  };
  auto ex = make_exchange(loop);
  chain->run(*ex);
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "b.request", "a.response", "finished"}));
  EXPECT_EQ(ex->status.code(), StatusCode::kResourceExhausted);
}

TEST_F(GuardChainTest, AResponseHalfMayReplaceTheAnswer) {
  build();
  scripted[1]->on_response_ = [](Exchange& ex) {
    ex.status = {StatusCode::kUnavailable, "replaced"};
    return ResponseVerdict::kPass;
  };
  std::string seen_by_a;
  scripted[0]->on_response_ = [&](Exchange& ex) {
    seen_by_a = ex.status.message();
    return ResponseVerdict::kPass;
  };
  auto ex = make_exchange(loop);
  chain->run(*ex);
  EXPECT_EQ(seen_by_a, "replaced");
}

TEST_F(GuardChainTest, ARetryRunsTheLaterGuardsAndTheBackendAgain) {
  build();
  int attempts = 0;
  scripted[1]->on_response_ = [&](Exchange& ex) {
    return ++attempts < 3 ? ResponseVerdict::kRetry : ResponseVerdict::kPass;
  };
  auto ex = make_exchange(loop);
  chain->run(*ex);
  EXPECT_EQ(backend_calls, 3);
  EXPECT_EQ(ex->response.version, 3) << "the last attempt's answer is the one that stands";
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "b.request", "c.request", "backend", "c.response",
                                           "b.response", "c.request", "backend", "c.response", "b.response",
                                           "c.request", "backend", "c.response", "b.response", "a.response",
                                           "finished"}));
}

TEST_F(GuardChainTest, AResponseHalfMayPauseAndThenRetry) {
  build();
  bool retried = false;
  scripted[1]->on_response_ = [&](Exchange& ex) {
    if (retried) return ResponseVerdict::kPass;
    retried = true;
    GuardChain::resume_response(ex, Stage::kInference, ResponseVerdict::kRetry);
    return ResponseVerdict::kPause;
  };
  auto ex = make_exchange(loop);
  chain->run(*ex);
  EXPECT_EQ(backend_calls, 2);
  EXPECT_EQ(log.back(), "finished");
}

TEST_F(GuardChainTest, TheDeadlineAnswersWhileTheBackendRunsAndTheLateOutcomeIsDropped) {
  build(/*hold_backend=*/true);
  auto ex = make_exchange(loop);
  chain->run(*ex);
  ASSERT_EQ(log.back(), "backend");
  GuardChain::abort(*ex, Stage::kInference, {StatusCode::kDeadlineExceeded, "deadline"});
  EXPECT_TRUE(ex->cancelled());
  EXPECT_EQ(ex->status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "b.request", "c.request", "backend", "c.response",
                                           "b.response", "a.response", "finished"}));
  // The backend's late answer changes nothing and runs nothing.
  ex->status = {};
  chain->complete(*ex);
  EXPECT_EQ(log.size(), 8u);
}

TEST_F(GuardChainTest, TheDeadlineAnswersAPausedRequestAndItsLateResumptionIsDropped) {
  build();
  scripted[1]->on_request_ = [](Exchange&) { return RequestVerdict::kPause; };
  auto ex = make_exchange(loop);
  chain->run(*ex);
  GuardChain::abort(*ex, Stage::kInference, {StatusCode::kDeadlineExceeded, "deadline"});
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "b.request", "b.response", "a.response", "finished"}));
  GuardChain::resume_request(*ex, Stage::kInference, RequestVerdict::kContinue);
  EXPECT_EQ(log.size(), 5u);
  EXPECT_EQ(backend_calls, 0);
}

TEST_F(GuardChainTest, NoRetryForARequestTheDeadlineAnswered) {
  build(/*hold_backend=*/true);
  scripted[1]->on_response_ = [](Exchange&) { return ResponseVerdict::kRetry; };
  auto ex = make_exchange(loop);
  chain->run(*ex);
  GuardChain::abort(*ex, Stage::kInference, {StatusCode::kDeadlineExceeded, "deadline"});
  EXPECT_EQ(backend_calls, 1);
  EXPECT_EQ(log.back(), "finished");
}

}  // namespace
}  // namespace seraph
