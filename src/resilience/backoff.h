#pragma once
// Jittered exponential back-off ("full jitter"): the wait before retry `attempt` (0 for the first)
// is uniform in [0, min(max, base * 2^attempt)], so clients that failed together do not retry
// together.
#include <chrono>
#include <random>

namespace seraph {

std::chrono::microseconds full_jitter_backoff(std::chrono::microseconds base, std::chrono::microseconds max,
                                              int attempt, std::mt19937_64& generator);

}  // namespace seraph
