#include "core/thousandths.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace seraph {
namespace {

std::string fixed(double value) {
  char text[32];
  return {text, format_thousandths_fixed(value, text)};
}
std::string shortest(double value) {
  char text[32];
  return {text, format_thousandths_shortest(value, text)};
}
// What std::to_chars writes for the value rounded to thousandths.
std::string to_chars_of_rounded(double value, bool fixed_three) {
  char text[64];
  const double rounded = std::round(value * 1000) / 1000;
  auto result = fixed_three ? std::to_chars(text, text + sizeof text, rounded, std::chars_format::fixed, 3)
                            : std::to_chars(text, text + sizeof text, rounded);
  return {text, result.ptr};
}

TEST(Thousandths, FixedAlwaysWritesThreeDecimals) {
  EXPECT_EQ(fixed(0), "0.000");
  EXPECT_EQ(fixed(2), "2.000");
  EXPECT_EQ(fixed(0.5), "0.500");
  EXPECT_EQ(fixed(12.3456), "12.346");
  EXPECT_EQ(fixed(0.0004), "0.000");
  EXPECT_EQ(fixed(999.9996), "1000.000");
}

TEST(Thousandths, ShortestDropsTrailingZerosAndABarePoint) {
  EXPECT_EQ(shortest(0), "0");
  EXPECT_EQ(shortest(2), "2");
  EXPECT_EQ(shortest(0.5), "0.5");
  EXPECT_EQ(shortest(0.52), "0.52");
  EXPECT_EQ(shortest(12.3456), "12.346");
  EXPECT_EQ(shortest(0.0996), "0.1");
}

TEST(Thousandths, ValuesOutsideTheRangeAreLeftToTheCaller) {
  EXPECT_EQ(fixed(-0.001), "");
  EXPECT_EQ(shortest(-1), "");
  EXPECT_EQ(fixed(1e12), "");
  EXPECT_EQ(shortest(std::numeric_limits<double>::quiet_NaN()), "");
  EXPECT_EQ(fixed(std::numeric_limits<double>::infinity()), "");
}

// Random latencies over the whole range: the same text std::to_chars gives for the rounded double.
TEST(Thousandths, MatchesToCharsOfTheRoundedValue) {
  std::mt19937_64 random(20261127);
  for (int i = 0; i < 200000; ++i) {
    const double magnitude = std::pow(10.0, std::uniform_real_distribution<double>(-4, 11.9)(random));
    const double value = std::uniform_real_distribution<double>(0, 1)(random) * magnitude;
    ASSERT_EQ(shortest(value), to_chars_of_rounded(value, false)) << value;
    ASSERT_EQ(fixed(value), to_chars_of_rounded(value, true)) << value;
  }
}

}  // namespace
}  // namespace seraph
