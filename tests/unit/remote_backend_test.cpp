// The remote backend's bookkeeping: outlier ejection arithmetic, active health, connection and
// pending bounds, and reading a V2 server's metadata.
#include <gtest/gtest.h>

#include "models/remote/connection_pool.h"
#include "models/remote/endpoint_health.h"
#include "models/remote/outlier_detector.h"
#include "models/remote/v2_metadata.h"

namespace seraph {
namespace {

using std::chrono::milliseconds;

RemoteBackendConfig::Outlier outlier(int failures, int64_t base_ms, int max_percent, int64_t max_ms = 300000) {
  RemoteBackendConfig::Outlier o;
  o.consecutive_failures = failures;
  o.base_ejection_ms = base_ms;
  o.max_ejection_percent = max_percent;
  o.max_ejection_ms = max_ms;
  return o;
}

const TimePoint t0 = Clock::now();

TEST(OutlierDetector, EjectsAfterConsecutiveFailures) {
  OutlierDetector d(outlier(3, 1000, 100), 2);
  EXPECT_FALSE(d.record_failure(0, t0));
  EXPECT_FALSE(d.record_failure(0, t0));
  EXPECT_TRUE(d.record_failure(0, t0));
  EXPECT_TRUE(d.ejected(0, t0));
  EXPECT_FALSE(d.ejected(1, t0));
}

TEST(OutlierDetector, ASuccessResetsTheFailureRun) {
  OutlierDetector d(outlier(3, 1000, 100), 1);
  d.record_failure(0, t0);
  d.record_failure(0, t0);
  d.record_success(0);
  EXPECT_FALSE(d.record_failure(0, t0));
  EXPECT_FALSE(d.record_failure(0, t0));
  EXPECT_FALSE(d.ejected(0, t0));
}

TEST(OutlierDetector, EjectionTimeIsBaseTimesTheNumberOfEjections) {
  OutlierDetector d(outlier(1, 1000, 100), 1);
  ASSERT_TRUE(d.record_failure(0, t0));
  EXPECT_EQ(d.ejected_until(0), t0 + milliseconds(1000));
  EXPECT_TRUE(d.ejected(0, t0 + milliseconds(999)));
  EXPECT_FALSE(d.ejected(0, t0 + milliseconds(1000)));
  // Fails again at once on return: out for twice as long, then three times.
  const TimePoint t1 = t0 + milliseconds(1000);
  ASSERT_TRUE(d.record_failure(0, t1));
  EXPECT_EQ(d.times_ejected(0), 2);
  EXPECT_EQ(d.ejected_until(0), t1 + milliseconds(2000));
  const TimePoint t2 = t1 + milliseconds(2000);
  ASSERT_TRUE(d.record_failure(0, t2));
  EXPECT_EQ(d.ejected_until(0), t2 + milliseconds(3000));
}

TEST(OutlierDetector, EjectionTimeIsCappedAtTheMaximum) {
  OutlierDetector d(outlier(1, 1000, 100, 2500), 1);
  TimePoint t = t0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(d.record_failure(0, t));
    t = d.ejected_until(0);
  }
  EXPECT_EQ(d.times_ejected(0), 4);
  ASSERT_TRUE(d.record_failure(0, t));
  EXPECT_EQ(d.ejected_until(0), t + milliseconds(2500));
}

TEST(OutlierDetector, AHealthyStretchShrinksTheEjectionCount) {
  OutlierDetector d(outlier(1, 1000, 100), 1);
  ASSERT_TRUE(d.record_failure(0, t0));
  ASSERT_TRUE(d.record_failure(0, t0 + milliseconds(1000)));  // back at 1000, out until 3000
  EXPECT_EQ(d.times_ejected(0), 2);
  // Two base periods in service after its return take both ejections off.
  EXPECT_FALSE(d.ejected(0, t0 + milliseconds(5000)));
  EXPECT_EQ(d.times_ejected(0), 0);
  ASSERT_TRUE(d.record_failure(0, t0 + milliseconds(5000)));
  EXPECT_EQ(d.ejected_until(0), t0 + milliseconds(6000));
}

TEST(OutlierDetector, NeverEjectsMoreThanTheMaxPercent) {
  OutlierDetector d(outlier(1, 1000, 50), 4);
  EXPECT_TRUE(d.record_failure(0, t0));
  EXPECT_TRUE(d.record_failure(1, t0));
  EXPECT_FALSE(d.record_failure(2, t0));  // two of four are out: 50%
  EXPECT_FALSE(d.ejected(2, t0));
  EXPECT_EQ(d.ejected_count(t0), 2u);
  // Once one returns, the next failure of endpoint 2 may eject it.
  EXPECT_TRUE(d.record_failure(2, t0 + milliseconds(1000)));
}

TEST(OutlierDetector, TheFirstEjectionIsAllowedWhateverThePercent) {
  OutlierDetector d(outlier(1, 1000, 10), 2);  // 10% of two endpoints rounds to none
  EXPECT_TRUE(d.record_failure(0, t0));
  EXPECT_FALSE(d.record_failure(1, t0));
}

RemoteBackendConfig::HealthCheck thresholds(int unhealthy, int healthy) {
  RemoteBackendConfig::HealthCheck h;
  h.unhealthy_threshold = unhealthy;
  h.healthy_threshold = healthy;
  return h;
}

TEST(EndpointHealth, StartsUnhealthyUntilAPassedCheck) {
  EndpointHealth h(thresholds(2, 1));
  EXPECT_FALSE(h.healthy());
  EXPECT_TRUE(h.record(true));
  EXPECT_TRUE(h.healthy());
}

TEST(EndpointHealth, TurnsUnhealthyAfterTheThresholdOfFailedChecksInARow) {
  EndpointHealth h(thresholds(2, 1));
  h.record(true);
  EXPECT_FALSE(h.record(false));
  EXPECT_TRUE(h.healthy());
  EXPECT_FALSE(h.record(true));  // the run of failures starts over
  EXPECT_FALSE(h.record(false));
  EXPECT_TRUE(h.record(false));
  EXPECT_FALSE(h.healthy());
}

TEST(EndpointHealth, NeedsTheHealthyThresholdOfPassedChecksToReturn) {
  EndpointHealth h(thresholds(1, 3));
  EXPECT_FALSE(h.record(true));
  EXPECT_FALSE(h.record(true));
  EXPECT_TRUE(h.record(true));
  EXPECT_TRUE(h.healthy());
}

TEST(EndpointPool, OpensUpToTheBoundThenRefuses) {
  boost::asio::io_context io;
  EndpointPool pool(2);
  auto a = pool.acquire(io);
  auto b = pool.acquire(io);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->fresh);
  EXPECT_FALSE(pool.acquire(io));
  EXPECT_EQ(pool.open(), 2);
}

