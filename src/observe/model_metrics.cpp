#include "observe/model_metrics.h"

namespace seraph {

const char* outcome_of(unsigned status) {
  if (status >= 200 && status < 300) return "success";
  if (status >= 400 && status < 500) return "client_error";
  return "server_error";
}

ModelMetricFamilies::ModelMetricFamilies(MetricsRegistry& registry)
    : requests(registry.counter("seraph_model_requests_total", "Inference requests answered, by model version, outcome and HTTP status code.")),
      request_duration(registry.histogram("seraph_model_request_duration_seconds", "Time from request received to answer ready, in seconds.", latency_buckets())),
      compute_duration(registry.histogram("seraph_model_compute_duration_seconds", "Time the runtime spent executing, in seconds.", latency_buckets())),
      inflight(registry.gauge("seraph_model_inflight_requests", "Inference requests being processed.")),
      state(registry.gauge("seraph_model_state", "Model version state: 1 for the current state, 0 otherwise.")),
      load_duration(registry.histogram("seraph_model_load_duration_seconds", "Time loads of the model version took, in seconds.", {0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})),
      loads(registry.counter("seraph_model_loads_total", "Loads of the model version, by outcome.")),
      unloads(registry.counter("seraph_model_unloads_total", "Unloads of the model version, by reason (evicted, requested, shutdown).")),
      memory(registry.gauge("seraph_model_memory_bytes", "Memory the loaded model version takes, in bytes (0 when not loaded).")),
      queue_depth(registry.gauge("seraph_model_queue_depth", "Requests waiting in the model version's batching queue.")),
      queue_duration(registry.histogram("seraph_model_queue_duration_seconds", "Time a request waited in the queue before its batch ran, in seconds.", latency_buckets())),
      batch_size(registry.histogram("seraph_model_batch_size", "Rows per runtime execution.", {1, 2, 4, 8, 16, 32, 64, 128, 256})),
      executions(registry.counter("seraph_model_executions_total", "Runtime executions (batches) run.")),
      executed_requests(registry.counter("seraph_model_executed_requests_total", "Requests served by runtime executions; divided by executions, the mean requests per batch.")) {}

void StatusCodeCounters::add(unsigned status) {
  if (status < 100 || status > 599) status = 500;
  std::atomic<Counter*>& slot = by_code_[status - 100];
  Counter* counter = slot.load(std::memory_order_acquire);
  if (!counter) {
    Labels labels = base_;
    labels.emplace_back("outcome", outcome_of(status));
    labels.emplace_back("code", std::to_string(status));
    counter = &family_.get(labels);  // idempotent: two racing threads get the same series
    slot.store(counter, std::memory_order_release);
  }
  counter->add();
}

ModelMetrics::ModelMetrics(ModelMetricFamilies& families, const std::string& model, int64_t version)
    : families_(families),
      labels_{{"model", model}, {"version", std::to_string(version)}},
      requests_(families.requests, labels_),
      request_duration_(families.request_duration.get(labels_)),
      compute_duration_(families.compute_duration.get(labels_)),
      inflight_(families.inflight.get(labels_)),
      load_duration_(families.load_duration.get(labels_)),
      memory_(families.memory.get(labels_)),
      queue_depth_(families.queue_depth.get(labels_)),
      queue_duration_(families.queue_duration.get(labels_)),
      batch_size_(families.batch_size.get(labels_)),
      executions_(families.executions.get(labels_)),
      executed_requests_(families.executed_requests.get(labels_)) {}

void ModelMetrics::record_request(unsigned status, double seconds, TimePoint finished) {
  requests_.add(status);
  request_duration_.observe(seconds);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wall_clock_at(finished).time_since_epoch());
  statistics_.record_request(status >= 200 && status < 300,
                             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)),
                             now_ms.count());
}

void ModelMetrics::record_load(const char* outcome, double seconds) {
  load_duration_.observe(seconds);
  Labels labels = labels_;
  labels.emplace_back("outcome", outcome);
  families_.loads.get(labels).add();
}

void ModelMetrics::record_unload(const char* reason) {
  Labels labels = labels_;
  labels.emplace_back("reason", reason);
  families_.unloads.get(labels).add();
}

void ModelMetrics::set_state(const std::string& state) {
  for (const char* s : {"LOADING", "READY", "UNLOADING", "UNAVAILABLE"}) {
    Labels labels = labels_;
    labels.emplace_back("state", s);
    families_.state.get(labels).set(state == s ? 1 : 0);
  }
}

}  // namespace seraph
