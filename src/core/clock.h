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

// The wall-clock time at steady time `when`, for timestamps (the access log, Triton's last
// inference): the offset between the clocks is read once a second per thread, so a time the caller
// already has costs no clock read; a step of the wall clock shows within that second.
inline std::chrono::system_clock::time_point wall_clock_at(TimePoint when) {
  thread_local TimePoint offset_read_at{};
  thread_local std::chrono::nanoseconds offset{};
  const auto since_read = when - offset_read_at;  // either way: callers pass times a little past
  if (since_read >= std::chrono::seconds(1) || since_read <= -std::chrono::seconds(1)) {
    offset_read_at = Clock::now();
    offset = std::chrono::system_clock::now().time_since_epoch() - offset_read_at.time_since_epoch();
  }
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(when.time_since_epoch() + offset));
}

inline double elapsed_ms(TimePoint since, TimePoint now = Clock::now()) {
  return std::chrono::duration<double, std::milli>(now - since).count();
}

}  // namespace seraph