TEST(EndpointPool, ReusesAReleasedConnectionAndFreesAClosedOnesSlot) {
  boost::asio::io_context io;
  EndpointPool pool(1);
  auto a = pool.acquire(io);
  HttpConnection* first = a->connection.get();
  pool.release(std::move(a->connection), true);
  auto again = pool.acquire(io);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->fresh);
  EXPECT_EQ(again->connection.get(), first);
  EXPECT_TRUE(again->connection->reused);
  pool.release(std::move(again->connection), false);
  EXPECT_EQ(pool.open(), 0);
  auto fresh = pool.acquire(io);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->fresh);
}

TEST(EndpointPool, ClosingIdleConnectionsFreesTheirSlots) {
  boost::asio::io_context io;
  EndpointPool pool(1);
  auto a = pool.acquire(io);
  pool.release(std::move(a->connection), true);
  pool.close_idle();
  EXPECT_EQ(pool.open(), 0);
  EXPECT_EQ(pool.idle(), 0);
  EXPECT_TRUE(pool.acquire(io)->fresh);
}

TEST(PendingBound, RefusesPastTheBoundAndAdmitsAgainAfterARelease) {
  PendingBound bound(2);
  EXPECT_TRUE(bound.try_admit());
  EXPECT_TRUE(bound.try_admit());
  EXPECT_FALSE(bound.try_admit());
  EXPECT_EQ(bound.pending(), 2);
  bound.release();
  EXPECT_TRUE(bound.try_admit());
}

TEST(V2Metadata, ReadsTheModelsTensorContract) {
  ModelConfig contract;
  ASSERT_TRUE(parse_v2_model_metadata(R"({"name":"m","versions":["1"],"platform":"fasttext",
      "inputs":[{"name":"text","datatype":"BYTES","shape":[-1]}],
      "outputs":[{"name":"label","datatype":"BYTES","shape":[-1,1]},{"name":"probability","datatype":"FP32","shape":[-1,1]}],
      "parameters":{"labels":["neg","pos"]}})",
                                      contract)
                  .is_ok());
  ASSERT_EQ(contract.inputs.size(), 1u);
  EXPECT_EQ(contract.inputs[0].name, "text");
  EXPECT_EQ(contract.inputs[0].datatype, DataType::kBytes);
  ASSERT_EQ(contract.outputs.size(), 2u);
  EXPECT_EQ(contract.outputs[1].shape, (Shape{-1, 1}));
  EXPECT_EQ(contract.labels, (std::vector<std::string>{"neg", "pos"}));
}

TEST(V2Metadata, RefusesMetadataWithoutInputs) {
  ModelConfig contract;
  EXPECT_FALSE(parse_v2_model_metadata(R"({"name":"m","outputs":[]})", contract).is_ok());
}

TEST(V2Metadata, ReadsTheServersExtensions) {
  std::vector<std::string> extensions;
  ASSERT_TRUE(parse_v2_server_extensions(R"({"name":"s","extensions":["binary_tensor_data","statistics"]})", extensions)
                  .is_ok());
  EXPECT_EQ(extensions, (std::vector<std::string>{"binary_tensor_data", "statistics"}));
}

TEST(V2Metadata, TakesTheErrorMemberOfAnErrorBody) {
  EXPECT_EQ(v2_error_message(R"({"error":"unknown model 'x'"})"), "unknown model 'x'");
  EXPECT_EQ(v2_error_message("plain text"), "plain text");
}

}  // namespace
}  // namespace seraph
