#pragma once
// Eight bytes at a time: whether any byte of a word needs a JSON string escape, so escapers copy
// runs of plain bytes a word at a time instead of looking at each byte.
#include <cstdint>
#include <cstring>

namespace seraph {

// The 8 bytes at `bytes`, in memory order.
inline uint64_t load_word(const char* bytes) {
  uint64_t word;
  std::memcpy(&word, bytes, sizeof word);
  return word;
}

// Whether any byte is a control character (below 0x20), a quote or a backslash; with
// `non_ascii`, also 0x7f and above. Each test is exact for the word as a whole.
inline bool has_json_special(uint64_t word, bool non_ascii) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  auto has_zero_byte = [](uint64_t v) { return ((v - kOnes) & ~v & kHighs) != 0; };
  const bool control = ((word - kOnes * 0x20) & ~word & kHighs) != 0;
  const bool quote = has_zero_byte(word ^ (kOnes * '"'));
  const bool backslash = has_zero_byte(word ^ (kOnes * '\\'));
  const bool high = non_ascii && ((word & kHighs) != 0 || has_zero_byte(word ^ (kOnes * 0x7f)));
  return control || quote || backslash || high;
}

}  // namespace seraph
