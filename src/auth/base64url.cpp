#include "auth/base64url.h"

#include <array>
#include <cstdint>

namespace seraph {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr uint8_t kInvalid = 0xFF;

constexpr std::array<uint8_t, 256> make_decode_table() {
  std::array<uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (uint8_t i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = i;
  return table;
}

constexpr std::array<uint8_t, 256> kDecode = make_decode_table();

}  // namespace

bool base64url_decode(std::string_view text, std::string& out) {
  if (text.size() % 4 == 1) return false;  // no whole byte fits in 6 bits
  out.reserve(out.size() + text.size() * 3 / 4);
  uint32_t bits = 0;
  int bit_count = 0;
  for (char c : text) {
    const uint8_t value = kDecode[static_cast<uint8_t>(c)];
    if (value == kInvalid) return false;
    bits = (bits << 6) | value;
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>((bits >> bit_count) & 0xFF));
    }
  }
  // The 2 or 4 bits left over must be zero: otherwise several texts would decode to the same bytes.
  return (bits & ((1U << bit_count) - 1)) == 0;
}

std::string base64url_encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t bits = 0;
  int bit_count = 0;
  for (char c : bytes) {
    bits = (bits << 8) | static_cast<uint8_t>(c);
    bit_count += 8;
    while (bit_count >= 6) {
      bit_count -= 6;
      text.push_back(kAlphabet[(bits >> bit_count) & 0x3F]);
    }
  }
  if (bit_count > 0) text.push_back(kAlphabet[(bits << (6 - bit_count)) & 0x3F]);
  return text;
}

}  // namespace seraph
