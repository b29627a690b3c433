#pragma once
// Judges a canary step: compares what the candidate served with what the baseline served in the
// same step, and says roll back (the candidate is worse), or not (promote once the step's hold is
// over; hold until then).
//
// Tests, each one-sided (only a worse candidate matters):
//   errors   5xx share higher than the baseline's: Fisher's exact test while any expected cell
//            count is below 5, else the two-proportion z-test;
//   latency  slower than the baseline by more than the tolerance: Mann-Whitney U of the
//            candidate's latencies against the baseline's scaled by (1 + tolerance) plus a slack.
//            The slack is there because a variant with little traffic is measurably slower for
//            reasons of its own (its execution thread sleeps between requests, its caches are
//            cold): tens of microseconds that no user notices must not fail a good candidate;
//   shadow   (when a shadow ran) share of identical top labels below a floor;
//   limits   optional Flagger-style thresholds: success rate and p99.
// The analysis looks at the data repeatedly as it arrives, so the tests' false-rollback rate is
// kept by alpha spending: look k may use alpha * 6 / (pi^2 k^2), split evenly over the two tests,
// which sums to at most alpha over any number of looks.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/variant_stats.h"

namespace seraph {

struct AnalysisSettings {
  double alpha = 0.01;                 // chance, over a whole rollout, of rolling back a candidate as good as the baseline
  double latency_tolerance = 0.10;     // the candidate may be this much slower (0.1: 10%)
  double latency_slack_ms = 0.5;       // ... plus this much
  int64_t min_requests = 25;           // candidate requests in the step before the first look
  double min_shadow_agreement = 0;     // 0-1; 0: off
  int64_t min_shadow_comparisons = 50;
  double min_success_rate = 0;         // percent of non-5xx answers, 0-100; 0: off
  double max_p99_ms = 0;               // 0: off
};

enum class Verdict { kHold, kPass, kRollback };
const char* verdict_name(Verdict verdict);

struct AnalysisResult {
  Verdict verdict = Verdict::kHold;
  std::string reason;    // for a rollback: which check failed, in words
  int64_t look = 0;
  double alpha_per_test = 0;
  int64_t baseline_requests = 0, baseline_errors = 0;
  int64_t candidate_requests = 0, candidate_errors = 0;
  std::string_view error_test;  // "fisher" or "z", or "" when not run
  double error_p_value = 1;
  double baseline_median_ms = 0, candidate_median_ms = 0, candidate_p99_ms = 0;
  bool latency_tested = false;
  double latency_u = 0;
  double latency_p_value = 1;
  int64_t shadow_compared = 0;
  double shadow_agreement = 1;
  double shadow_max_abs_difference = 0;

  std::string to_json() const;  // for the event log
};

// When to look at a step's data: first once the candidate has min_requests requests, then each
// time its count doubles, and once more when the step's hold is over. Looks at doubling sample
// sizes are few (about log2 of the step's size), so alpha spending stays generous.
class LookSchedule {
 public:
  explicit LookSchedule(int64_t first_look = 1) : first_(first_look), next_(first_look) {}
  bool due(int64_t candidate_requests, bool step_done) const {
    return candidate_requests >= first_ && (candidate_requests >= next_ || step_done);
  }
  void looked(int64_t candidate_requests) { next_ = std::max(next_ * 2, candidate_requests * 2); }
  void start_step() { next_ = first_; }

 private:
  int64_t first_;
  int64_t next_;
};

// `look` counts the analyses of this rollout so far, this one included (1-based).
AnalysisResult analyse_step(const VariantStats::Window& baseline, const VariantStats::Window& candidate,
                            const VariantStats::Window* shadow, const AnalysisSettings& settings, int64_t look);

}  // namespace seraph
