#include "wire/json_text.h"

#include <array>
#include <charconv>
#include <utility>

#include "core/byte_scan.h"

namespace seraph {

namespace {

// What RapidJSON writes for each byte of a string: 0 for the byte itself, a letter for a short
// escape (\n), 'u' for \u00XX. Bytes from 0x7f up pass as they are (UTF-8 is not re-encoded).
constexpr std::array<char, 256> kEscapes = [] {
  std::array<char, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = 'u';
  table['\b'] = 'b';
  table['\f'] = 'f';
  table['\n'] = 'n';
  table['\r'] = 'r';
  table['\t'] = 't';
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}();

}  // namespace

JsonText::JsonText(std::string text, size_t expected_bytes) : text_(std::move(text)), used_(text_.size()) {
  text_.resize(used_ + expected_bytes);
}

void JsonText::String(const char* text, rapidjson::SizeType size) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  separate();
  char* at = room(size * size_t{6} + 2);  // \u00XX at most per byte, and the quotes
  *at++ = '"';
  size_t i = 0;
  while (i < size) {
    if (i + 8 <= size && !has_json_special(load_word(text + i), false)) {
      std::memcpy(at, text + i, 8);  // eight plain bytes
      at += 8;
      i += 8;
      continue;
    }
    const char c = text[i++];
    const char escape = kEscapes[static_cast<unsigned char>(c)];
    if (escape == 0) {
      *at++ = c;
    } else if (escape == 'u') {
      const auto byte = static_cast<unsigned char>(c);
      *at++ = '\\';
      *at++ = 'u';
      *at++ = '0';
      *at++ = '0';
      *at++ = kHex[byte >> 4];
      *at++ = kHex[byte & 0xf];
    } else {
      *at++ = '\\';
      *at++ = escape;
    }
  }
  *at++ = '"';
  used_ = static_cast<size_t>(at - text_.data());
}

void JsonText::Int64(int64_t value) {
  char digits[24];
  value_text({digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, value).ptr - digits)});
}

void JsonText::Uint64(uint64_t value) {
  char digits[24];
  value_text({digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, value).ptr - digits)});
}

std::string JsonText::take() && {
  text_.resize(used_);
  return std::move(text_);
}

}  // namespace seraph
