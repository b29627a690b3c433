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
  const size_t start = out.size();
  out.resize(start + text.size() * 3 / 4);
  char* write = out.data() + start;
  const auto* read = reinterpret_cast<const uint8_t*>(text.data());
  const auto* end = read + text.size();
  // Four characters make three bytes. Invalid characters decode to 0xFF, whose top bits no valid
  // value has: one test per group finds any of them.
  for (; end - read >= 4; read += 4) {
    const uint32_t a = kDecode[read[0]], b = kDecode[read[1]], c = kDecode[read[2]], d = kDecode[read[3]];
    if ((a | b | c | d) & 0xC0) return false;
    const uint32_t group = a << 18 | b << 12 | c << 6 | d;
    *write++ = static_cast<char>(group >> 16);
    *write++ = static_cast<char>(group >> 8);
    *write++ = static_cast<char>(group);
  }
  if (end - read == 0) return true;
  const uint32_t a = kDecode[read[0]], b = kDecode[read[1]], c = end - read == 3 ? kDecode[read[2]] : 0;
  if ((a | b | c) & 0xC0) return false;
  const uint32_t group = a << 18 | b << 12 | c << 6;
  *write++ = static_cast<char>(group >> 16);
  if (end - read == 3) *write++ = static_cast<char>(group >> 8);
  // The 2 or 4 bits left over must be zero: otherwise several texts would decode to the same bytes.
  return (group & (end - read == 3 ? 0xFF : 0xFFFF)) == 0;
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
