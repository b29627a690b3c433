#include "models/version_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"

namespace seraph {
namespace {

using ::testing::HasSubstr;

TEST(VersionPolicy, AllServesEveryVersion) {
  EXPECT_EQ(VersionPolicy{}.select({3, 1, 2}), (std::set<int64_t>{1, 2, 3}));
}

TEST(VersionPolicy, LatestNServesTheNHighestVersions) {
  VersionPolicy policy;
  ASSERT_TRUE(parse_version_policy("latest 2", policy).is_ok());
  EXPECT_EQ(policy.select({1, 5, 3, 4}), (std::set<int64_t>{4, 5}));
  EXPECT_EQ(policy.select({7}), (std::set<int64_t>{7}));
}

TEST(VersionPolicy, SpecificServesOnlyTheListedVersionsThatExist) {
  VersionPolicy policy{VersionPolicy::Kind::kSpecific, 0, {1, 3, 9}};
  EXPECT_EQ(policy.select({1, 2, 3}), (std::set<int64_t>{1, 3}));
}

TEST(VersionPolicy, BadPolicyTextIsRejected) {
  VersionPolicy policy;
  for (const char* bad : {"latest", "latest 0", "latest -1", "newest 2", "latest 2x", ""}) {
    EXPECT_FALSE(parse_version_policy(bad, policy).is_ok()) << bad;
  }
}

TEST(VersionPolicy, AModelsPolicyFileOverridesTheServerDefault) {
  testing::TempDir dir;
  VersionPolicy fallback, policy;
  ASSERT_TRUE(model_version_policy(dir.path(), fallback, policy).is_ok());
  EXPECT_EQ(policy.kind, VersionPolicy::Kind::kAll);  // no file: the default

  std::ofstream(dir / "policy.yaml") << "versions: latest 1\n";
  ASSERT_TRUE(model_version_policy(dir.path(), fallback, policy).is_ok());
  EXPECT_EQ(policy.select({1, 2}), (std::set<int64_t>{2}));

  std::ofstream(dir / "policy.yaml") << "versions: [1]\n";
  ASSERT_TRUE(model_version_policy(dir.path(), fallback, policy).is_ok());
  EXPECT_EQ(policy.select({1, 2}), (std::set<int64_t>{1}));

  std::ofstream(dir / "policy.yaml") << "versions: newest\n";
  Status s = model_version_policy(dir.path(), fallback, policy);
  EXPECT_THAT(s.message(), HasSubstr("policy.yaml: versions: must be 'all'"));
}

}  // namespace
}  // namespace seraph
