// Micro-benchmarks of the state every request of every I/O thread updates: a deployment variant's
// canary window, a model version's circuit breaker, and the copy of the routing table a request
// keeps. Each runs on one thread and on two, which is where a cache line the threads share costs:
// the per-request cost should not grow with the second thread.
// Run: build/release/bench/micro/seraph_micro_bench --benchmark_filter='Variant|Breaker|Snapshot'
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "control/variant_stats.h"
#include "core/clock.h"
#include "core/snapshot.h"
#include "observe/metrics.h"
#include "resilience/circuit_breaker.h"

namespace seraph {
namespace {

void BM_VariantStatsRecord(benchmark::State& state) {
  static MetricsRegistry metrics;
  static VariantMetricFamilies families(metrics);
  static VariantStats stats(families, {{"deployment", "d"}, {"variant", "v"}});
  for (auto _ : state) stats.record(200, 0.7);
}
BENCHMARK(BM_VariantStatsRecord)->Threads(1)->Threads(2);

// A successful call recorded into a closed circuit (a model version's breaker, on every request).
void BM_CircuitBreakerRecordSuccess(benchmark::State& state) {
  static CircuitBreaker breaker("b", CircuitBreakerSettings{});
  const TimePoint now = Clock::now();
  for (auto _ : state) {
    const CircuitBreaker::Permit permit = breaker.try_acquire(now);
    breaker.record(permit, now, std::chrono::microseconds(50), false);
  }
}
BENCHMARK(BM_CircuitBreakerRecordSuccess)->Threads(1)->Threads(2);

struct Table {
  std::vector<int> rows{1, 2, 3};
};

// A request keeping the routing table it was routed by: a copy of the pointer, dropped at the end.
void BM_SnapshotCopyKeptByARequest(benchmark::State& state) {
  static Snapshot<Table> snapshot(std::make_shared<const Table>());
  for (auto _ : state) {
    std::shared_ptr<const Table> kept = snapshot.read_shared();
    benchmark::DoNotOptimize(kept);
  }
}
BENCHMARK(BM_SnapshotCopyKeptByARequest)->Threads(1)->Threads(2);

}  // namespace
}  // namespace seraph
