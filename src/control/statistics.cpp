#include "control/statistics.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cfloat>
#include <cmath>
#include <limits>
#include <numbers>
#include <utility>
#include <vector>

// Each function follows the order of operations of the scipy (or statsmodels) code it stands in for, so
// results agree to the last few bits, not only to the algorithm's precision. Inputs scipy would reject
// (negative counts, x > n, mismatched lengths) give "no evidence", p = 1, never a throw or a NaN p.

namespace seraph {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNoEvidence = 1.0;

// --- Normal quantile: Acklam's rational approximation (relative error 1.15e-9), then one Halley step
// on the lower tail, where the residual cdf(x) - p is computed without cancellation.

constexpr double kAcklamA[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                               1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
constexpr double kAcklamB[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
constexpr double kAcklamC[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
constexpr double kAcklamD[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
constexpr double kAcklamTail = 0.02425;

// The quantile for 0 < p <= 0.5.
double lower_normal_quantile(double p) {
  double x;
  if (p < kAcklamTail) {
    const double q = std::sqrt(-2 * std::log(p));
    const auto& c = kAcklamC;
    const auto& d = kAcklamD;
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5;
    const double r = q * q;
    const auto& a = kAcklamA;
    const auto& b = kAcklamB;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // Halley's step. Past about p = 1e-308 the density is subnormal and the step would lose more than it
  // gains; Acklam's nine digits are then all a subnormal p carries anyway.
  const double density = std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi);
  if (density >= DBL_MIN) {
    const double u = (normal_cdf(x) - p) / density;
    x -= u / (1 + 0.5 * x * u);
  }
  return x;
}

// --- Regularized incomplete gamma function, P(a, x) by its power series and Q(a, x) by Legendre's
// continued fraction (evaluated with the modified Lentz method): each where it converges quickly.

constexpr int kMaxIterations = 100000;
constexpr double kTiny = 1e-300;  // stands in for a zero denominator in Lentz's method

// x^a e^-x / Gamma(a), the factor both expansions share. Through lgamma its relative error grows like
// eps * a * log(x): about 1e-11 at 10^4 degrees of freedom, where cephes switches to Temme's expansion.
// Ample for the handful of degrees of freedom the tests here have.
double gamma_prefactor(double a, double x) { return std::exp(a * std::log(x) - x - std::lgamma(a)); }

// P(a, x) for x < a + 1.
double lower_gamma_series(double a, double x) {
  double term = 1 / a;
  double sum = term;
  for (int n = 1; n < kMaxIterations; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * DBL_EPSILON) break;
  }
  return sum * gamma_prefactor(a, x);
}

// Q(a, x) for x >= a + 1.
double upper_gamma_continued_fraction(double a, double x) {
  double b = x + 1 - a;
  double c = 1 / kTiny;
  double d = 1 / b;
  double fraction = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    fraction *= delta;
    if (std::fabs(delta - 1) < DBL_EPSILON) break;
  }
  return gamma_prefactor(a, x) * fraction;
}

double upper_regularized_gamma(double a, double x) {
  if (x <= 0) return 1;
  if (std::isinf(x)) return 0;
  if (x < a + 1) return 1 - lower_gamma_series(a, x);
  return upper_gamma_continued_fraction(a, x);
}

// --- The hypergeometric distribution of the top-left cell of a 2x2 table with fixed margins.
//
// Probabilities are weights relative to the mode, w(mode) = 1, each from its neighbour by the pmf's
// ratio, and normalized by their total: no factorials, so no loss of precision for large counts. The
// pmf is log-concave, so walking away from the mode the ratios only shrink, which bounds what a walk
// leaves out and lets it stop as soon as that is negligible.
class Hypergeometric {
 public:
  // `successes` of the `population` are drawn `draws` times without replacement.
  Hypergeometric(int64_t population, int64_t successes, int64_t draws)
      : successes_(successes), failures_(population - successes), draws_(draws) {
    low_ = std::max<int64_t>(0, draws - failures_);
    high_ = std::min(draws, successes);
    // floor((draws + 1)(successes + 1) / (population + 2)), then nudged onto the exact peak so that
    // rounding in the division cannot put it one off.
    const double guess = std::floor((static_cast<double>(draws) + 1) * (static_cast<double>(successes) + 1) /
                                    (static_cast<double>(population) + 2));
    mode_ = std::clamp(static_cast<int64_t>(guess), low_, high_);
    while (mode_ < high_ && ratio_up(mode_) > 1) ++mode_;
    while (mode_ > low_ && ratio_down(mode_) > 1) --mode_;
  }

  int64_t low() const { return low_; }
  int64_t high() const { return high_; }
  int64_t mode() const { return mode_; }

  // pmf(k + 1) / pmf(k) and pmf(k - 1) / pmf(k).
  double ratio_up(int64_t k) const {
    return (static_cast<double>(successes_ - k) * static_cast<double>(draws_ - k)) /
           (static_cast<double>(k + 1) * static_cast<double>(failures_ - draws_ + k + 1));
  }
  double ratio_down(int64_t k) const {
    return (static_cast<double>(k) * static_cast<double>(failures_ - draws_ + k)) /
           (static_cast<double>(successes_ - k + 1) * static_cast<double>(draws_ - k + 1));
  }
  double ratio(int64_t k, int step) const { return step > 0 ? ratio_up(k) : ratio_down(k); }

  // w(k) = pmf(k) / pmf(mode), walking from the mode (0 once it underflows).
  double weight(int64_t k) const {
    const int step = k > mode_ ? 1 : -1;
    double w = 1;
    for (int64_t i = mode_; i != k && w > 0; i += step) w *= ratio(i, step);
    return w;
  }

  // The sum of w over k = from, from + step, ... up to `last` (inclusive) or the end of the support,
  // given w(from). `from` must be the mode or beyond it in the direction of `step`.
  double sum_away_from_mode(int64_t from, double w_from, int step, int64_t last) const {
    const int64_t end = step > 0 ? std::min(last, high_) : std::max(last, low_);
    double sum = 0;
    double w = w_from;
    for (int64_t k = from; step > 0 ? k <= end : k >= end; k += step) {
      sum += w;
      if (k == end) break;
      const double r = ratio(k, step);
      // What is left is at most w (r + r^2 + ...) = w r / (1 - r).
      if (w == 0 || (r < 1 && w * r <= (1 - r) * sum * 1e-17)) break;
      w *= r;
    }
    return sum;
  }

  // The sum of w over the whole support below (step -1) or above (step 1) the mode.
  double side_total(int step) const {
    if (step > 0 ? mode_ == high_ : mode_ == low_) return 0;
    return sum_away_from_mode(mode_ + step, ratio(mode_, step), step, step > 0 ? high_ : low_);
  }

 private:
  int64_t successes_;
  int64_t failures_;
  int64_t draws_;
  int64_t low_ = 0;
  int64_t high_ = 0;
  int64_t mode_ = 0;
};

// P(X <= k), for k in the support.
double hypergeometric_cdf(const Hypergeometric& h, int64_t k, double below, double above) {
  const int64_t mode = h.mode();
  if (k < mode) return h.sum_away_from_mode(k, h.weight(k), -1, h.low()) / (1 + below + above);
  const double up_to_k = k == mode ? 0 : h.sum_away_from_mode(mode + 1, h.ratio_up(mode), 1, k);
  return (1 + below + up_to_k) / (1 + below + above);
}

// P(X >= k), for k in the support.
double hypergeometric_sf_inclusive(const Hypergeometric& h, int64_t k, double below, double above) {
  const int64_t mode = h.mode();
  if (k > mode) return h.sum_away_from_mode(k, h.weight(k), 1, h.high()) / (1 + below + above);
  const double down_to_k = k == mode ? 0 : h.sum_away_from_mode(mode - 1, h.ratio_down(mode), -1, k);
  return (1 + above + down_to_k) / (1 + below + above);
}

// Tables as probable as the observed one count as at least as extreme. Rounding makes equal
// probabilities differ in their last bits, so "as probable" allows a relative 1e-7, as R's fisher.test
// does (scipy allows 1e-14, with pmf values from Boost; the products of ratios here gain an ulp or so
// per step, so a tie many steps from the mode may be a little further off than 1e-14).
constexpr double kFisherRelativeTolerance = 1e-7;

double fisher_two_sided(const Hypergeometric& h, int64_t k, double below, double above) {
  const double w_k = h.weight(k);
  const double threshold = w_k * (1 + kFisherRelativeTolerance);
  if (threshold >= 1) return 1;  // the observed table is (one of) the most probable: every table counts
  const int64_t mode = h.mode();
  const int step = k < mode ? -1 : 1;
  double tails = h.sum_away_from_mode(k, w_k, step, step > 0 ? h.high() : h.low());
  // On the other side of the mode, the tables from the first one no more probable than k outwards.
  const int other = -step;
  const int64_t other_end = other > 0 ? h.high() : h.low();
  double w = 1;
  for (int64_t i = mode; i != other_end; i += other) {
    w *= h.ratio(i, other);
    if (w <= threshold) {
      tails += h.sum_away_from_mode(i + other, w, other, other_end);
      break;
    }
  }
  return std::min(1.0, tails / (1 + below + above));
}

double clip_probability(double p) { return std::clamp(p, 0.0, 1.0); }

// --- Sorting samples for ranks. std::sort spends most of its time on mispredicted branches (about
// 0.25 ms for 5000 doubles here); a radix sort on the values' bit patterns has none.

// A key whose unsigned order is the double's numeric order: flip every bit of a negative number, only
// the sign bit of a positive one. -0.0 becomes 0.0 first, so that equal values have equal keys.
uint64_t sort_key(double v) {
  const auto bits = std::bit_cast<uint64_t>(v + 0.0);
  return bits >> 63 ? ~bits : bits | (uint64_t{1} << 63);
}

// `values` without NaNs (they have no rank: left out, as scipy's nan_policy="omit"), as sorted keys in
// a prefix of `keys`; `scratch` is at least as long as `keys`.
std::span<uint64_t> sorted_keys(std::span<const double> values, std::span<uint64_t> keys, std::span<uint64_t> scratch) {
  size_t n = 0;
  for (double v : values)
    if (!std::isnan(v)) keys[n++] = sort_key(v);
  keys = keys.first(n);
  if (n < 256) {
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  // Least significant byte first, a stable counting sort per byte; bytes every key shares are skipped.
  constexpr int kBytes = 8;
  std::array<std::array<size_t, 256>, kBytes> counts{};
  for (uint64_t key : keys)
    for (int b = 0; b < kBytes; ++b) ++counts[b][(key >> (8 * b)) & 0xff];
  std::span<uint64_t> from = keys;
  std::span<uint64_t> to = scratch.first(n);
  for (int b = 0; b < kBytes; ++b) {
    auto& count = counts[b];
    if (count[(from[0] >> (8 * b)) & 0xff] == n) continue;
    size_t offset = 0;
    for (size_t& c : count) offset += std::exchange(c, offset);
    for (uint64_t key : from) to[count[(key >> (8 * b)) & 0xff]++] = key;
    std::swap(from, to);
  }
  if (from.data() != keys.data()) std::copy(from.begin(), from.end(), keys.begin());
  return keys;
}

}  // namespace

double normal_cdf(double z) {
  // As cephes' ndtr: erf near zero, erfc in the tails.
  const double x = z * std::numbers::sqrt2 / 2;
  if (std::fabs(x) < std::numbers::sqrt2 / 2) return 0.5 + 0.5 * std::erf(x);
  const double tail = 0.5 * std::erfc(std::fabs(x));
  return x > 0 ? 1 - tail : tail;
}

double normal_sf(double z) { return normal_cdf(-z); }

double normal_quantile(double p) {
  if (!(p >= 0 && p <= 1)) return kNaN;
  if (p == 0) return -kInf;
  if (p == 1) return kInf;
  // 1 - p is exact for p >= 0.5, so the upper half maps onto the accurate lower tail without loss.
  return p <= 0.5 ? lower_normal_quantile(p) : -lower_normal_quantile(1 - p);
}

double chi_squared_sf(double x, double dof) {
  if (std::isnan(x) || !(dof > 0)) return kNaN;  // as scipy: dof must be positive
  return upper_regularized_gamma(dof / 2, x / 2);
}

TestResult two_proportion_z_test(int64_t x1, int64_t n1, int64_t x2, int64_t n2, Alternative alternative) {
  if (n1 <= 0 || n2 <= 0 || x1 < 0 || x2 < 0 || x1 > n1 || x2 > n2) return {0, kNoEvidence};
  // As statsmodels' proportions_ztest([x2, x1], [n2, n1]).
  const double p2 = static_cast<double>(x2) / static_cast<double>(n2);
  const double p1 = static_cast<double>(x1) / static_cast<double>(n1);
  const double pooled = static_cast<double>(x2 + x1) / static_cast<double>(n2 + n1);
  const double variance = pooled * (1 - pooled) * (1.0 / static_cast<double>(n2) + 1.0 / static_cast<double>(n1));
  if (!(variance > 0)) return {0, kNoEvidence};
  const double z = (p2 - p1) / std::sqrt(variance);
  switch (alternative) {
    case Alternative::kGreater: return {z, normal_sf(z)};
    case Alternative::kLess: return {z, normal_cdf(z)};
    case Alternative::kTwoSided: break;
  }
  return {z, normal_sf(std::fabs(z)) * 2};
}

TestResult fisher_exact(int64_t a, int64_t b, int64_t c, int64_t d, Alternative alternative) {
  if (a < 0 || b < 0 || c < 0 || d < 0) return {kNaN, kNoEvidence};
  // A row or column of zeros: the odds ratio is undefined and nothing can be concluded.
  if (a + b == 0 || c + d == 0 || a + c == 0 || b + d == 0) return {kNaN, kNoEvidence};
  const double odds_ratio = b > 0 && c > 0 ? (static_cast<double>(a) * static_cast<double>(d)) /
                                                 (static_cast<double>(b) * static_cast<double>(c))
                                           : kInf;
  // `a` given the margins: a + c draws from a + b + c + d, of which a + b are successes.
  const Hypergeometric h(a + b + c + d, a + b, a + c);
  const double below = h.side_total(-1);
  const double above = h.side_total(1);
  double p = 1;
  switch (alternative) {
    case Alternative::kLess: p = hypergeometric_cdf(h, a, below, above); break;
    case Alternative::kGreater: p = hypergeometric_sf_inclusive(h, a, below, above); break;
    case Alternative::kTwoSided: p = fisher_two_sided(h, a, below, above); break;
  }
  return {odds_ratio, clip_probability(p)};
}

TestResult mann_whitney_u(std::span<const double> x, std::span<const double> y, Alternative alternative) {
  // Both samples as sort keys in one allocation, with room to radix sort the larger one.
  std::vector<uint64_t> buffer(x.size() + y.size() + std::max(x.size(), y.size()));
  const std::span<uint64_t> all(buffer);
  const std::span<uint64_t> scratch = all.subspan(x.size() + y.size());
  const std::span<const uint64_t> xs = sorted_keys(x, all.first(x.size()), scratch);
  const std::span<const uint64_t> ys = sorted_keys(y, all.subspan(x.size(), y.size()), scratch);
  const size_t n1 = xs.size();
  const size_t n2 = ys.size();
  if (n1 == 0 || n2 == 0) return {0, kNoEvidence};

  // Merge the two sorted samples one group of equal values at a time: each value of the group has
  // the group's average rank; x's rank sum and the tie term sum(t^3 - t) need nothing more.
  double rank_sum_x = 0;
  double tie_term = 0;
  size_t i = 0, j = 0;
  while (i < n1 || j < n2) {
    const uint64_t value = j == n2 || (i < n1 && xs[i] <= ys[j]) ? xs[i] : ys[j];
    size_t in_x = 0, in_y = 0;
    while (i < n1 && xs[i] == value) ++i, ++in_x;
    while (j < n2 && ys[j] == value) ++j, ++in_y;
    const double ranked_before = static_cast<double>(i + j - in_x - in_y);
    const double t = static_cast<double>(in_x + in_y);
    rank_sum_x += static_cast<double>(in_x) * (ranked_before + (t + 1) / 2);
    tie_term += t * t * t - t;
  }

  const double m = static_cast<double>(n1);
  const double n = static_cast<double>(n1 + n2);
  const double product = static_cast<double>(n1) * static_cast<double>(n2);
  const double u1 = rank_sum_x - m * (m + 1) / 2;
  const double u2 = product - u1;
  double u = u1;
  double factor = 1;
  switch (alternative) {
    case Alternative::kGreater: break;
    case Alternative::kLess: u = u2; break;  // the sf of U2 rather than the cdf of U1, by symmetry
    case Alternative::kTwoSided:
      u = std::max(u1, u2);
      factor = 2;
      break;
  }
  const double mean = product / 2;
  const double sd = std::sqrt(product / 12 * ((n + 1) - tie_term / (n * (n - 1))));
  if (!(sd > 0)) return {u1, kNoEvidence};  // every value the same
  // Continuity correction: always -0.5, since the p-value is always an upper tail.
  const double z = (u - mean - 0.5) / sd;
  return {u1, clip_probability(factor * normal_sf(z))};
}

TestResult chi_squared_goodness_of_fit(std::span<const double> observed, std::span<const double> expected) {
  if (observed.size() != expected.size() || observed.empty()) return {0, kNoEvidence};
  double observed_total = 0;
  double expected_total = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    if (!(observed[i] >= 0 && expected[i] >= 0) || std::isinf(observed[i]) || std::isinf(expected[i])) {
      return {0, kNoEvidence};
    }
    observed_total += observed[i];
    expected_total += expected[i];
  }
  if (!(expected_total > 0)) return {0, kNoEvidence};
  const double scale = observed_total / expected_total;
  double statistic = 0;
  int categories = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double e = expected[i] * scale;
    if (e == 0) {
      if (observed[i] > 0) return {kInf, 0};  // observed what the null hypothesis says cannot happen
      continue;
    }
    ++categories;
    statistic += (observed[i] - e) * (observed[i] - e) / e;
  }
  if (categories < 2) return {statistic, kNoEvidence};
  return {statistic, chi_squared_sf(statistic, categories - 1)};
}

Interval proportion_difference_interval(int64_t x1, int64_t n1, int64_t x2, int64_t n2, double confidence) {
  // Without data, or asked for certainty, the difference can be anything.
  if (n1 <= 0 || n2 <= 0 || x1 < 0 || x2 < 0 || x1 > n1 || x2 > n2 || !(confidence < 1)) return {-1, 1};
  const double p1 = static_cast<double>(x1) / static_cast<double>(n1);
  const double p2 = static_cast<double>(x2) / static_cast<double>(n2);
  const double difference = p2 - p1;
  if (!(confidence > 0)) return {difference, difference};
  const double se = std::sqrt(p1 * (1 - p1) / static_cast<double>(n1) + p2 * (1 - p2) / static_cast<double>(n2));
  const double z = normal_quantile(0.5 + confidence / 2);
  return {difference - z * se, difference + z * se};
}

double alpha_for_look(double alpha, int64_t look) {
  if (look < 1) return 0;
  const double k = static_cast<double>(look);
  return alpha * 6 / (std::numbers::pi * std::numbers::pi * k * k);
}

}  // namespace seraph
