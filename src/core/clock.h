#pragma once
#include <time.h>

#include <chrono>
#include <cstdint>

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

// A steady-clock time as Unix time in milliseconds (for showing it; the two clocks may drift apart).
inline int64_t to_unix_ms(TimePoint when, TimePoint now = Clock::now()) {
  const auto unix_now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(unix_now + (when - now)).count();
}

inline double elapsed_ms(TimePoint since, TimePoint now = Clock::now()) {
  return std::chrono::duration<double, std::milli>(now - since).count();
}

}  // namespace seraph
