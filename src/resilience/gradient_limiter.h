#pragma once
// An adaptive concurrency limit after Netflix's Gradient2: the limit follows the ratio of the
// long-term RTT (exponentially smoothed) to the short-term one (the last window's mean). While
// latency stays flat the limit creeps up by `headroom` a step; when queueing makes the short RTT
// grow past `tolerance` times the long one, the limit falls (by at most half a step). Each step is
// smoothed and bounded by the hard cap `max_limit` and the floor `min_limit`. A target that does
// not use half its limit gives no evidence either way, and its limit stays. Deterministic: the
// caller feeds it one sample per window.
#include <chrono>

namespace seraph {

struct GradientSettings {
  int min_limit = 8;
  int max_limit = 1000;  // the hard cap
  int initial_limit = 64;
  double tolerance = 1.5;  // a short RTT up to this times the long one counts as no queueing
  double smoothing = 0.2;  // the share of each step's new limit taken (0-1]
  int long_window = 100;   // samples the long-term RTT averages over
  int headroom = 4;        // added each step (Gradient2's queue size): the limit probes upward
};

class GradientLimiter {
 public:
  explicit GradientLimiter(const GradientSettings& settings);

  // One window's sample: its mean RTT, and the requests in flight at its end. Returns the limit.
  int update(std::chrono::nanoseconds rtt, int inflight);

  int limit() const { return static_cast<int>(limit_); }
  double long_rtt_ns() const { return long_rtt_; }

 private:
  static constexpr int kWarmup = 10;  // samples averaged plainly before the smoothing starts

  const GradientSettings settings_;
  double limit_;
  double long_rtt_ = 0;
  int samples_ = 0;
};

}  // namespace seraph
