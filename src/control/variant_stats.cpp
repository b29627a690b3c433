#include "control/variant_stats.h"

#include <algorithm>

namespace seraph {
namespace {

Labels with(Labels labels, const char* key, const char* value) {
  labels.emplace_back(key, value);
  return labels;
}

size_t fault_index(FaultKind kind, FaultSource source) {
  return static_cast<size_t>(kind) * kFaultSources + static_cast<size_t>(source);
}

}  // namespace

const char* fault_kind_name(FaultKind kind) { return kind == FaultKind::kDelay ? "delay" : "abort"; }

const char* fault_source_name(FaultSource source) {
  switch (source) {
    case FaultSource::kDeployment: return "deployment";
    case FaultSource::kVariant: return "variant";
    case FaultSource::kBackend: return "backend";
    case FaultSource::kHeader: return "header";
  }
  return "unknown";
}

Family<Counter>& faults_injected_family(MetricsRegistry& metrics) {
  return metrics.counter("seraph_faults_injected_total",
                         "Faults injected, by kind and by the setting that injected them (source).");
}

VariantMetricFamilies::VariantMetricFamilies(MetricsRegistry& metrics)
    : requests(metrics.counter("seraph_variant_requests_total", "Requests each deployment variant served, by outcome (error: 5xx).")),
      duration(metrics.histogram("seraph_variant_request_duration_seconds",
                                 "Latency of the requests each deployment variant served.", latency_buckets())),
      faults(faults_injected_family(metrics)),
      shadow_comparisons(metrics.counter("seraph_shadow_comparisons_total",
                                         "Shadow answers compared with the served ones, by result (failed: no answer to compare).")),
      weight(metrics.gauge("seraph_variant_weight", "Each deployment variant's routing weight (for a shadow: percent of requests copied).")) {}

VariantStats::VariantStats(VariantMetricFamilies& families, const Labels& labels)
    : ok_total_(families.requests.get(with(labels, "outcome", "ok"))),
      error_total_(families.requests.get(with(labels, "outcome", "error"))),
      duration_(families.duration.get(labels)),
      shadow_agree_(families.shadow_comparisons.get(with(labels, "result", "agree"))),
      shadow_disagree_(families.shadow_comparisons.get(with(labels, "result", "disagree"))),
      shadow_failed_total_(families.shadow_comparisons.get(with(labels, "result", "failed"))),
      weight_(families.weight.get(labels)) {
  for (FaultKind kind : {FaultKind::kDelay, FaultKind::kAbort}) {
    for (size_t source = 0; source < kFaultSources; ++source) {
      Labels fault = with(labels, "fault", fault_kind_name(kind));
      fault.emplace_back("source", fault_source_name(static_cast<FaultSource>(source)));
      faults_[fault_index(kind, static_cast<FaultSource>(source))] = &families.faults.get(fault);
    }
  }
}

void VariantStats::record(unsigned status, double latency_ms) {
  const bool error = status >= 500;
  WindowShard& shard = window_[metric_shard()];
  const uint64_t slot = shard.requests.fetch_add(1, std::memory_order_relaxed) % kLatencyCapacity;
  if (error) shard.errors.fetch_add(1, std::memory_order_relaxed);
  shard.latencies[slot].store(static_cast<float>(latency_ms), std::memory_order_relaxed);
  (error ? error_total_ : ok_total_).add();
  duration_.observe(latency_ms / 1000.0);
}

void VariantStats::record_fault(FaultKind kind, FaultSource source) { faults_[fault_index(kind, source)]->add(); }

void VariantStats::record_shadow(bool failed, bool same_top_label, double max_abs_difference) {
  if (failed) {
    shadow_failed_.fetch_add(1, std::memory_order_relaxed);
    shadow_failed_total_.add();
    return;
  }
  shadow_compared_.fetch_add(1, std::memory_order_relaxed);
  if (same_top_label) shadow_agreed_.fetch_add(1, std::memory_order_relaxed);
  (same_top_label ? shadow_agree_ : shadow_disagree_).add();
  double current = shadow_max_abs_difference_.load(std::memory_order_relaxed);
  while (max_abs_difference > current &&
         !shadow_max_abs_difference_.compare_exchange_weak(current, max_abs_difference, std::memory_order_relaxed)) {
  }
}

VariantStats::Window VariantStats::window() const {
  Window w;
  for (const WindowShard& shard : window_) {
    const uint64_t requests = shard.requests.load(std::memory_order_relaxed);
    w.requests += static_cast<int64_t>(requests);
    w.errors += shard.errors.load(std::memory_order_relaxed);
    const size_t samples = std::min<uint64_t>(requests, kLatencyCapacity);
    for (size_t i = 0; i < samples; ++i) w.latencies_ms.push_back(shard.latencies[i].load(std::memory_order_relaxed));
  }
  w.shadow_compared = shadow_compared_.load(std::memory_order_relaxed);
  w.shadow_agreed = shadow_agreed_.load(std::memory_order_relaxed);
  w.shadow_failed = shadow_failed_.load(std::memory_order_relaxed);
  w.shadow_max_abs_difference = shadow_max_abs_difference_.load(std::memory_order_relaxed);
  return w;
}

void VariantStats::reset_window() {
  for (WindowShard& shard : window_) {
    shard.requests.store(0, std::memory_order_relaxed);
    shard.errors.store(0, std::memory_order_relaxed);
  }
  shadow_compared_.store(0, std::memory_order_relaxed);
  shadow_agreed_.store(0, std::memory_order_relaxed);
  shadow_failed_.store(0, std::memory_order_relaxed);
  shadow_max_abs_difference_.store(0, std::memory_order_relaxed);
}

void VariantRecorder::on_finished(const FinishedRequest& request) {
  if (request.variant_stats) request.variant_stats->record(request.status, request.seconds * 1000.0);
}

}  // namespace seraph
