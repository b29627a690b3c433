#pragma once
// A JSON string written through a pointer into room the caller reserved: the quoted, escaped text
// of the hot documents (answers, the access log). Plain text, the common case, is checked and
// copied 16 bytes at a time with SSE2, short text in overlapping pieces, so a value like
// "sentiment" costs a few instructions rather than a look at each byte.
#include <cstddef>
#include <string_view>

namespace seraph {

// What a string's bytes from 0x7f up become.
enum class JsonBytes {
  kUtf8,   // passed through, the text being UTF-8; control characters as RapidJSON escapes them
           // (\n, \u001F)
  kAscii,  // \u00xx each, like control characters: any bytes make valid JSON (a log of untrusted input)
};

// The most bytes write_json_string writes for `size` bytes of text: six per byte, and the quotes.
constexpr size_t json_string_bound(size_t size) { return 6 * size + 2; }

// Writes `text` as a quoted JSON string at `out`, which has json_string_bound(text.size()) bytes
// of room; returns the end of what it wrote.
char* write_json_string(char* out, std::string_view text, JsonBytes bytes);

}  // namespace seraph
