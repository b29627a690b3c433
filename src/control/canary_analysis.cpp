#include "control/canary_analysis.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "control/statistics.h"

namespace seraph {
namespace {

// Samples each side needs before the latency test runs: below this the normal approximation is poor.
constexpr size_t kMinLatencySamples = 20;

// The q-quantile (0 < q <= 1) by the nearest-rank method.
double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  const size_t k = std::clamp<size_t>(rank, 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

// Fisher's test while an expected count of the 2x2 table is small; the z-test otherwise.
void test_errors(const VariantStats::Window& baseline, const VariantStats::Window& candidate, AnalysisResult& r) {
  const int64_t n = baseline.requests + candidate.requests;
  const int64_t errors = baseline.errors + candidate.errors;
  if (baseline.requests == 0 || candidate.requests == 0) return;
  const double smallest_side = static_cast<double>(std::min(baseline.requests, candidate.requests));
  const double smallest_margin = static_cast<double>(std::min(errors, n - errors));
  const double smallest_expected = smallest_side * smallest_margin / static_cast<double>(n);
  if (smallest_expected < 5) {
    r.error_test = "fisher";
    r.error_p_value = fisher_exact(candidate.errors, candidate.requests - candidate.errors, baseline.errors,
                                   baseline.requests - baseline.errors, Alternative::kGreater)
                          .p_value;
  } else {
    r.error_test = "z";
    r.error_p_value = two_proportion_z_test(baseline.errors, baseline.requests, candidate.errors, candidate.requests,
                                            Alternative::kGreater)
                          .p_value;
  }
}

void test_latency(const VariantStats::Window& baseline, const VariantStats::Window& candidate,
                  const AnalysisSettings& settings, AnalysisResult& r) {
  r.baseline_median_ms = quantile(baseline.latencies_ms, 0.5);
  r.candidate_median_ms = quantile(candidate.latencies_ms, 0.5);
  r.candidate_p99_ms = quantile(candidate.latencies_ms, 0.99);
  if (baseline.latencies_ms.size() < kMinLatencySamples || candidate.latencies_ms.size() < kMinLatencySamples) return;
  std::vector<double> tolerated = baseline.latencies_ms;
  for (double& v : tolerated) v = v * (1 + settings.latency_tolerance) + settings.latency_slack_ms;
  const TestResult t = mann_whitney_u(candidate.latencies_ms, tolerated, Alternative::kGreater);
  r.latency_tested = true;
  r.latency_u = t.statistic;
  r.latency_p_value = t.p_value;
}

}  // namespace

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kHold: return "hold";
    case Verdict::kPass: return "pass";
    case Verdict::kRollback: return "rollback";
  }
  return "hold";
}

