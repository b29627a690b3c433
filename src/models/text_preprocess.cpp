#include "models/text_preprocess.h"

#include <array>

namespace seraph {
namespace {

constexpr bool is_separated_punctuation(char c) {
  switch (c) {
    case '.': case ',': case '!': case '?': case ';': case ':': case '(': case ')': case '"':
      return true;
    default:
      return false;
  }
}

// What each byte becomes under one combination of options: one lookup per byte.
struct ByteTable {
  std::array<char, 256> replacement{};
  std::array<bool, 256> separated{};
};

constexpr ByteTable make_table(bool lowercase, bool separate_punctuation) {
  ByteTable table;
  for (int i = 0; i < 256; ++i) {
    char c = static_cast<char>(i);
    if (c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f') c = ' ';
    if (lowercase && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    table.replacement[i] = c;
    table.separated[i] = separate_punctuation && is_separated_punctuation(c);
  }
  return table;
}

constexpr std::array<ByteTable, 4> kTables = {make_table(false, false), make_table(false, true),
                                              make_table(true, false), make_table(true, true)};

}  // namespace

std::string preprocess_text(std::string_view text, const TextPreprocessing& options) {
  std::string out;
  append_preprocessed_text(out, text, options);
  return out;
}

void append_preprocessed_text(std::string& out, std::string_view text, const TextPreprocessing& options) {
  const ByteTable& table = kTables[(options.lowercase ? 2 : 0) + (options.separate_punctuation ? 1 : 0)];
  // Sized for the worst case (every character separated punctuation), written through a pointer,
  // then cut to what was written: no capacity check per character.
  const size_t start = out.size();
  out.resize(start + text.size() * (options.separate_punctuation ? 3 : 1));
  char* next = out.data() + start;
  for (const char byte : text) {
    const auto i = static_cast<unsigned char>(byte);
    const char c = table.replacement[i];
    if (table.separated[i]) {
      *next++ = ' ';
      *next++ = c;
      *next++ = ' ';
    } else {
      *next++ = c;
    }
  }
  out.resize(static_cast<size_t>(next - out.data()));
}

}  // namespace seraph
