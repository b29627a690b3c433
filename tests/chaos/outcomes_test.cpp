// What the chaos suite's table says about a run: the counts, the latencies and the time to recover.
#include "outcomes.h"

#include <gtest/gtest.h>

namespace seraph::chaos {
namespace {

const Clock::time_point kStart = Clock::now();

RequestRecord record(int sent_ms, unsigned status, int latency_ms = 1) {
  RequestRecord r;
  r.sent = kStart + Millis(sent_ms);
  r.status = status;
  r.latency = Millis(latency_ms);
  return r;
}

// One request a millisecond for `ms` ms; those sent before `failing_until_ms` fail with a 503.
std::vector<RequestRecord> steady(int ms, int failing_until_ms) {
  std::vector<RequestRecord> records;
  for (int t = 0; t < ms; ++t) records.push_back(record(t, t < failing_until_ms ? 503 : 200));
  return records;
}

TEST(ChaosTally, CountsEachOutcome) {
  std::vector<RequestRecord> records = {record(0, 200), record(1, 200), record(2, 503), record(3, 504), record(4, 0)};
  records[1].fallback = true;
  records[2].shed = true;
  const Tally t = tally(records);
  EXPECT_EQ(t.sent, 5);
  EXPECT_EQ(t.answered, 4);
  EXPECT_EQ(t.succeeded, 2);
  EXPECT_EQ(t.fallback, 1);
  EXPECT_EQ(t.failed, 2);
  EXPECT_EQ(t.shed, 1);
  EXPECT_EQ(t.never_answered, 1);
  EXPECT_DOUBLE_EQ(t.success_ratio(), 0.4);
}

TEST(ChaosTally, LatenciesAreOfTheAnsweredRequestsOnly) {
  std::vector<RequestRecord> records;
  for (int i = 1; i <= 100; ++i) records.push_back(record(i, 200, i));
  records.push_back(record(101, 0, 5000));  // never answered: its "latency" is the client's patience
  const Tally t = tally(records);
  EXPECT_DOUBLE_EQ(t.p50_ms, 50);
  EXPECT_DOUBLE_EQ(t.p99_ms, 99);
  EXPECT_DOUBLE_EQ(t.max_ms, 100);
}

TEST(ChaosTally, KeepsOnlyTheSelectedRecords) {
  const auto records = steady(100, 50);
  const Tally t = tally(records, [](const RequestRecord& r) { return r.sent >= kStart + Millis(50); });
  EXPECT_EQ(t.sent, 50);
  EXPECT_EQ(t.succeeded, 50);
}

TEST(ChaosRecovery, IsZeroWhenTheDisturbanceLeftNoFailures) {
  EXPECT_EQ(time_to_recover(steady(3000, 0), kStart + Millis(1000)), Millis(0));
}

TEST(ChaosRecovery, EndsWhenTheTrailingWindowSucceedsAtTheRatio) {
  // Failures until 1500 ms: the 250 ms window ending at 1750 ms is the first all successes; the one
  // ending at 1740 ms still holds 10 failures of 250 (4%).
  EXPECT_EQ(time_to_recover(steady(3000, 1500), kStart + Millis(1000)), Millis(750));
}

TEST(ChaosRecovery, NeverWhenTheFailuresLastTheRun) {
  EXPECT_EQ(time_to_recover(steady(3000, 3000), kStart + Millis(1000)), std::nullopt);
  EXPECT_EQ(time_to_recover({}, kStart), std::nullopt);
}

}  // namespace
}  // namespace seraph::chaos
