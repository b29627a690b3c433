#include "wire/content_encoding.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <zlib.h>

namespace seraph {
namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Inflates a gzip (window_bits 15 + 16) or zlib (15) stream into `out`, at most `limit` bytes.
Status inflate_body(std::string_view name, int window_bits, std::string_view body, size_t limit, std::string& out) {
  z_stream stream{};
  if (inflateInit2(&stream, window_bits) != Z_OK) return internal_error("could not start the zlib decoder");
  constexpr size_t kChunk = 64 * 1024;
  // zlib counts in uInt; bodies past 4 GiB are refused long before they get here.
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(std::min<size_t>(body.size(), UINT32_MAX));
  out.clear();
  int result = Z_OK;
  Status status;
  while (result != Z_STREAM_END) {
    // One byte beyond the limit tells "exactly the limit" from "more".
    const size_t left = limit - out.size();
    const size_t grow = left < kChunk ? left + 1 : kChunk;
    const size_t used = out.size();
    out.resize(used + grow);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    stream.avail_out = static_cast<uInt>(grow);
    result = inflate(&stream, Z_NO_FLUSH);
    out.resize(used + grow - stream.avail_out);
    if (out.size() > limit) {
      status = {StatusCode::kPayloadTooLarge,
                fmt::format("the {} body decompresses to more than the {} bytes allowed", name, limit)};
      break;
    }
    if (result == Z_STREAM_END) break;
    if (result == Z_BUF_ERROR) {  // no progress with room to write: the input ran out
      status = invalid_argument(fmt::format("the {} body ends before its compressed stream does", name));
      break;
    }
    if (result != Z_OK) {
      status = invalid_argument(fmt::format("the {} body is corrupt: {}", name, stream.msg ? stream.msg : "bad data"));
      break;
    }
  }
  const size_t trailing = stream.avail_in;
  inflateEnd(&stream);
  if (status.is_ok() && trailing != 0) {
    status = invalid_argument(fmt::format("{} bytes follow the end of the {} stream", trailing, name));
  }
  if (!status.is_ok()) out.clear();
  return status;
}

}  // namespace

Status decode_content(std::string_view encoding, std::string_view body, size_t limit, std::string& out) {
  encoding = trim(encoding);
  if (encoding.empty() || equals_ignoring_case(encoding, "identity")) {
    out.assign(body);
    return {};
  }
  if (equals_ignoring_case(encoding, "gzip")) return inflate_body("gzip", 15 + 16, body, limit, out);
  if (equals_ignoring_case(encoding, "deflate")) return inflate_body("deflate", 15, body, limit, out);
  return {StatusCode::kUnsupportedMediaType,
          fmt::format("Content-Encoding '{}' is not supported; send gzip, deflate or identity", encoding)};
}

}  // namespace seraph
