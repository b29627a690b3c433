#pragma once
// The statistical tests behind canary analysis and A/B experiment results. Each matches the scipy
// function named beside it (checked against scipy in tests/unit/statistics_test.cpp).
#include <cstdint>
#include <span>

namespace seraph {

// Which way the alternative hypothesis points, as scipy's `alternative` argument.
enum class Alternative { kTwoSided, kLess, kGreater };

struct TestResult {
  double statistic = 0;
  double p_value = 1;
};

struct Interval {
  double low = 0;
  double high = 0;
};

// Standard normal distribution: scipy.stats.norm.cdf / .sf / .ppf.
double normal_cdf(double z);
double normal_sf(double z);
double normal_quantile(double p);  // 0 < p < 1

// Chi-squared distribution's survival function: scipy.stats.chi2.sf(x, dof).
double chi_squared_sf(double x, double dof);

// Two-proportion z-test with pooled variance, on p2 - p1 (successes x of n trials).
// kGreater: the alternative is p2 > p1. statistic = z. Equals
// statsmodels.stats.proportion.proportions_ztest([x2, x1], [n2, n1], alternative=...) and, for two
// sides, scipy.stats.chi2_contingency(..., correction=False) p-value. With n1 or n2 zero, or
// no variance (all or none succeed), p = 1 and z = 0.
TestResult two_proportion_z_test(int64_t x1, int64_t n1, int64_t x2, int64_t n2, Alternative alternative);

// Fisher's exact test on the 2x2 table [[a, b], [c, d]]: scipy.stats.fisher_exact(table,
// alternative). statistic = the sample odds ratio (a*d)/(b*c) (inf or nan as scipy gives).
TestResult fisher_exact(int64_t a, int64_t b, int64_t c, int64_t d, Alternative alternative);

// Mann-Whitney U test of x against y: scipy.stats.mannwhitneyu(x, y, alternative,
// use_continuity=True, method="asymptotic"), with the tie correction. statistic = U of x.
// kGreater: x tends to be larger than y. Empty x or y gives p = 1.
TestResult mann_whitney_u(std::span<const double> x, std::span<const double> y, Alternative alternative);

// Chi-squared goodness of fit: scipy.stats.chisquare(observed, f_exp=expected), where `expected`
// is rescaled to the observed total first (so weights may be passed as the expectation).
// Categories with zero expectation must have zero observations; they are ignored.
TestResult chi_squared_goodness_of_fit(std::span<const double> observed, std::span<const double> expected);

// Wald confidence interval for p2 - p1 at `confidence` (e.g. 0.95), unpooled standard error.
Interval proportion_difference_interval(int64_t x1, int64_t n1, int64_t x2, int64_t n2, double confidence);

// Alpha spending for an open-ended sequence of looks at the data: look k (1-based) may spend
// alpha * 6 / (pi^2 k^2). The series sums to alpha, so by the union bound the chance of any false
// rejection over all looks, however many, stays at most alpha.
double alpha_for_look(double alpha, int64_t look);

}  // namespace seraph
