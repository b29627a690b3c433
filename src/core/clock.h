#pragma once
#include <chrono>

namespace seraph {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

inline double elapsed_ms(TimePoint since, TimePoint now = Clock::now()) {
  return std::chrono::duration<double, std::milli>(now - since).count();
}

}  // namespace seraph
