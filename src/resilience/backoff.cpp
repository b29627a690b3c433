#include "resilience/backoff.h"

#include <algorithm>

namespace seraph {

std::chrono::microseconds full_jitter_backoff(std::chrono::microseconds base, std::chrono::microseconds max,
                                              int attempt, std::mt19937_64& generator) {
  // Doubling stops at the cap (and before the shift could overflow).
  int64_t ceiling = base.count();
  for (int i = 0; i < attempt && ceiling < max.count(); ++i) ceiling *= 2;
  ceiling = std::clamp<int64_t>(ceiling, 0, max.count());
  return std::chrono::microseconds(std::uniform_int_distribution<int64_t>(0, ceiling)(generator));
}

}  // namespace seraph
