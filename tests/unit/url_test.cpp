#include "api/url.h"

#include <gtest/gtest.h>

namespace seraph {
namespace {

using Segments = std::vector<std::string>;

TEST(SplitTarget, SeparatesPathAndQueryAtTheFirstQuestionMark) {
  auto [path, query] = split_target("/v2/models/m/infer?x=1&y=2");
  EXPECT_EQ(path, "/v2/models/m/infer");
  EXPECT_EQ(query, "x=1&y=2");
}

TEST(SplitTarget, WithoutQuestionMarkHasAnEmptyQuery) {
  auto [path, query] = split_target("/health");
  EXPECT_EQ(path, "/health");
  EXPECT_EQ(query, "");
}

TEST(SplitTarget, KeepsLaterQuestionMarksInTheQuery) {
  auto [path, query] = split_target("/p?a=?&b");
  EXPECT_EQ(path, "/p");
  EXPECT_EQ(query, "a=?&b");
}

TEST(SplitPath, GivesPercentDecodedSegments) {
  EXPECT_EQ(split_path("/v2/models/m%20x/"), (Segments{"v2", "models", "m x"}));
}

TEST(SplitPath, DropsEmptySegments) {
  EXPECT_EQ(split_path("//a///b/"), (Segments{"a", "b"}));
  EXPECT_EQ(split_path("/"), Segments{});
  EXPECT_EQ(split_path(""), Segments{});
}

TEST(SplitPath, DecodedSlashStaysInsideItsSegment) {
  EXPECT_EQ(split_path("/models/a%2Fb"), (Segments{"models", "a/b"}));
}

TEST(SplitPath, KeepsPlusAsPlus) { EXPECT_EQ(split_path("/a+b"), (Segments{"a+b"})); }

TEST(PercentDecode, DecodesUpperAndLowerCaseHexEscapes) {
  EXPECT_EQ(percent_decode("%41%62%2f%2F", false), "Ab//");
  EXPECT_EQ(percent_decode("x%41", false), "xA");
}

TEST(PercentDecode, KeepsMalformedEscapesAsTheyAre) {
  EXPECT_EQ(percent_decode("100%", false), "100%");
  EXPECT_EQ(percent_decode("%4", false), "%4");
  EXPECT_EQ(percent_decode("%zz", false), "%zz");
  EXPECT_EQ(percent_decode("%4g%41", false), "%4gA");
}

TEST(PercentDecode, TurnsPlusIntoSpaceOnlyWhenAsked) {
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
}

TEST(PercentDecode, EscapedPlusStaysPlus) { EXPECT_EQ(percent_decode("1%2B1", true), "1+1"); }

TEST(QueryParam, ReturnsTheFirstMatch) {
  EXPECT_EQ(query_param("a=1&b=2&a=3", "a"), "1");
  EXPECT_EQ(query_param("a=1&b=2&a=3", "b"), "2");
}

TEST(QueryParam, MissingNameIsNullopt) {
  EXPECT_EQ(query_param("a=1&b=2", "c"), std::nullopt);
  EXPECT_EQ(query_param("", "a"), std::nullopt);
  EXPECT_EQ(query_param("ab=1", "a"), std::nullopt);
}

TEST(QueryParam, NameWithoutEqualsHasAnEmptyValue) {
  EXPECT_EQ(query_param("verbose&a=1", "verbose"), "");
}

TEST(QueryParam, DecodesNamesAndValues) {
  EXPECT_EQ(query_param("model=sent%69ment+v2", "model"), "sentiment v2");
  EXPECT_EQ(query_param("my%20key=v", "my key"), "v");
}

TEST(QueryParam, ValueKeepsLaterEqualsSigns) { EXPECT_EQ(query_param("expr=a=b", "expr"), "a=b"); }

TEST(QueryParam, SkipsEmptyPairs) { EXPECT_EQ(query_param("&&a=1&", "a"), "1"); }

}  // namespace
}  // namespace seraph
