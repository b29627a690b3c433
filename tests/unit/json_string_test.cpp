// write_json_string checks and copies plain text a word at a time (short text with overlapping
// words); every length up to several words, with each kind of byte at each position, must come
// out as the byte-at-a-time escaping below says, in both modes.
#include "core/json_string.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace seraph {
namespace {

// The rules, one byte at a time.
std::string reference(std::string_view text, JsonBytes bytes) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (bytes == JsonBytes::kUtf8 && byte < 0x20 &&
               std::string_view("\b\f\n\r\t").find(c) != std::string_view::npos) {
      out += '\\';
      out += "bfnrt"[std::string_view("\b\f\n\r\t").find(c)];
    } else if (byte < 0x20 || (bytes == JsonBytes::kAscii && byte >= 0x7f)) {
      char escape[8];
      std::snprintf(escape, sizeof escape, bytes == JsonBytes::kUtf8 ? "\\u%04X" : "\\u%04x", byte);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + '"';
}

std::string written(std::string_view text, JsonBytes bytes) {
  // Exactly the promised room, in a string of its own so that a sanitizer sees any write past it.
  std::string room(json_string_bound(text.size()), '\0');
  const char* end = write_json_string(room.data(), text, bytes);
  return room.substr(0, static_cast<size_t>(end - room.data()));
}

TEST(JsonString, EscapesEachKindOfByteAtEveryPositionOfEveryLength) {
  const std::vector<char> specials{'"',    '\\',   '\n',   '\t',   '\0', '\x01', '\x1f',
                                   '\x7f', '\x80', '\xc3', '\xff', ' ',  '/'};
  for (JsonBytes bytes : {JsonBytes::kUtf8, JsonBytes::kAscii}) {
    for (size_t size = 0; size <= 40; ++size) {
      std::string plain;
      for (size_t i = 0; i < size; ++i) plain += static_cast<char>('a' + i % 26);
      // A heap copy of exactly `size` bytes: reading past the text would be caught under ASan.
      const std::vector<char> exact(plain.begin(), plain.end());
      ASSERT_EQ(written({exact.data(), exact.size()}, bytes), reference(plain, bytes)) << "size " << size;
      for (size_t at = 0; at < size; ++at) {
        for (char special : specials) {
          std::string text = plain;
          text[at] = special;
          ASSERT_EQ(written(text, bytes), reference(text, bytes))
              << "size " << size << ", byte " << static_cast<int>(static_cast<unsigned char>(special)) << " at " << at;
        }
      }
    }
  }
}

TEST(JsonString, EscapesEveryByteValue) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(written(all, JsonBytes::kUtf8), reference(all, JsonBytes::kUtf8));
  EXPECT_EQ(written(all, JsonBytes::kAscii), reference(all, JsonBytes::kAscii));
}

TEST(JsonString, WritesAtMostItsBound) {
  const std::string worst(33, '\x01');
  EXPECT_EQ(written(worst, JsonBytes::kAscii).size(), json_string_bound(worst.size()));
}

}  // namespace
}  // namespace seraph
