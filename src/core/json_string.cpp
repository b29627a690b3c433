#include "core/json_string.h"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/byte_scan.h"

namespace seraph {
namespace {

// What each byte is written as: 0 for itself, a letter for a short escape (\n), 'u' for \u00XX.
using EscapeTable = std::array<char, 256>;

constexpr EscapeTable make_escapes(JsonBytes bytes) {
  EscapeTable table{};
  for (int c = 0; c < 0x20; ++c) table[c] = 'u';
  if (bytes == JsonBytes::kUtf8) {
    table['\b'] = 'b';
    table['\f'] = 'f';
    table['\n'] = 'n';
    table['\r'] = 'r';
    table['\t'] = 't';
  } else {
    for (int c = 0x7f; c < 0x100; ++c) table[c] = 'u';
  }
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}

constexpr EscapeTable kUtf8Escapes = make_escapes(JsonBytes::kUtf8);
constexpr EscapeTable kAsciiEscapes = make_escapes(JsonBytes::kAscii);

// The text from byte `from` on, escaped; [0, from) is plain and already at `out`. Returns the end,
// closing quote included.
char* escape_from(char* out, std::string_view text, size_t from, JsonBytes bytes) {
  // RapidJSON writes upper-case hex digits; the access log has always written lower case.
  const char* hex = bytes == JsonBytes::kUtf8 ? "0123456789ABCDEF" : "0123456789abcdef";
  const EscapeTable& escapes = bytes == JsonBytes::kUtf8 ? kUtf8Escapes : kAsciiEscapes;
  const bool non_ascii = bytes == JsonBytes::kAscii;
  const char* in = text.data();
  const size_t size = text.size();
  char* at = out + from;
  size_t i = from;
  while (i < size) {
    if (i + 8 <= size && !has_json_special(load_word(in + i), non_ascii)) {
      std::memcpy(at, in + i, 8);  // eight plain bytes
      at += 8;
      i += 8;
      continue;
    }
    const char c = in[i++];
    const auto byte = static_cast<unsigned char>(c);
    const char escape = escapes[byte];
    if (escape == 0) {
      *at++ = c;
    } else if (escape == 'u') {
      std::memcpy(at, "\\u00", 4);
      at[4] = hex[byte >> 4];
      at[5] = hex[byte & 0xf];
      at += 6;
    } else {
      at[0] = '\\';
      at[1] = escape;
      at += 2;
    }
  }
  *at++ = '"';
  return at;
}

}  // namespace

#if defined(__SSE2__)

namespace {

// Bit i set when byte i of `v` needs an escape: 16 bytes in a few instructions.
unsigned special_bytes(__m128i v, bool non_ascii) {
  const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
  const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);  // v <= 0x1f
  __m128i special = _mm_or_si128(_mm_or_si128(quote, backslash), control);
  if (non_ascii) special = _mm_or_si128(special, _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x7f)), v));  // v >= 0x7f
  return static_cast<unsigned>(_mm_movemask_epi8(special));
}

}  // namespace

char* write_json_string(char* out, std::string_view text, JsonBytes bytes) {
  const bool non_ascii = bytes == JsonBytes::kAscii;
  const char* in = text.data();
  const size_t size = text.size();
  *out++ = '"';
  if (size >= 16) {
    size_t i = 0;
    for (; i + 16 <= size; i += 16) {
      const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
      if (special_bytes(chunk, non_ascii) != 0) return escape_from(out, text, i, bytes);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), chunk);
    }
    if (i < size) {  // the last bytes, in the chunk that ends with them (it overlaps the one before)
      const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + size - 16));
      if (special_bytes(chunk, non_ascii) != 0) return escape_from(out, text, i, bytes);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + size - 16), chunk);
    }
  } else if (size >= 8) {  // two overlapping words are all of the text
    const uint64_t head = load_word(in);
    const uint64_t tail = load_word(in + size - 8);
    if (special_bytes(_mm_set_epi64x(static_cast<int64_t>(tail), static_cast<int64_t>(head)), non_ascii) != 0) {
      return escape_from(out, text, 0, bytes);
    }
    std::memcpy(out, &head, 8);
    std::memcpy(out + size - 8, &tail, 8);
  } else if (size >= 4) {  // two overlapping halves, likewise
    uint32_t head;
    uint32_t tail;
    std::memcpy(&head, in, 4);
    std::memcpy(&tail, in + size - 4, 4);
    if ((special_bytes(_mm_set_epi32(0, 0, static_cast<int>(tail), static_cast<int>(head)), non_ascii) & 0xff) != 0) {
      return escape_from(out, text, 0, bytes);
    }
    std::memcpy(out, &head, 4);
    std::memcpy(out + size - 4, &tail, 4);
  } else if (size > 0) {  // bytes 0, size / 2 and size - 1 are all of them
    const __m128i three = _mm_set_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, in[size - 1], in[size / 2], in[0]);
    if ((special_bytes(three, non_ascii) & 0x7) != 0) return escape_from(out, text, 0, bytes);
    out[0] = in[0];
    out[size / 2] = in[size / 2];
    out[size - 1] = in[size - 1];
  }
  out += size;
  *out++ = '"';
  return out;
}

#else  // without SSE2: the escaping loop alone, which copies plain words as it meets them

char* write_json_string(char* out, std::string_view text, JsonBytes bytes) {
  *out++ = '"';
  return escape_from(out, text, 0, bytes);
}

#endif

}  // namespace seraph
