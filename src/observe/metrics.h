#pragma once
// Prometheus metrics: counters, gauges and histograms grouped in labelled families, rendered in
// the text exposition format. Series are created off the hot path (at model load, at first use of a
// status code); recording a sample is a relaxed atomic add on the recording thread's own shard
// (observe/metric_shards.h) and takes no lock; a scrape sums the shards.
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "observe/metric_shards.h"

namespace seraph {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void add(uint64_t n = 1) { counts_.add(0, n); }
  uint64_t value() const { return counts_.value(0); }

 private:
  ShardedCounts<1> counts_;
};

// A gauge is either set (a level read from elsewhere) or moved by deltas (in flight, pending), not
// both: set() stores the level, add() moves the calling thread's shard, and the value is their sum.
class Gauge {
 public:
  void set(double v) { level_.store(v, std::memory_order_relaxed); }
  void add(double delta) {
    std::atomic<uint64_t>& bits = deltas_[metric_shard()].bits;
    uint64_t current = bits.load(std::memory_order_relaxed);
    while (!bits.compare_exchange_weak(current, std::bit_cast<uint64_t>(std::bit_cast<double>(current) + delta),
                                       std::memory_order_relaxed)) {
    }
  }
  double value() const {
    double total = level_.load(std::memory_order_relaxed);
    for (const Delta& d : deltas_) total += std::bit_cast<double>(d.bits.load(std::memory_order_relaxed));
    return total;
  }

 private:
  struct alignas(kCacheLine) Delta {
    std::atomic<uint64_t> bits{0};  // a double's bits; 0 is +0.0
  };
  std::atomic<double> level_{0};
  std::array<Delta, kMetricShards> deltas_;
};

class Histogram {
 public:
  // Upper bounds in seconds (or the family's unit), ascending; +Inf is implicit.
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  // Each shard: the non-cumulative bucket counts (bounds_.size() + 1), then the sum's bits, padded
  // to whole cache lines.
  struct alignas(kCacheLine) Line {
    std::array<std::atomic<uint64_t>, kCacheLine / sizeof(uint64_t)> slots{};
  };
  std::atomic<uint64_t>& slot(size_t shard, size_t i) const {
    return lines_[shard * lines_per_shard_ + i / kSlotsPerLine].slots[i % kSlotsPerLine];
  }
  static constexpr size_t kSlotsPerLine = kCacheLine / sizeof(uint64_t);

  std::vector<double> bounds_;
  size_t lines_per_shard_;
  std::unique_ptr<Line[]> lines_;
};

// All series of one metric name. get() returns a reference that stays valid for the family's life.
template <class Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), bounds_(std::move(bounds)) {}

  Series& get(const Labels& labels) {
    std::lock_guard lock(mutex_);
    for (auto& [l, s] : series_) {
      if (l == labels) return *s;
    }
    if constexpr (std::is_same_v<Series, Histogram>) {
      series_.emplace_back(labels, std::make_unique<Series>(bounds_));
    } else {
      series_.emplace_back(labels, std::make_unique<Series>());
    }
    return *series_.back().second;
  }

  template <class Fn>
  void for_each(Fn&& fn) const {
    std::lock_guard lock(mutex_);
    for (const auto& [l, s] : series_) fn(l, *s);
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }

 private:
  std::string name_;
  std::string help_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::deque<std::pair<Labels, std::unique_ptr<Series>>> series_;
};

class MetricsRegistry {
 public:
  // The family of that name, made on the first call (with `help`); later calls return the same one.
  Family<Counter>& counter(const std::string& name, const std::string& help);
  Family<Gauge>& gauge(const std::string& name, const std::string& help);
  Family<Histogram>& histogram(const std::string& name, const std::string& help, std::vector<double> bounds);
  // A counter whose value is read from elsewhere (the OS's CPU seconds), set at collection time.
  Family<Gauge>& sampled_counter(const std::string& name, const std::string& help);

  // Called before each scrape, to refresh gauges that are read rather than recorded (RSS, fds).
  void on_collect(std::function<void()> refresh);

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  mutable std::mutex mutex_;  // guards the lists, not the samples
  std::deque<Family<Counter>> counters_;
  std::deque<Family<Gauge>> gauges_;
  std::deque<Family<Gauge>> sampled_counters_;
  std::deque<Family<Histogram>> histograms_;
  std::vector<std::function<void()>> collectors_;
};

// Latency buckets in seconds, 100 us to 10 s.
const std::vector<double>& latency_buckets();

}  // namespace seraph
