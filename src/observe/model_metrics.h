#pragma once
// The per-model-version series: requests by outcome and status code, latency, in-flight, state.
// Series are resolved once per version (and once per new status code), so recording is lock-free.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "core/clock.h"
#include "observe/inference_statistics.h"
#include "observe/metrics.h"

namespace seraph {

// Families shared by every model version; created once per registry.
struct ModelMetricFamilies {
  explicit ModelMetricFamilies(MetricsRegistry& registry);
  Family<Counter>& requests;
  Family<Histogram>& request_duration;
  Family<Histogram>& compute_duration;
  Family<Gauge>& inflight;
  Family<Gauge>& state;
  Family<Histogram>& load_duration;
  Family<Counter>& loads;
  Family<Counter>& unloads;
  Family<Gauge>& memory;
  Family<Gauge>& queue_depth;
  Family<Histogram>& queue_duration;
  Family<Histogram>& batch_size;
  Family<Counter>& executions;
  Family<Counter>& executed_requests;
};

// Counters by HTTP status code, created on first use of each code.
class StatusCodeCounters {
 public:
  StatusCodeCounters(Family<Counter>& family, Labels base) : family_(family), base_(std::move(base)) {}
  void add(unsigned status);

 private:
  Family<Counter>& family_;
  Labels base_;
  std::array<std::atomic<Counter*>, 500> by_code_{};  // statuses 100..599
};

class ModelMetrics {
 public:
  ModelMetrics(ModelMetricFamilies& families, const std::string& model, int64_t version);

  // A request the version answered with `status`, `seconds` after it arrived, at `finished`.
  void record_request(unsigned status, double seconds, TimePoint finished);
  // One runtime call that served `requests` requests holding `rows` rows in all.
  void record_execution(double rows, double requests, double seconds) {
    compute_duration_.observe(seconds);
    batch_size_.observe(rows);
    executions_.add();
    executed_requests_.add(static_cast<uint64_t>(requests));
  }
  // The phases of a successful runtime call: merging inputs, the runtime, splitting outputs.
  void record_execution_phases(uint64_t rows, uint64_t requests, Clock::duration input, Clock::duration infer,
                               Clock::duration output) {
    statistics_.record_execution(rows, requests, input, infer, output);
  }
  void record_queue_time(Clock::duration waited) {
    queue_duration_.observe(std::chrono::duration<double>(waited).count());
    statistics_.record_queue(waited);
  }
  const InferenceStatistics& statistics() const { return statistics_; }
  Gauge& queue_depth() { return queue_depth_; }
  Gauge& inflight() { return inflight_; }
  // Exactly one of the state series is 1.
  void set_state(const std::string& state);
  // outcome: "success" or "failure".
  void record_load(const char* outcome, double seconds);
  // reason: "evicted" (memory budget), "requested" (repository API) or "shutdown".
  void record_unload(const char* reason);
  void set_memory_bytes(double bytes) { memory_.set(bytes); }

 private:
  ModelMetricFamilies& families_;
  Labels labels_;
  StatusCodeCounters requests_;
  Histogram& request_duration_;
  Histogram& compute_duration_;
  Gauge& inflight_;
  Histogram& load_duration_;
  Gauge& memory_;
  Gauge& queue_depth_;
  Histogram& queue_duration_;
  Histogram& batch_size_;
  Counter& executions_;
  Counter& executed_requests_;
  InferenceStatistics statistics_;
};

// "success" for 2xx, "client_error" for 4xx, "server_error" otherwise.
const char* outcome_of(unsigned status);

}  // namespace seraph
