#include "guards/request_id_guard.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace seraph {
namespace {

bool is_lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(IsAcceptableRequestId, AcceptsVisibleAsciiUpTo128Characters) {
  for (const std::string& id : {std::string("a"), std::string("req-123_ABC.xyz:/=+"), std::string("!~#$%&'()*,;<>?@[]^`{|}"),
                               std::string(128, 'x')}) {
    EXPECT_TRUE(is_acceptable_request_id(id)) << id;
  }
}

TEST(IsAcceptableRequestId, RejectsEmpty) { EXPECT_FALSE(is_acceptable_request_id("")); }

TEST(IsAcceptableRequestId, RejectsMoreThan128Characters) {
  EXPECT_FALSE(is_acceptable_request_id(std::string(129, 'x')));
}

TEST(IsAcceptableRequestId, RejectsSpacesQuotesAndBackslashes) {
  for (const char* id : {"a b", " a", "a\"b", "a\\b"}) EXPECT_FALSE(is_acceptable_request_id(id)) << id;
}

TEST(IsAcceptableRequestId, RejectsControlAndNonAsciiCharacters) {
  for (const std::string& id : {std::string("a\nb"), std::string("a\rb"), std::string("a\tb"), std::string("\x01"),
                               std::string("a\x7f"), std::string("caf\xc3\xa9"), std::string("a\0b", 3)}) {
    EXPECT_FALSE(is_acceptable_request_id(id));
  }
}

TEST(GenerateRequestId, Is32LowercaseHexDigits) {
  const std::string id = generate_request_id();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_TRUE(is_lower_hex(id)) << id;
}

TEST(GenerateRequestId, GivesDistinctIds) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(generate_request_id());
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(RequestIdFor, KeepsAnAcceptableClientId) { EXPECT_EQ(request_id_for("client-42"), "client-42"); }

TEST(RequestIdFor, ReplacesAnUnacceptableClientIdWithAFreshOne) {
  const std::string id = request_id_for("bad id\n");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_TRUE(is_lower_hex(id)) << id;
}

TEST(RequestIdFor, GeneratesAnIdWhenTheClientSentNone) { EXPECT_EQ(request_id_for("").size(), 32u); }

}  // namespace
}  // namespace seraph
