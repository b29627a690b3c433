#pragma once
#include <time.h>

#include <chrono>

namespace seraph {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// The steady clock as of the kernel's last tick (a few milliseconds behind at most), read without
// touching the TSC: for limits of seconds (idle and header timeouts), where a precise read per
// request is waste. Not for ordering events: two reads within a tick are equal.
inline TimePoint coarse_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                               std::chrono::nanoseconds(ts.tv_nsec)));
}

inline double elapsed_ms(TimePoint since, TimePoint now = Clock::now()) {
  return std::chrono::duration<double, std::milli>(now - since).count();
}

}  // namespace seraph
