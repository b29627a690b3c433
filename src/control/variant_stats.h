#pragma once
// What one deployment variant served: cumulative Prometheus series, and a resettable window (the
// current rollout step) that canary analysis reads. Recording is lock-free and per thread: relaxed
// atomic adds and a ring of recent latencies on the recording thread's own cache lines.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "observe/metric_shards.h"
#include "observe/metrics.h"
#include "observe/request_observer.h"

namespace seraph {

enum class FaultKind { kDelay, kAbort };
// Which setting injected a fault: the deployment's, the variant's, its remote backend's, or the
// request's own headers (guards/fault_injection_guard.h).
enum class FaultSource { kDeployment, kVariant, kBackend, kHeader };
constexpr size_t kFaultSources = 4;
// The label values of seraph_faults_injected_total.
const char* fault_kind_name(FaultKind kind);
const char* fault_source_name(FaultSource source);
// seraph_faults_injected_total: one family for every variant's faults and the guard's own.
Family<Counter>& faults_injected_family(MetricsRegistry& metrics);

// The metric families every variant's series belong to; created once per process.
struct VariantMetricFamilies {
  explicit VariantMetricFamilies(MetricsRegistry& metrics);
  Family<Counter>& requests;
  Family<Histogram>& duration;
  Family<Counter>& faults;
  Family<Counter>& shadow_comparisons;
  Family<Gauge>& weight;
};

class VariantStats final : public OutcomeSink {
 public:
  // Latency samples kept per window and recording thread: the most recent ones, enough for a
  // Mann-Whitney test.
  static constexpr size_t kLatencyCapacity = 4096;

  // `labels` identify the variant in the metrics: deployment, environment, variant, model, version.
  VariantStats(VariantMetricFamilies& families, const Labels& labels);

  // A request this variant served (answered with `status` after `latency_ms`); 5xx are errors.
  void record(unsigned status, double latency_ms) override;
  void record_fault(FaultKind kind, FaultSource source);
  // The variant's current weight, for graphing a rollout's progress (0 once it leaves the deployment).
  void set_weight(double weight) { weight_.set(weight); }
  // A shadow copy's result compared with the served answer (or failed: no comparison possible).
  void record_shadow(bool failed, bool same_top_label, double max_abs_difference);

  struct Window {
    int64_t requests = 0;
    int64_t errors = 0;
    std::vector<double> latencies_ms;  // the most recent ones, at most kLatencyCapacity per recording thread
    int64_t shadow_compared = 0;
    int64_t shadow_agreed = 0;
    int64_t shadow_failed = 0;
    double shadow_max_abs_difference = 0;
  };
  Window window() const;
  // Starts a new window (a new rollout step). Requests finishing at that moment may land in either.
  void reset_window();

 private:
  // One recording thread's part of the window. Its request count also picks each request's slot
  // in its latency ring.
  struct alignas(kCacheLine) WindowShard {
    std::atomic<uint64_t> requests{0};
    std::atomic<int64_t> errors{0};
    std::unique_ptr<std::atomic<float>[]> latencies = std::make_unique<std::atomic<float>[]>(kLatencyCapacity);
  };
  std::array<WindowShard, kMetricShards> window_;
  std::atomic<int64_t> shadow_compared_{0};
  std::atomic<int64_t> shadow_agreed_{0};
  std::atomic<int64_t> shadow_failed_{0};
  std::atomic<double> shadow_max_abs_difference_{0};

  Counter& ok_total_;
  Counter& error_total_;
  Histogram& duration_;
  std::array<Counter*, 2 * kFaultSources> faults_;  // by kind, then source
  Counter& shadow_agree_;
  Counter& shadow_disagree_;
  Counter& shadow_failed_total_;
  Gauge& weight_;
};

// Feeds every request a deployment variant served into that variant's stats.
class VariantRecorder final : public RequestObserver {
 public:
  void on_finished(const FinishedRequest& request) override;
};

}  // namespace seraph
