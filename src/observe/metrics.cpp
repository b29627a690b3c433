#include "observe/metrics.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include <fmt/format.h>

namespace seraph {

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds),
      lines_per_shard_((bounds.size() + 2 + kSlotsPerLine - 1) / kSlotsPerLine),
      lines_(new Line[kMetricShards * lines_per_shard_]) {}

void Histogram::observe(double value) {
  const size_t shard = metric_shard();
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  slot(shard, bucket).fetch_add(1, std::memory_order_relaxed);
  // The shard's sum, as a double's bits: only threads sharing the shard ever compete for it.
  std::atomic<uint64_t>& sum = slot(shard, bounds_.size() + 1);
  uint64_t current = sum.load(std::memory_order_relaxed);
  while (!sum.compare_exchange_weak(current, std::bit_cast<uint64_t>(std::bit_cast<double>(current) + value),
                                    std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.cumulative.assign(bounds_.size() + 1, 0);
  for (size_t shard = 0; shard < kMetricShards; ++shard) {
    for (size_t i = 0; i <= bounds_.size(); ++i) snap.cumulative[i] += slot(shard, i).load(std::memory_order_relaxed);
    snap.sum += std::bit_cast<double>(slot(shard, bounds_.size() + 1).load(std::memory_order_relaxed));
  }
  for (size_t i = 1; i <= bounds_.size(); ++i) snap.cumulative[i] += snap.cumulative[i - 1];
  snap.count = snap.cumulative.back();
  return snap;
}

namespace {

// The family named `name`, made on first use: one metric name is one family (one TYPE line), however
// many places record into it.
template <class Series, class... Args>
Family<Series>& family(std::deque<Family<Series>>& families, const std::string& name, const std::string& help,
                       Args&&... args) {
  for (Family<Series>& f : families) {
    if (f.name() == name) return f;
  }
  return families.emplace_back(name, help, std::forward<Args>(args)...);
}

}  // namespace

Family<Counter>& MetricsRegistry::counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  return family(counters_, name, help);
}

Family<Gauge>& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  return family(gauges_, name, help);
}

Family<Histogram>& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                              std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  return family(histograms_, name, help, std::move(bounds));
}

Family<Gauge>& MetricsRegistry::sampled_counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  return family(sampled_counters_, name, help);
}

void MetricsRegistry::on_collect(std::function<void()> refresh) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(refresh));
}

namespace {

// Label values escape backslash, double quote and newline; HELP text escapes backslash and newline.
void append_escaped(std::string& out, const std::string& value, bool quote) {
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (quote && c == '"') out += "\\\"";
    else out += c;
  }
}

void append_labels(std::string& out, const Labels& labels, const char* extra_name = nullptr,
                   const std::string& extra_value = {}) {
  if (labels.empty() && !extra_name) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    append_escaped(out, v, true);
    out += '"';
  }
  if (extra_name) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void append_header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped(out, help, false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

std::string MetricsRegistry::render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mutex_);
    collectors = collectors_;
  }
  for (auto& refresh : collectors) refresh();

  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(16384);
  for (const auto& family : counters_) {
    append_header(out, family.name(), family.help(), "counter");
    family.for_each([&](const Labels& labels, const Counter& c) {
      out += family.name();
      append_labels(out, labels);
      out += ' ';
      out += std::to_string(c.value());
      out += '\n';
    });
  }
  auto render_gauges = [&out](const std::deque<Family<Gauge>>& families, const char* type) {
    for (const auto& family : families) {
      append_header(out, family.name(), family.help(), type);
      family.for_each([&](const Labels& labels, const Gauge& g) {
        out += family.name();
        append_labels(out, labels);
        out += ' ';
        out += format_value(g.value());
        out += '\n';
      });
    }
  };
  render_gauges(gauges_, "gauge");
  render_gauges(sampled_counters_, "counter");
  for (const auto& family : histograms_) {
    append_header(out, family.name(), family.help(), "histogram");
    family.for_each([&](const Labels& labels, const Histogram& h) {
      Histogram::Snapshot snap = h.snapshot();
      for (size_t i = 0; i <= h.bounds().size(); ++i) {
        out += family.name();
        out += "_bucket";
        append_labels(out, labels, "le", i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf");
        out += ' ';
        out += std::to_string(snap.cumulative[i]);
        out += '\n';
      }
      out += family.name();
      out += "_sum";
      append_labels(out, labels);
      out += ' ';
      out += format_value(snap.sum);
      out += '\n';
      out += family.name();
      out += "_count";
      append_labels(out, labels);
      out += ' ';
      out += std::to_string(snap.count);
      out += '\n';
    });
  }
  return out;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> kBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                            0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
                                            5,      10};
  return kBuckets;
}

}  // namespace seraph