AnalysisResult analyse_step(const VariantStats::Window& baseline, const VariantStats::Window& candidate,
                            const VariantStats::Window* shadow, const AnalysisSettings& settings, int64_t look) {
  AnalysisResult r;
  r.look = look;
  r.alpha_per_test = alpha_for_look(settings.alpha, look) / 2;
  r.baseline_requests = baseline.requests;
  r.baseline_errors = baseline.errors;
  r.candidate_requests = candidate.requests;
  r.candidate_errors = candidate.errors;
  if (candidate.requests < settings.min_requests) {
    r.reason = fmt::format("candidate has {} of {} requests needed for a look", candidate.requests, settings.min_requests);
    return r;
  }
  test_errors(baseline, candidate, r);
  test_latency(baseline, candidate, settings, r);
  if (shadow) {
    r.shadow_compared = shadow->shadow_compared;
    r.shadow_agreement = shadow->shadow_compared ? static_cast<double>(shadow->shadow_agreed) / static_cast<double>(shadow->shadow_compared) : 1;
    r.shadow_max_abs_difference = shadow->shadow_max_abs_difference;
  }

  r.verdict = Verdict::kRollback;
  const double success_rate = 100.0 * static_cast<double>(candidate.requests - candidate.errors) / static_cast<double>(candidate.requests);
  if (r.error_p_value < r.alpha_per_test) {
    r.reason = fmt::format("error rate {:.2f}% vs baseline {:.2f}% ({} test p = {:.3g} < {:.3g})",
                           100.0 * static_cast<double>(candidate.errors) / static_cast<double>(candidate.requests),
                           baseline.requests ? 100.0 * static_cast<double>(baseline.errors) / static_cast<double>(baseline.requests) : 0.0,
                           r.error_test, r.error_p_value, r.alpha_per_test);
  } else if (r.latency_tested && r.latency_p_value < r.alpha_per_test) {
    r.reason = fmt::format("median latency {:.3f} ms vs baseline {:.3f} ms, beyond the tolerance of {:.0f}% + {:.3g} ms "
                           "(Mann-Whitney p = {:.3g} < {:.3g})",
                           r.candidate_median_ms, r.baseline_median_ms, settings.latency_tolerance * 100,
                           settings.latency_slack_ms, r.latency_p_value, r.alpha_per_test);
  } else if (settings.min_success_rate > 0 && success_rate < settings.min_success_rate) {
    r.reason = fmt::format("success rate {:.2f}% below the required {:.2f}%", success_rate, settings.min_success_rate);
  } else if (settings.max_p99_ms > 0 && r.candidate_p99_ms > settings.max_p99_ms) {
    r.reason = fmt::format("p99 latency {:.3f} ms above the limit of {:.3f} ms", r.candidate_p99_ms, settings.max_p99_ms);
  } else if (settings.min_shadow_agreement > 0 && r.shadow_compared >= settings.min_shadow_comparisons &&
             r.shadow_agreement < settings.min_shadow_agreement) {
    r.reason = fmt::format("shadow agreed on {:.2f}% of top labels, below the required {:.2f}%", r.shadow_agreement * 100,
                           settings.min_shadow_agreement * 100);
  } else {
    r.verdict = Verdict::kPass;
  }
  return r;
}

std::string AnalysisResult::to_json() const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("verdict");
  w.String(verdict_name(verdict));
  w.Key("reason");
  w.String(reason.c_str());
  w.Key("look");
  w.Int64(look);
  w.Key("alpha_per_test");
  w.Double(alpha_per_test);
  w.Key("baseline");
  w.StartObject();
  w.Key("requests");
  w.Int64(baseline_requests);
  w.Key("errors");
  w.Int64(baseline_errors);
  w.Key("median_ms");
  w.Double(baseline_median_ms);
  w.EndObject();
  w.Key("candidate");
  w.StartObject();
  w.Key("requests");
  w.Int64(candidate_requests);
  w.Key("errors");
  w.Int64(candidate_errors);
  w.Key("median_ms");
  w.Double(candidate_median_ms);
  w.Key("p99_ms");
  w.Double(candidate_p99_ms);
  w.EndObject();
  w.Key("error_test");
  w.StartObject();
  w.Key("method");
  const std::string_view method = error_test.empty() ? std::string_view("none") : error_test;
  w.String(method.data(), static_cast<rapidjson::SizeType>(method.size()));
  w.Key("p_value");
  w.Double(error_p_value);
  w.EndObject();
  w.Key("latency_test");
  w.StartObject();
  w.Key("method");
  w.String(latency_tested ? "mann_whitney_u" : "none");
  w.Key("u");
  w.Double(latency_u);
  w.Key("p_value");
  w.Double(latency_p_value);
  w.EndObject();
  if (shadow_compared > 0) {
    w.Key("shadow");
    w.StartObject();
    w.Key("compared");
    w.Int64(shadow_compared);
    w.Key("agreement");
    w.Double(shadow_agreement);
    w.Key("max_abs_difference");
    w.Double(shadow_max_abs_difference);
    w.EndObject();
  }
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace seraph
