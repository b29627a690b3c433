// The circuit breaker guard in a chain: a local version's failures and slow calls open its
// circuit, which then answers 503 with Retry-After without calling the backend; 4xx answers do
// not count; each version has its own breaker; remote variants pass untouched.
#include "guards/circuit_breaker_guard.h"

#include <gtest/gtest.h>

#include "guard_fixture.h"
#include "guards/guard_chain.h"
#include "models/model_version.h"
#include "observe/metrics.h"
#include "observe/model_metrics.h"
#include "resilience/circuit_breakers.h"

namespace seraph {
namespace {

using namespace std::chrono_literals;
using testing::make_exchange;
using testing::response_header;

CircuitBreakerSettings settings() {
  CircuitBreakerSettings s;
  s.window_size = 10;
  s.minimum_calls = 4;
  s.failure_rate_percent = 50;
  s.slow_call_ms = 20;
  s.slow_call_rate_percent = 100;
  s.open_ms = 60000;
  s.half_open_calls = 1;
  return s;
}

class CircuitBreakerGuardTest : public ::testing::Test {
 protected:
  CircuitBreakerGuardTest() {
    std::vector<std::unique_ptr<Guard>> guards;
    guards.push_back(std::make_unique<CircuitBreakerGuard>(breakers_));
    chain_ = std::make_unique<GuardChain>(
        Stage::kInference, std::move(guards),
        [this](Exchange& ex) {
          ++backend_calls_;
          // A slow backend really takes its time: the guard measures it with the real clock.
          const TimePoint until = Clock::now() + backend_time_;
          while (Clock::now() < until) {
          }
          ex.status = backend_status_;
          chain_->complete(ex);
        },
        [this](Exchange&) { ++finished_; });
  }

  std::shared_ptr<ModelVersion> version(int64_t number) {
    return std::make_shared<ModelVersion>("sentiment", number, "/nonexistent", families_, ExecutionLimits{},
                                          [](ModelVersion&) {});
  }

  // Runs one request for `v` (null: a remote variant) through the chain; it is answered at once.
  std::shared_ptr<Exchange> run(const std::shared_ptr<ModelVersion>& v) {
    auto ex = make_exchange(scope_.loop);
    ex->version = v.get();
    const int before = finished_;
    chain_->run(*ex);
    EXPECT_EQ(finished_, before + 1);
    return ex;
  }

  MetricsRegistry metrics_;
  ModelMetricFamilies families_{metrics_};
  CircuitBreakers breakers_{settings(), metrics_};
  std::unique_ptr<GuardChain> chain_;
  Status backend_status_;
  Clock::duration backend_time_{};
  int backend_calls_ = 0;
  int finished_ = 0;
  ::seraph::testing::LoopScope scope_;
};

TEST_F(CircuitBreakerGuardTest, BackendFailuresOpenTheCircuitWhichThenAnswers503WithoutCallingTheBackend) {
  auto v1 = version(1);
  backend_status_ = internal_error("the runtime failed");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(run(v1)->status.code(), StatusCode::kInternal);
  EXPECT_EQ(backend_calls_, 4);
  auto refused = run(v1);
  EXPECT_EQ(backend_calls_, 4) << "an open circuit never calls the backend";
  EXPECT_EQ(refused->status.code(), StatusCode::kUnavailable);
  EXPECT_NE(refused->status.message().find("model 'sentiment' version 1"), std::string::npos)
      << refused->status.message();
  EXPECT_NE(refused->status.message().find("circuit breaker is open"), std::string::npos);
  const std::string retry_after = response_header(*refused, "Retry-After");
  EXPECT_TRUE(retry_after == "60" || retry_after == "59") << retry_after;
  EXPECT_EQ(breakers_.get("model:sentiment:1").snapshot(Clock::now()).state, BreakerState::kOpen);
}

TEST_F(CircuitBreakerGuardTest, TimeoutsCountAsFailures) {
  auto v1 = version(1);
  backend_status_ = {StatusCode::kDeadlineExceeded, "too late"};
  for (int i = 0; i < 4; ++i) run(v1);
  EXPECT_EQ(run(v1)->status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(backend_calls_, 4);
}

TEST_F(CircuitBreakerGuardTest, ClientErrorsDoNotCount) {
  auto v1 = version(1);
  backend_status_ = invalid_argument("bad input");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(run(v1)->status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(backend_calls_, 10);
  const CircuitBreaker::Snapshot s = breakers_.get("model:sentiment:1").snapshot(Clock::now());
  EXPECT_EQ(s.state, BreakerState::kClosed);
  EXPECT_EQ(s.calls, 10);
  EXPECT_DOUBLE_EQ(s.failure_rate_percent, 0.0);
}

TEST_F(CircuitBreakerGuardTest, SlowSuccessfulCallsOpenTheCircuit) {
  auto v1 = version(1);
  backend_time_ = 25ms;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(run(v1)->status.is_ok());
  EXPECT_EQ(run(v1)->status.code(), StatusCode::kUnavailable);
  EXPECT_DOUBLE_EQ(breakers_.get("model:sentiment:1").snapshot(Clock::now()).slow_rate_percent, 100.0);
}

TEST_F(CircuitBreakerGuardTest, EachVersionHasItsOwnCircuit) {
  auto v1 = version(1);
  auto v2 = version(2);
  backend_status_ = internal_error("the runtime failed");
  for (int i = 0; i < 4; ++i) run(v1);
  backend_status_ = {};
  EXPECT_EQ(run(v1)->status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(run(v2)->status.is_ok());
}

TEST_F(CircuitBreakerGuardTest, ResetLetsRequestsThroughAgain) {
  auto v1 = version(1);
  backend_status_ = internal_error("the runtime failed");
  for (int i = 0; i < 4; ++i) run(v1);
  EXPECT_EQ(run(v1)->status.code(), StatusCode::kUnavailable);
  ASSERT_TRUE(breakers_.reset("model:sentiment:1").is_ok());
  backend_status_ = {};
  EXPECT_TRUE(run(v1)->status.is_ok());
  EXPECT_EQ(backend_calls_, 5);
}

TEST_F(CircuitBreakerGuardTest, RemoteVariantsPassUntouched) {
  backend_status_ = internal_error("the remote failed");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(run(nullptr)->status.code(), StatusCode::kInternal);
  EXPECT_EQ(backend_calls_, 10);
  EXPECT_TRUE(breakers_.list().empty());
}

}  // namespace
}  // namespace seraph
