#include "resilience/gradient_limiter.h"

#include <algorithm>

namespace seraph {

GradientLimiter::GradientLimiter(const GradientSettings& settings)
    : settings_(settings), limit_(std::clamp<double>(settings.initial_limit, settings.min_limit, settings.max_limit)) {}

int GradientLimiter::update(std::chrono::nanoseconds rtt, int inflight) {
  const double short_rtt = std::max<double>(1, static_cast<double>(rtt.count()));
  if (samples_ < kWarmup) {
    long_rtt_ = (long_rtt_ * samples_ + short_rtt) / (samples_ + 1);
    ++samples_;
  } else {
    const double factor = 2.0 / (settings_.long_window + 1);
    long_rtt_ = long_rtt_ * (1 - factor) + short_rtt * factor;
  }
  // After a long overload the long RTT lags far behind a recovered short one: let it catch up
  // faster than the smoothing would, so the limit does not stay pinned high.
  if (long_rtt_ / short_rtt > 2) long_rtt_ *= 0.95;
  if (inflight < limit_ / 2) return limit();  // app-limited: no evidence to move on
  // Never more than 1 (no growth from a short RTT below the long one alone), never below 0.5
  // (one outlier window halves the limit at most).
  const double gradient = std::clamp(settings_.tolerance * long_rtt_ / short_rtt, 0.5, 1.0);
  const double next = limit_ * gradient + settings_.headroom;
  limit_ = std::clamp(limit_ * (1 - settings_.smoothing) + next * settings_.smoothing,
                      static_cast<double>(settings_.min_limit), static_cast<double>(settings_.max_limit));
  return limit();
}

}  // namespace seraph
