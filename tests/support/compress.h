#pragma once
// Compresses test bodies as clients send them: gzip (window bits 15 + 16), zlib-wrapped deflate
// (15) or raw deflate (-15).
#include <zlib.h>

#include <stdexcept>
#include <string>

namespace seraph::testing {

inline std::string compress(const std::string& data, int window_bits) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  out.resize(stream.total_out);
  return out;
}

inline std::string gzip(const std::string& data) { return compress(data, 15 + 16); }

}  // namespace seraph::testing
