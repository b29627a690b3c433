#include "control/statistics.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

// The scipy cross-check runs tests/unit/scipy_reference.py with Debian's python3 and python3-scipy
// (scripts/install-deps.sh). Either may be overridden at compile time.
#ifndef SERAPH_PYTHON
#define SERAPH_PYTHON "/usr/bin/python3"
#endif
#ifndef SERAPH_SCIPY_REFERENCE
#define SERAPH_SCIPY_REFERENCE ""
#endif

namespace seraph {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------------------------------
// Normal distribution

TEST(NormalQuantile, MatchesTheFamiliarCriticalValues) {
  EXPECT_DOUBLE_EQ(normal_quantile(0.975), 1.959963984540054);
  EXPECT_DOUBLE_EQ(normal_quantile(0.025), -1.959963984540054);
  EXPECT_EQ(normal_quantile(0.5), 0);
}

TEST(NormalQuantile, IsOddAboutOneHalf) {
  // Values whose 1 - p is exact in binary.
  for (double p : {0x1p-50, 0x1p-20, 0x1p-7, 0.0625, 0.25, 0.375, 0.4375}) {
    EXPECT_EQ(normal_quantile(1 - p), -normal_quantile(p)) << p;
  }
}

TEST(NormalQuantile, InvertsTheCdf) {
  for (double p : {1e-300, 1e-100, 1e-10, 0.001, 0.02425, 0.2, 0.5, 0.7}) {
    EXPECT_NEAR(normal_cdf(normal_quantile(p)) / p, 1, 1e-13) << p;
  }
}

TEST(NormalQuantile, IsInfiniteAtZeroAndOneAndNanOutside) {
  EXPECT_EQ(normal_quantile(0), -kInf);
  EXPECT_EQ(normal_quantile(1), kInf);
  EXPECT_TRUE(std::isnan(normal_quantile(-0.1)));
  EXPECT_TRUE(std::isnan(normal_quantile(1.5)));
  EXPECT_TRUE(std::isnan(normal_quantile(std::nan(""))));
}

TEST(NormalCdf, IsOneHalfAtZeroAndSymmetric) {
  EXPECT_EQ(normal_cdf(0), 0.5);
  EXPECT_DOUBLE_EQ(normal_cdf(1.96), 0.9750021048517795);
  for (double z : {0.1, 1.0, 3.0, 10.0}) {
    EXPECT_EQ(normal_sf(z), normal_cdf(-z)) << z;
    EXPECT_NEAR(normal_cdf(z) + normal_cdf(-z), 1, 1e-15) << z;
  }
}

TEST(NormalSf, KeepsRelativePrecisionFarInTheTail) {
  EXPECT_NEAR(normal_sf(37) / 5.7255712225239266e-300, 1, 1e-12);
  EXPECT_EQ(normal_sf(kInf), 0);
  EXPECT_EQ(normal_cdf(-kInf), 0);
  EXPECT_EQ(normal_cdf(kInf), 1);
}

// ---------------------------------------------------------------------------------------------------
// Chi-squared distribution

TEST(ChiSquaredSf, GivesFivePercentAtTheOneDegreeCriticalValue) {
  EXPECT_NEAR(chi_squared_sf(3.84145882, 1), 0.05, 1e-9);
  EXPECT_NEAR(chi_squared_sf(3.841458820694124, 1) / 0.05, 1, 1e-13);
}

TEST(ChiSquaredSf, HasTheClosedFormsOfOneAndTwoDegrees) {
  for (double x : {0.01, 0.5, 2.0, 7.0, 30.0, 300.0}) {
    EXPECT_NEAR(chi_squared_sf(x, 2) / std::exp(-x / 2), 1, 1e-13) << x;
    EXPECT_NEAR(chi_squared_sf(x, 1) / std::erfc(std::sqrt(x / 2)), 1, 1e-12) << x;
  }
}

TEST(ChiSquaredSf, IsOneAtZeroAndZeroAtInfinity) {
  EXPECT_EQ(chi_squared_sf(0, 3), 1);
  EXPECT_EQ(chi_squared_sf(-1, 3), 1);
  EXPECT_EQ(chi_squared_sf(kInf, 3), 0);
}

TEST(ChiSquaredSf, IsNanWithoutDegreesOfFreedomAsScipy) {
  EXPECT_TRUE(std::isnan(chi_squared_sf(1, 0)));
  EXPECT_TRUE(std::isnan(chi_squared_sf(std::nan(""), 1)));
}

// ---------------------------------------------------------------------------------------------------
// Two-proportion z-test

TEST(TwoProportionZTest, PoolsTheVariance) {
  // 30/100 against 45/100: pooled 0.375, z = 0.15 / sqrt(0.375 * 0.625 * 0.02).
  const TestResult r = two_proportion_z_test(30, 100, 45, 100, Alternative::kTwoSided);
  EXPECT_NEAR(r.statistic, 2.1908902300206643, 1e-12);
  // Equal to chi2_contingency([[45, 55], [30, 70]], correction=False).
  EXPECT_NEAR(r.p_value, 0.028459736916310638, 1e-12);
}

TEST(TwoProportionZTest, GreaterMeansTheSecondProportionIsLarger) {
  const TestResult greater = two_proportion_z_test(30, 100, 45, 100, Alternative::kGreater);
  const TestResult less = two_proportion_z_test(30, 100, 45, 100, Alternative::kLess);
  EXPECT_LT(greater.p_value, 0.05);
  EXPECT_GT(less.p_value, 0.95);
  EXPECT_NEAR(greater.p_value + less.p_value, 1, 1e-15);
  EXPECT_NEAR(2 * greater.p_value, two_proportion_z_test(30, 100, 45, 100, Alternative::kTwoSided).p_value, 1e-15);
}

TEST(TwoProportionZTest, SwappingTheGroupsFlipsTheSign) {
  const TestResult forward = two_proportion_z_test(30, 100, 45, 120, Alternative::kTwoSided);
  const TestResult backward = two_proportion_z_test(45, 120, 30, 100, Alternative::kTwoSided);
  EXPECT_EQ(forward.statistic, -backward.statistic);
  EXPECT_EQ(forward.p_value, backward.p_value);
}

TEST(TwoProportionZTest, EqualProportionsGiveZeroAndOne) {
  const TestResult r = two_proportion_z_test(10, 100, 20, 200, Alternative::kTwoSided);
  EXPECT_EQ(r.statistic, 0);
  EXPECT_EQ(r.p_value, 1);
}

TEST(TwoProportionZTest, NoTrialsOrNoVarianceGiveNoEvidence) {
  for (Alternative alternative : {Alternative::kTwoSided, Alternative::kLess, Alternative::kGreater}) {
    for (const auto& [x1, n1, x2, n2] : std::vector<std::array<int64_t, 4>>{{0, 0, 5, 10},
                                                                            {5, 10, 0, 0},
                                                                            {0, 0, 0, 0},
                                                                            {10, 10, 20, 20},
                                                                            {0, 10, 0, 20},
                                                                            {-1, 10, 5, 10},
                                                                            {11, 10, 5, 10}}) {
      const TestResult r = two_proportion_z_test(x1, n1, x2, n2, alternative);
      EXPECT_EQ(r.statistic, 0) << x1 << "/" << n1 << " vs " << x2 << "/" << n2;
      EXPECT_EQ(r.p_value, 1) << x1 << "/" << n1 << " vs " << x2 << "/" << n2;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Fisher's exact test

TEST(FisherExact, MatchesTheTextbookTable) {
  const TestResult two_sided = fisher_exact(8, 2, 1, 5, Alternative::kTwoSided);
  EXPECT_EQ(two_sided.statistic, 20);
  EXPECT_NEAR(two_sided.p_value, 0.034965034965034975, 1e-15);  // 10/286
  EXPECT_NEAR(fisher_exact(8, 2, 1, 5, Alternative::kLess).p_value, 0.9991258741258742, 1e-15);
  EXPECT_NEAR(fisher_exact(8, 2, 1, 5, Alternative::kGreater).p_value, 0.024475524475524483, 1e-15);
}

TEST(FisherExact, TwoSidedIsTheSameForTheTransposedAndMirroredTable) {
  const double p = fisher_exact(8, 2, 1, 5, Alternative::kTwoSided).p_value;
  EXPECT_NEAR(fisher_exact(8, 1, 2, 5, Alternative::kTwoSided).p_value, p, 1e-15);
  EXPECT_NEAR(fisher_exact(1, 5, 8, 2, Alternative::kTwoSided).p_value, p, 1e-15);
  EXPECT_NEAR(fisher_exact(2, 8, 5, 1, Alternative::kTwoSided).p_value, p, 1e-15);
}

TEST(FisherExact, LessAndGreaterSwapWithTheRows) {
  EXPECT_NEAR(fisher_exact(8, 2, 1, 5, Alternative::kGreater).p_value,
              fisher_exact(1, 5, 8, 2, Alternative::kLess).p_value, 1e-15);
}

TEST(FisherExact, CountsTablesAsProbableAsTheObservedOne) {
  // [[3, 5], [5, 3]] is exactly as probable as [[5, 3], [3, 5]]: both tails count in full.
  const double p = fisher_exact(3, 5, 5, 3, Alternative::kTwoSided).p_value;
  EXPECT_NEAR(p, 0.6192696192696193, 1e-15);
  EXPECT_NEAR(p, 2 * fisher_exact(3, 5, 5, 3, Alternative::kLess).p_value, 1e-15);
  EXPECT_EQ(fisher_exact(4, 4, 4, 4, Alternative::kTwoSided).p_value, 1);
}

TEST(FisherExact, OddsRatioIsInfiniteWithAZeroOffDiagonal) {
  const TestResult r = fisher_exact(5, 0, 1, 4, Alternative::kTwoSided);
  EXPECT_EQ(r.statistic, kInf);
  EXPECT_EQ(fisher_exact(0, 5, 4, 1, Alternative::kTwoSided).statistic, 0);
}

TEST(FisherExact, AnEmptyRowOrColumnGivesNanAndOne) {
  for (const auto& [a, b, c, d] :
       std::vector<std::array<int64_t, 4>>{{0, 0, 3, 4}, {3, 4, 0, 0}, {0, 3, 0, 4}, {3, 0, 4, 0}, {0, 0, 0, 0}}) {
    const TestResult r = fisher_exact(a, b, c, d, Alternative::kTwoSided);
    EXPECT_TRUE(std::isnan(r.statistic));
    EXPECT_EQ(r.p_value, 1);
  }
}

TEST(FisherExact, StaysFinitePreciseAndFastForLargeCounts) {
  // Canary-sized counts: no factorial overflows, and the tails are still resolved.
  const TestResult r = fisher_exact(120, 999880, 200, 999800, Alternative::kTwoSided);
  EXPECT_GT(r.p_value, 0);
  EXPECT_LT(r.p_value, 1e-4);
  EXPECT_EQ(fisher_exact(500000, 500000, 500000, 500000, Alternative::kTwoSided).p_value, 1);
}

// ---------------------------------------------------------------------------------------------------
// Mann-Whitney U

TEST(MannWhitneyU, MatchesScipysExample) {
  const std::vector<double> x = {19, 22, 16, 29, 24};
  const std::vector<double> y = {20, 11, 17, 12};
  const TestResult two_sided = mann_whitney_u(x, y, Alternative::kTwoSided);
  EXPECT_EQ(two_sided.statistic, 17);
  EXPECT_NEAR(two_sided.p_value, 0.11134688653314041, 1e-15);
  EXPECT_NEAR(mann_whitney_u(x, y, Alternative::kGreater).p_value, 0.055673443266570206, 1e-15);
  EXPECT_NEAR(mann_whitney_u(x, y, Alternative::kLess).p_value, 0.9669037101389033, 1e-15);
}

TEST(MannWhitneyU, GivesTiesTheirAverageRankAndCorrectsTheVariance) {
  const std::vector<double> x = {1, 2, 2, 3, 3, 3};
  const std::vector<double> y = {2, 3, 3, 4};
  const TestResult r = mann_whitney_u(x, y, Alternative::kTwoSided);
  EXPECT_EQ(r.statistic, 7);
  EXPECT_NEAR(r.p_value, 0.29934100790353024, 1e-15);
}

TEST(MannWhitneyU, SwappingTheSamplesMirrorsU) {
  const std::vector<double> x = {0.5, 1.5, 2.5, 9, 10};
  const std::vector<double> y = {1, 2, 3, 4, 5, 6, 7};
  const TestResult forward = mann_whitney_u(x, y, Alternative::kTwoSided);
  const TestResult backward = mann_whitney_u(y, x, Alternative::kTwoSided);
  EXPECT_EQ(forward.statistic + backward.statistic, 35);
  EXPECT_EQ(forward.p_value, backward.p_value);
  EXPECT_EQ(mann_whitney_u(x, y, Alternative::kGreater).p_value, mann_whitney_u(y, x, Alternative::kLess).p_value);
}

TEST(MannWhitneyU, AllEqualValuesGiveOne) {
  const std::vector<double> x(7, 3.0);
  const std::vector<double> y(5, 3.0);
  for (Alternative alternative : {Alternative::kTwoSided, Alternative::kLess, Alternative::kGreater}) {
    const TestResult r = mann_whitney_u(x, y, alternative);
    EXPECT_EQ(r.statistic, 17.5);
    EXPECT_EQ(r.p_value, 1);
  }
}

TEST(MannWhitneyU, AnEmptySampleGivesOne) {
  const std::vector<double> some = {1, 2, 3};
  EXPECT_EQ(mann_whitney_u({}, some, Alternative::kTwoSided).p_value, 1);
  EXPECT_EQ(mann_whitney_u(some, {}, Alternative::kGreater).p_value, 1);
  EXPECT_EQ(mann_whitney_u({}, {}, Alternative::kLess).p_value, 1);
}

TEST(MannWhitneyU, TreatsSignedZerosAsTies) {
  const std::vector<double> x = {-0.0, 1, 2};
  const std::vector<double> y = {0.0, 3};
  const std::vector<double> y_same = {-0.0, 3};
  EXPECT_EQ(mann_whitney_u(x, y, Alternative::kTwoSided).statistic, 2.5);
  EXPECT_EQ(mann_whitney_u(x, y, Alternative::kTwoSided).p_value,
            mann_whitney_u(x, y_same, Alternative::kTwoSided).p_value);
}

TEST(MannWhitneyU, RanksLargeSamplesAsSmallOnes) {
  // Above a few hundred values the samples are radix sorted; negative values, infinities and ties
  // must rank exactly as in a comparison sort.
  std::vector<double> x, y;
  for (int i = 0; i < 3000; ++i) x.push_back((i % 2 ? -1 : 1) * (i % 100) * 0.25);
  for (int i = 0; i < 2000; ++i) y.push_back((i % 3 ? -1 : 1) * (i % 70) * 0.5 + 0.125);
  x.push_back(-kInf), y.push_back(kInf);
  // U of x counts pairs with x > y, plus half the ties.
  double u = 0;
  for (double a : x)
    for (double b : y) u += a > b ? 1 : a == b ? 0.5 : 0;
  EXPECT_EQ(mann_whitney_u(x, y, Alternative::kTwoSided).statistic, u);
}

TEST(MannWhitneyU, LeavesOutNans) {
  const std::vector<double> x = {19, std::nan(""), 22, 16, 29, 24};
  const std::vector<double> y = {20, 11, std::nan(""), 17, 12};
  EXPECT_NEAR(mann_whitney_u(x, y, Alternative::kTwoSided).p_value, 0.11134688653314041, 1e-15);
}

TEST(MannWhitneyU, SeparatedLargeSamplesGiveATinyPValue) {
  std::vector<double> x(5000), y(5000);
  for (int i = 0; i < 5000; ++i) x[i] = i, y[i] = i + 2500.5;
  const TestResult r = mann_whitney_u(x, y, Alternative::kLess);
  EXPECT_EQ(r.statistic, 2499.0 * 2500 / 2);  // x_i > y_j for i - j > 2500
  EXPECT_LT(r.p_value, 1e-300);
  EXPECT_GE(r.p_value, 0);
}

// ---------------------------------------------------------------------------------------------------
// Chi-squared goodness of fit

TEST(ChiSquaredGoodnessOfFit, MatchesScipysFairDieExample) {
  const std::vector<double> observed = {16, 18, 16, 14, 12, 12};
  const TestResult r = chi_squared_goodness_of_fit(observed, std::vector<double>(6, 1.0));
  EXPECT_DOUBLE_EQ(r.statistic, 2.0);
  EXPECT_NEAR(r.p_value, 0.8491450360846096, 1e-14);
}

TEST(ChiSquaredGoodnessOfFit, RescalesTheExpectationToTheObservedTotal) {
  const std::vector<double> observed = {30, 50, 20};
  const TestResult from_weights = chi_squared_goodness_of_fit(observed, std::vector<double>{0.3, 0.5, 0.2});
  EXPECT_NEAR(from_weights.statistic, 0, 1e-12);
  EXPECT_NEAR(from_weights.p_value, 1, 1e-12);
  const TestResult from_counts = chi_squared_goodness_of_fit(observed, std::vector<double>{3, 3, 4});
  const TestResult from_scaled = chi_squared_goodness_of_fit(observed, std::vector<double>{30, 30, 40});
  EXPECT_NEAR(from_counts.statistic, from_scaled.statistic, 1e-12);
  EXPECT_NEAR(from_counts.p_value, from_scaled.p_value, 1e-15);
}

TEST(ChiSquaredGoodnessOfFit, IgnoresCategoriesExpectedToBeEmpty) {
  const std::vector<double> observed = {16, 0, 18, 16, 14, 12, 12};
  const TestResult r = chi_squared_goodness_of_fit(observed, std::vector<double>{1, 0, 1, 1, 1, 1, 1});
  EXPECT_DOUBLE_EQ(r.statistic, 2.0);
  EXPECT_NEAR(r.p_value, 0.8491450360846096, 1e-14);
}

TEST(ChiSquaredGoodnessOfFit, ObservingTheImpossibleGivesZero) {
  const TestResult r = chi_squared_goodness_of_fit(std::vector<double>{5, 1, 5}, std::vector<double>{1, 0, 1});
  EXPECT_EQ(r.statistic, kInf);
  EXPECT_EQ(r.p_value, 0);
}

TEST(ChiSquaredGoodnessOfFit, DegenerateInputGivesOne) {
  const std::vector<double> two = {1, 2};
  EXPECT_EQ(chi_squared_goodness_of_fit({}, {}).p_value, 1);
  EXPECT_EQ(chi_squared_goodness_of_fit(two, std::vector<double>{1, 2, 3}).p_value, 1);  // lengths differ
  EXPECT_EQ(chi_squared_goodness_of_fit(std::vector<double>{0, 0}, two).p_value, 1);     // nothing observed
  EXPECT_EQ(chi_squared_goodness_of_fit(two, std::vector<double>{0, 0}).p_value, 1);     // no expectation
  EXPECT_EQ(chi_squared_goodness_of_fit(std::vector<double>{7}, std::vector<double>{1}).p_value, 1);
  EXPECT_EQ(chi_squared_goodness_of_fit(std::vector<double>{0, 7}, std::vector<double>{0, 1}).p_value, 1);
  EXPECT_EQ(chi_squared_goodness_of_fit(std::vector<double>{-1, 7}, two).p_value, 1);
}

// ---------------------------------------------------------------------------------------------------
// Wald interval

TEST(ProportionDifferenceInterval, IsTheDifferencePlusMinusZTimesTheUnpooledError) {
  const Interval i = proportion_difference_interval(30, 100, 45, 100, 0.95);
  const double se = std::sqrt(0.3 * 0.7 / 100 + 0.45 * 0.55 / 100);
  EXPECT_NEAR(i.low, 0.15 - 1.959963984540054 * se, 1e-15);
  EXPECT_NEAR(i.high, 0.15 + 1.959963984540054 * se, 1e-15);
}

TEST(ProportionDifferenceInterval, WidensWithConfidence) {
  const Interval ninety = proportion_difference_interval(30, 100, 45, 100, 0.9);
  const Interval ninety_nine = proportion_difference_interval(30, 100, 45, 100, 0.99);
  EXPECT_LT(ninety_nine.low, ninety.low);
  EXPECT_GT(ninety_nine.high, ninety.high);
}

TEST(ProportionDifferenceInterval, CollapsesWithoutVariance) {
  const Interval i = proportion_difference_interval(10, 10, 0, 20, 0.95);
  EXPECT_EQ(i.low, -1);
  EXPECT_EQ(i.high, -1);
}

TEST(ProportionDifferenceInterval, WithoutDataCoversEveryDifference) {
  const Interval none = proportion_difference_interval(0, 0, 5, 10, 0.95);
  EXPECT_EQ(none.low, -1);
  EXPECT_EQ(none.high, 1);
  const Interval certain = proportion_difference_interval(3, 10, 5, 10, 1.0);
  EXPECT_EQ(certain.low, -1);
  EXPECT_EQ(certain.high, 1);
}

// ---------------------------------------------------------------------------------------------------
// Alpha spending

TEST(AlphaForLook, SpendsSixOverPiSquaredKSquared) {
  EXPECT_DOUBLE_EQ(alpha_for_look(0.05, 1), 0.05 * 6 / (std::numbers::pi * std::numbers::pi));
  EXPECT_DOUBLE_EQ(alpha_for_look(0.05, 3), alpha_for_look(0.05, 1) / 9);
}

TEST(AlphaForLook, NeverSpendsMoreThanAlphaOverAllLooks) {
  double spent = 0;
  for (int64_t look = 1; look <= 1000000; ++look) spent += alpha_for_look(0.05, look);
  EXPECT_LT(spent, 0.05);
  EXPECT_GT(spent, 0.05 * (1 - 1e-6));
}

TEST(AlphaForLook, SpendsNothingBeforeTheFirstLook) {
  EXPECT_EQ(alpha_for_look(0.05, 0), 0);
  EXPECT_EQ(alpha_for_look(0.05, -3), 0);
}

// ---------------------------------------------------------------------------------------------------
// Cross-check against scipy
//
// A few hundred seeded pseudo-random cases per function go to tests/unit/scipy_reference.py; every
// answer must agree to a relative 1e-9. The one looser check (1e-6) is the z-test's two-sided p against
// chi2_contingency, which reaches the same p by a different formula. Each check prints the largest
// difference it saw.

const char* alternative_name(Alternative alternative) {
  switch (alternative) {
    case Alternative::kLess: return "less";
    case Alternative::kGreater: return "greater";
    case Alternative::kTwoSided: break;
  }
  return "two-sided";
}

constexpr Alternative kAlternatives[] = {Alternative::kTwoSided, Alternative::kLess, Alternative::kGreater};

struct ProportionsCase {
  int64_t x1, n1, x2, n2;
  Alternative alternative;
};
struct FisherCase {
  int64_t a, b, c, d;
  Alternative alternative;
};
struct SamplesCase {
  std::vector<double> x, y;
  Alternative alternative;
};
struct GoodnessOfFitCase {
  std::vector<double> observed, expected;
};
struct IntervalCase {
  int64_t x1, n1, x2, n2;
  double confidence;
};

struct Cases {
  std::vector<double> normal_cdf, normal_sf, normal_quantile;
  std::vector<std::pair<double, double>> chi_squared_sf;
  std::vector<ProportionsCase> proportions;
  std::vector<FisherCase> fisher;
  std::vector<SamplesCase> samples;
  std::vector<GoodnessOfFitCase> goodness_of_fit;
  std::vector<IntervalCase> intervals;
  std::vector<std::pair<double, int64_t>> looks;
};

Cases generate_cases() {
  std::mt19937_64 rng(20240611);
  const auto uniform = [&](double low, double high) { return std::uniform_real_distribution<double>(low, high)(rng); };
  const auto integer = [&](int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(rng);
  };
  const auto log_uniform_integer = [&](double low, double high) {
    return static_cast<int64_t>(std::exp(uniform(std::log(low), std::log(high))));
  };
  Cases cases;

  for (int i = 0; i < 300; ++i) {
    // Down to 5.7e-300 in the tails; the middle more densely.
    const double z = i % 3 == 0 ? uniform(-2, 2) : uniform(-37, 37);
    cases.normal_cdf.push_back(z);
    cases.normal_sf.push_back(-z + uniform(-0.1, 0.1));
  }
  for (int i = 0; i < 300; ++i) {
    switch (i % 3) {
      case 0: cases.normal_quantile.push_back(uniform(0, 1)); break;
      case 1: cases.normal_quantile.push_back(std::pow(10.0, -uniform(0, 300))); break;
      case 2: cases.normal_quantile.push_back(1 - std::pow(10.0, -uniform(0, 16))); break;
    }
  }
  cases.normal_quantile.push_back(0.5);
  cases.normal_quantile.push_back(0.02425);
  cases.normal_quantile.push_back(1 - 0.02425);

  for (int i = 0; i < 300; ++i) {
    const double dof = i % 4 == 0 ? integer(1, 200) / 2.0 : static_cast<double>(integer(1, 10));
    const double x = dof * std::exp(uniform(std::log(0.01), std::log(i % 5 == 0 ? 60.0 : 5.0)));
    cases.chi_squared_sf.emplace_back(x, dof);
  }

  for (int i = 0; i < 300; ++i) {
    const bool tiny = i % 2 == 0;
    const int64_t n1 = tiny ? integer(1, 10) : log_uniform_integer(1e3, 1e7);
    const int64_t n2 = tiny ? integer(1, 10) : log_uniform_integer(1e3, 1e7);
    const double p = uniform(0, 1);
    const double shift = uniform(-3, 3) * std::sqrt(p * (1 - p) / static_cast<double>(std::min(n1, n2)));
    const int64_t x1 = std::clamp<int64_t>(std::llround(p * static_cast<double>(n1)), 0, n1);
    const int64_t x2 = std::clamp<int64_t>(std::llround((p + shift) * static_cast<double>(n2)), 0, n2);
    cases.proportions.push_back({tiny ? integer(0, n1) : x1, n1, tiny ? integer(0, n2) : x2, n2, kAlternatives[i % 3]});
  }

  for (int i = 0; i < 450; ++i) {
    const int64_t most = i < 300 ? 12 : i < 420 ? 200 : 5000;
    cases.fisher.push_back(
        {integer(0, most), integer(0, most), integer(0, most), integer(0, most), kAlternatives[i % 3]});
  }
  for (int i = 0; i < 150; ++i) {
    // Equal rows make the distribution symmetric: exact ties on the far side of the mode.
    const int64_t row = integer(1, i < 100 ? 20 : 2000);
    const int64_t a = integer(0, row);
    const int64_t c = integer(0, row);
    cases.fisher.push_back({a, row - a, c, row - c, kAlternatives[i % 3]});
  }

  for (int i = 0; i < 240; ++i) {
    const size_t n1 = static_cast<size_t>(i % 2 == 0 ? integer(1, 300) : log_uniform_integer(1, 301));
    const size_t n2 = static_cast<size_t>(i % 3 == 0 ? integer(1, 300) : log_uniform_integer(1, 301));
    const bool tied = i % 4 < 2;
    const int64_t levels = integer(1, 10);
    const double shift = uniform(-1, 1);
    const auto draw = [&](double offset) {
      return tied ? static_cast<double>(integer(0, levels) + std::llround(offset * static_cast<double>(levels) / 2))
                  : std::normal_distribution<double>(offset, 1)(rng);
    };
    SamplesCase c{{}, {}, kAlternatives[(i / 4) % 3]};
    for (size_t k = 0; k < n1; ++k) c.x.push_back(draw(0));
    for (size_t k = 0; k < n2; ++k) c.y.push_back(draw(shift));
    cases.samples.push_back(std::move(c));
  }
  for (int i = 0; i < 12; ++i) {
    // Large samples (sorted by radix rather than comparison), with signed zeros and an infinity. Not
    // both infinities: scipy 1.10's rankdata checks for NaNs by summing, so inf - inf makes every rank NaN.
    const double specials[] = {-0.0, 0.0, kInf, -1e300, -1e-300, 1e300};
    SamplesCase c{{}, {}, kAlternatives[i % 3]};
    const int64_t n1 = integer(256, 5000), n2 = integer(256, 5000);
    const double shift = uniform(-0.2, 0.2);
    for (int64_t k = 0; k < n1; ++k)
      c.x.push_back(k % 17 == 0 ? specials[k % 6] : std::normal_distribution<double>()(rng));
    for (int64_t k = 0; k < n2; ++k) {
      c.y.push_back(k % 13 == 0 ? specials[k % 6]
                    : i % 2     ? std::round(uniform(-5, 5) + shift)
                                : uniform(-2, 2) + shift);
    }
    cases.samples.push_back(std::move(c));
  }
  for (Alternative alternative : kAlternatives) {
    cases.samples.push_back({{1}, {2}, alternative});
    cases.samples.push_back({{1, 1, 1}, {1, 1}, alternative});
    cases.samples.push_back({{-0.0, 0.0, 1}, {0.0, -1e300, kInf}, alternative});
  }

  for (int i = 0; i < 300; ++i) {
    const int64_t categories = integer(2, 6);
    GoodnessOfFitCase c;
    for (int64_t k = 0; k < categories; ++k) {
      const double weight = uniform(0.1, 5);
      c.expected.push_back(weight);
      c.observed.push_back(static_cast<double>(integer(0, static_cast<int64_t>(weight * (i % 2 == 0 ? 10 : 1000)))));
    }
    if (categories > 2 && i % 7 == 0) c.expected[1] = c.observed[1] = 0;  // a category expected empty
    c.observed[0] += 1;                                                   // something observed
    cases.goodness_of_fit.push_back(std::move(c));
  }

  const double confidences[] = {0.8, 0.9, 0.95, 0.99, 0.999};
  for (int i = 0; i < 200; ++i) {
    const bool tiny = i % 2 == 0;
    const int64_t n1 = tiny ? integer(1, 10) : log_uniform_integer(1e3, 1e7);
    const int64_t n2 = tiny ? integer(1, 10) : log_uniform_integer(1e3, 1e7);
    cases.intervals.push_back(
        {integer(0, n1), n1, integer(0, n2), n2, i % 3 == 0 ? uniform(0.5, 0.9999) : confidences[i % 5]});
  }

  for (int i = 0; i < 50; ++i) cases.looks.emplace_back(uniform(0.001, 0.2), log_uniform_integer(1, 1e6));
  return cases;
}

// One JSON array of numbers and strings.
template <typename Writer, typename... Values>
void write_row(Writer& w, const Values&... values) {
  const auto write = [&w](const auto& value) {
    using Value = std::decay_t<decltype(value)>;
    if constexpr (std::is_same_v<Value, double>)
      w.Double(value);
    else if constexpr (std::is_same_v<Value, int64_t>)
      w.Int64(value);
    else
      w.String(value);
  };
  w.StartArray();
  (write(values), ...);
  w.EndArray();
}

std::string to_json(const Cases& cases) {
  rapidjson::StringBuffer buffer;
  // Infinities are written as Python's json reads them.
  rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::CrtAllocator,
                    rapidjson::kWriteNanAndInfFlag>
      w(buffer);
  const auto doubles = [&](const char* key, const std::vector<double>& values) {
    w.Key(key);
    w.StartArray();
    for (double v : values) w.Double(v);
    w.EndArray();
  };
  w.StartObject();
  doubles("normal_cdf", cases.normal_cdf);
  doubles("normal_sf", cases.normal_sf);
  doubles("normal_quantile", cases.normal_quantile);
  w.Key("chi_squared_sf");
  w.StartArray();
  for (const auto& [x, dof] : cases.chi_squared_sf) write_row(w, x, dof);
  w.EndArray();
  w.Key("two_proportion_z_test");
  w.StartArray();
  for (const ProportionsCase& c : cases.proportions)
    write_row(w, c.x1, c.n1, c.x2, c.n2, alternative_name(c.alternative));
  w.EndArray();
  w.Key("fisher_exact");
  w.StartArray();
  for (const FisherCase& c : cases.fisher) write_row(w, c.a, c.b, c.c, c.d, alternative_name(c.alternative));
  w.EndArray();
  w.Key("mann_whitney_u");
  w.StartArray();
  for (const SamplesCase& c : cases.samples) {
    w.StartObject();
    doubles("x", c.x);
    doubles("y", c.y);
    w.Key("alternative");
    w.String(alternative_name(c.alternative));
    w.EndObject();
  }
  w.EndArray();
  w.Key("chi_squared_goodness_of_fit");
  w.StartArray();
  for (const GoodnessOfFitCase& c : cases.goodness_of_fit) {
    w.StartObject();
    doubles("observed", c.observed);
    doubles("expected", c.expected);
    w.EndObject();
  }
  w.EndArray();
  w.Key("proportion_difference_interval");
  w.StartArray();
  for (const IntervalCase& c : cases.intervals) write_row(w, c.x1, c.n1, c.x2, c.n2, c.confidence);
  w.EndArray();
  w.Key("alpha_for_look");
  w.StartArray();
  for (const auto& [alpha, look] : cases.looks) write_row(w, alpha, look);
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

std::filesystem::path scipy_reference_script() {
  if (const std::string configured = SERAPH_SCIPY_REFERENCE; !configured.empty()) return configured;
  return std::filesystem::path(__FILE__).parent_path() / "scipy_reference.py";
}

// scipy's answers to `cases_json`, or why there are none: python3 or scipy missing, the script not found.
// The caller fails every test on an error rather than skipping them.
struct ScipyAnswers {
  rapidjson::Document document;
  std::string error;
};

ScipyAnswers ask_scipy(const std::string& cases_json) {
  ScipyAnswers answers;
  answers.document.SetObject();
  const std::filesystem::path script = scipy_reference_script();
  if (!std::filesystem::exists(script)) {
    answers.error = script.string() + " not found (run from the source tree, or define SERAPH_SCIPY_REFERENCE)";
    return answers;
  }
  std::string input = (std::filesystem::temp_directory_path() / "seraph-statistics-XXXXXX").string();
  const int fd = mkstemp(input.data());
  if (fd < 0) {
    answers.error = "mkstemp failed";
    return answers;
  }
  close(fd);
  std::ofstream(input) << cases_json;
  const std::string command = std::string("'") + SERAPH_PYTHON + "' '" + script.string() + "' '" + input + "'";
  std::string output;
  int status = -1;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char chunk[65536];
    size_t read;
    while ((read = fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, read);
    status = pclose(pipe);
  }
  std::filesystem::remove(input);
  if (status != 0) {
    answers.error = command + " failed (status " + std::to_string(status) + "): the scipy cross-check needs " +
                    SERAPH_PYTHON + " with python3-scipy (scripts/install-deps.sh)";
    return answers;
  }
  answers.document.Parse<rapidjson::kParseFullPrecisionFlag | rapidjson::kParseNanAndInfFlag>(output.c_str());
  if (answers.document.HasParseError() || !answers.document.IsObject()) {
    answers.error = "unreadable answer from scipy: " + output.substr(0, 200);
    answers.document.SetObject();
  }
  return answers;
}

// |ours - theirs| relative to `scale` (by default the larger magnitude); agreeing non-finite values and
// differences below 1e-300 (where scipy's own results turn subnormal) count as exact.
double discrepancy(double ours, double theirs, double scale = 0) {
  if (std::isnan(ours) || std::isnan(theirs)) return std::isnan(ours) && std::isnan(theirs) ? 0 : kInf;
  if (std::isinf(ours) || std::isinf(theirs)) return ours == theirs ? 0 : kInf;
  const double difference = std::fabs(ours - theirs);
  if (difference < 1e-300) return 0;
  return difference / std::max({scale, std::fabs(ours), std::fabs(theirs)});
}

// The largest discrepancy seen for one function, printed at the end for the record.
class Agreement {
 public:
  Agreement(std::string name, double tolerance) : name_(std::move(name)), tolerance_(tolerance) {}
  ~Agreement() {
    std::cout << "  scipy vs seraph, " << name_ << ": " << checked_ << " values, largest relative difference " << worst_
              << (worst_case_.empty() ? "" : " at " + worst_case_) << "\n";
  }

  void check(double ours, double theirs, const std::string& what, double scale = 0) {
    const double d = discrepancy(ours, theirs, scale);
    ++checked_;
    if (d > worst_) worst_ = d, worst_case_ = what;
    EXPECT_LE(d, tolerance_) << name_ << " " << what << ": seraph " << ours << ", scipy " << theirs;
  }

 private:
  std::string name_;
  double tolerance_;
  int checked_ = 0;
  double worst_ = 0;
  std::string worst_case_;
};

constexpr double kTolerance = 1e-9;

std::string describe(const std::vector<double>& values) {
  // fmt rather than string concatenation, which trips GCC 12's false -Wrestrict warnings.
  const size_t shown = std::min<size_t>(values.size(), 8);
  std::vector<double> head(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(shown));
  if (values.size() > 8) return fmt::format("[{},...]({})", fmt::join(head, ","), values.size());
  return fmt::format("[{}]", fmt::join(head, ","));
}

class AgreesWithScipy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cases_ = new Cases(generate_cases());
    scipy_ = new ScipyAnswers(ask_scipy(to_json(*cases_)));
  }
  static void TearDownTestSuite() {
    delete cases_;
    delete scipy_;
  }

  // The answers for `key`, one per case; fails the test if scipy gave none.
  static const rapidjson::Value* answers(const char* key, size_t expected_count) {
    if (!scipy_->error.empty()) {
      ADD_FAILURE() << scipy_->error;
      return nullptr;
    }
    const rapidjson::Value& all = scipy_->document;
    if (!all.HasMember(key) || !all[key].IsArray() || all[key].Size() != expected_count) {
      ADD_FAILURE() << "scipy gave no answers for " << key;
      return nullptr;
    }
    return &all[key];
  }

  static Cases* cases_;
  static ScipyAnswers* scipy_;
};

Cases* AgreesWithScipy::cases_ = nullptr;
ScipyAnswers* AgreesWithScipy::scipy_ = nullptr;

TEST_F(AgreesWithScipy, NormalDistribution) {
  const auto check = [](const char* key, const std::vector<double>& inputs, double (*f)(double)) {
    const rapidjson::Value* expected = answers(key, inputs.size());
    if (!expected) return;
    Agreement agreement(key, kTolerance);
    for (size_t i = 0; i < inputs.size(); ++i) {
      agreement.check(f(inputs[i]), (*expected)[i].GetDouble(), fmt::format("({})", inputs[i]));
    }
  };
  check("normal_cdf", cases_->normal_cdf, normal_cdf);
  check("normal_sf", cases_->normal_sf, normal_sf);
  check("normal_quantile", cases_->normal_quantile, normal_quantile);
}

TEST_F(AgreesWithScipy, ChiSquaredSf) {
  const rapidjson::Value* expected = answers("chi_squared_sf", cases_->chi_squared_sf.size());
  if (!expected) return;
  Agreement agreement("chi_squared_sf", kTolerance);
  for (size_t i = 0; i < cases_->chi_squared_sf.size(); ++i) {
    const auto [x, dof] = cases_->chi_squared_sf[i];
    agreement.check(chi_squared_sf(x, dof), (*expected)[i].GetDouble(),
                    fmt::format("({}, {})", x, dof));
  }
}

TEST_F(AgreesWithScipy, TwoProportionZTest) {
  const rapidjson::Value* expected = answers("two_proportion_z_test", cases_->proportions.size());
  if (!expected) return;
  Agreement statistic("two_proportion_z_test statistic", kTolerance);
  Agreement p_value("two_proportion_z_test p", kTolerance);
  // chi2.sf(chi2, 1) from a table of expected counts against 2 * norm.sf(|z|): equal in exact
  // arithmetic, but chi2_contingency's (observed - expected)^2 loses digits to cancellation.
  Agreement contingency("two_proportion_z_test vs chi2_contingency p", 1e-6);
  for (size_t i = 0; i < cases_->proportions.size(); ++i) {
    const ProportionsCase& c = cases_->proportions[i];
    const TestResult r = two_proportion_z_test(c.x1, c.n1, c.x2, c.n2, c.alternative);
    const std::string what = std::to_string(c.x1) + "/" + std::to_string(c.n1) + " vs " + std::to_string(c.x2) + "/" +
                             std::to_string(c.n2) + " " + alternative_name(c.alternative);
    const rapidjson::Value& answer = (*expected)[i];
    const double z = answer["z"].GetDouble();
    if (!std::isfinite(z)) {
      // statsmodels divides 0 by 0 without variance; seraph reports no evidence instead.
      EXPECT_EQ(r.statistic, 0) << what;
      EXPECT_EQ(r.p_value, 1) << what;
      continue;
    }
    statistic.check(r.statistic, z, what);
    p_value.check(r.p_value, answer["p"].GetDouble(), what);
    if (answer.HasMember("chi2_contingency_p")) {
      contingency.check(r.p_value, answer["chi2_contingency_p"].GetDouble(), what);
    }
  }
}

TEST_F(AgreesWithScipy, FisherExact) {
  const rapidjson::Value* expected = answers("fisher_exact", cases_->fisher.size());
  if (!expected) return;
  Agreement statistic("fisher_exact odds ratio", kTolerance);
  Agreement p_value("fisher_exact p", kTolerance);
  for (size_t i = 0; i < cases_->fisher.size(); ++i) {
    const FisherCase& c = cases_->fisher[i];
    const TestResult r = fisher_exact(c.a, c.b, c.c, c.d, c.alternative);
    const std::string what = "[[" + std::to_string(c.a) + "," + std::to_string(c.b) + "],[" + std::to_string(c.c) +
                             "," + std::to_string(c.d) + "]] " + alternative_name(c.alternative);
    statistic.check(r.statistic, (*expected)[i][0].GetDouble(), what);
    p_value.check(r.p_value, (*expected)[i][1].GetDouble(), what);
  }
}

TEST_F(AgreesWithScipy, MannWhitneyU) {
  const rapidjson::Value* expected = answers("mann_whitney_u", cases_->samples.size());
  if (!expected) return;
  Agreement statistic("mann_whitney_u statistic", kTolerance);
  Agreement p_value("mann_whitney_u p", kTolerance);
  for (size_t i = 0; i < cases_->samples.size(); ++i) {
    const SamplesCase& c = cases_->samples[i];
    const TestResult r = mann_whitney_u(c.x, c.y, c.alternative);
    const std::string what = describe(c.x) + " vs " + describe(c.y) + " " + alternative_name(c.alternative);
    statistic.check(r.statistic, (*expected)[i][0].GetDouble(), what);
    p_value.check(r.p_value, (*expected)[i][1].GetDouble(), what);
  }
}

TEST_F(AgreesWithScipy, ChiSquaredGoodnessOfFit) {
  const rapidjson::Value* expected = answers("chi_squared_goodness_of_fit", cases_->goodness_of_fit.size());
  if (!expected) return;
  Agreement statistic("chi_squared_goodness_of_fit statistic", kTolerance);
  Agreement p_value("chi_squared_goodness_of_fit p", kTolerance);
  for (size_t i = 0; i < cases_->goodness_of_fit.size(); ++i) {
    const GoodnessOfFitCase& c = cases_->goodness_of_fit[i];
    const TestResult r = chi_squared_goodness_of_fit(c.observed, c.expected);
    const std::string what = describe(c.observed) + " against " + describe(c.expected);
    statistic.check(r.statistic, (*expected)[i][0].GetDouble(), what);
    p_value.check(r.p_value, (*expected)[i][1].GetDouble(), what);
  }
}

TEST_F(AgreesWithScipy, ProportionDifferenceInterval) {
  const rapidjson::Value* expected = answers("proportion_difference_interval", cases_->intervals.size());
  if (!expected) return;
  // The end points are differences of nearly equal numbers, so they are compared relative to the
  // interval's own scale, |difference| + half its width, rather than to themselves.
  Agreement agreement("proportion_difference_interval", kTolerance);
  for (size_t i = 0; i < cases_->intervals.size(); ++i) {
    const IntervalCase& c = cases_->intervals[i];
    const Interval ours = proportion_difference_interval(c.x1, c.n1, c.x2, c.n2, c.confidence);
    const double low = (*expected)[i][0].GetDouble();
    const double high = (*expected)[i][1].GetDouble();
    const double scale = std::fabs(low + high) / 2 + (high - low) / 2;
    const std::string what = std::to_string(c.x1) + "/" + std::to_string(c.n1) + " vs " + std::to_string(c.x2) + "/" +
                             std::to_string(c.n2) + " at " + std::to_string(c.confidence);
    agreement.check(ours.low, low, what + " low", scale);
    agreement.check(ours.high, high, what + " high", scale);
  }
}

TEST_F(AgreesWithScipy, AlphaForLook) {
  const rapidjson::Value* expected = answers("alpha_for_look", cases_->looks.size());
  if (!expected) return;
  Agreement agreement("alpha_for_look", kTolerance);
  for (size_t i = 0; i < cases_->looks.size(); ++i) {
    const auto [alpha, look] = cases_->looks[i];
    agreement.check(alpha_for_look(alpha, look), (*expected)[i].GetDouble(),
                    fmt::format("({}, {})", alpha, look));
  }
}

}  // namespace
}  // namespace seraph
