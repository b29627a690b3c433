#include "core/byte_scan.h"

#include <string>

#include <gtest/gtest.h>

namespace seraph {
namespace {

// Every byte value at every position of a word of plain letters, and next to other specials.
TEST(ByteScan, FindsExactlyTheBytesAJsonStringEscapes) {
  for (bool non_ascii : {false, true}) {
    for (int value = 0; value < 256; ++value) {
      const auto c = static_cast<unsigned char>(value);
      const bool special = c < 0x20 || c == '"' || c == '\\' || (non_ascii && c >= 0x7f);
      for (int position = 0; position < 8; ++position) {
        std::string bytes(8, 'a');
        bytes[position] = static_cast<char>(c);
        EXPECT_EQ(has_json_special(load_word(bytes.data()), non_ascii), special)
            << "byte " << value << " at " << position << (non_ascii ? " (non-ASCII escaped)" : "");
      }
    }
  }
}

TEST(ByteScan, PlainWordsOfAnyPrintableAsciiPass) {
  std::string bytes = " ~!#$%&'";
  EXPECT_FALSE(has_json_special(load_word(bytes.data()), true));
  bytes = "{}[]:,/0";
  EXPECT_FALSE(has_json_special(load_word(bytes.data()), true));
}

}  // namespace
}  // namespace seraph
