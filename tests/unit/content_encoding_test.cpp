#include "wire/content_encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace seraph {
namespace {

using ::testing::HasSubstr;

// Compresses `data` as gzip (window_bits 15 + 16), zlib (15) or raw deflate (-15).
std::string compress(const std::string& data, int window_bits) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}
std::string gzip(const std::string& data) { return compress(data, 15 + 16); }
std::string zlib_deflate(const std::string& data) { return compress(data, 15); }

const std::string kBody = R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]})";

TEST(DecodeContent, IdentityAndNoEncodingPassTheBodyThrough) {
  for (std::string_view encoding : {"", "identity", "Identity"}) {
    std::string out;
    ASSERT_TRUE(decode_content(encoding, kBody, 10, out).is_ok()) << encoding;
    EXPECT_EQ(out, kBody);
  }
}

TEST(DecodeContent, InflatesGzip) {
  std::string out;
  ASSERT_TRUE(decode_content("gzip", gzip(kBody), 1 << 20, out).is_ok());
  EXPECT_EQ(out, kBody);
}

TEST(DecodeContent, InflatesDeflateInTheZlibFormatTritonsClientSends) {
  std::string out;
  ASSERT_TRUE(decode_content("deflate", zlib_deflate(kBody), 1 << 20, out).is_ok());
  EXPECT_EQ(out, kBody);
}

TEST(DecodeContent, NamesAreCaseInsensitiveAndMayBePadded) {
  std::string out;
  ASSERT_TRUE(decode_content(" GZIP ", gzip(kBody), 1 << 20, out).is_ok());
  EXPECT_EQ(out, kBody);
}

TEST(DecodeContent, InflatesBodiesLargerThanOneChunk) {
  std::string big;
  for (int i = 0; i < 100000; ++i) big += std::to_string(i) + ",";
  std::string out;
  ASSERT_TRUE(decode_content("gzip", gzip(big), big.size(), out).is_ok());
  EXPECT_EQ(out, big);
}

TEST(DecodeContent, RefusesOtherEncodingsWith415) {
  std::string out;
  Status s = decode_content("br", "x", 10, out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupportedMediaType);
  EXPECT_EQ(s.message(), "Content-Encoding 'br' is not supported; send gzip, deflate or identity");
  EXPECT_EQ(decode_content("gzip, br", "x", 10, out).code(), StatusCode::kUnsupportedMediaType);
}

TEST(DecodeContent, StopsInflatingAtTheLimitWith413) {
  // A zip bomb in miniature: 16 MiB of zeros in a few KiB, against a 1 MiB limit.
  const std::string bomb = gzip(std::string(16 << 20, '\0'));
  std::string out;
  Status s = decode_content("gzip", bomb, 1 << 20, out);
  EXPECT_EQ(s.code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(s.message(), "the gzip body decompresses to more than the 1048576 bytes allowed");
  EXPECT_LT(out.capacity(), 4u << 20);  // the 16 MiB were never inflated
}

TEST(DecodeContent, AcceptsABodyOfExactlyTheLimit) {
  std::string out;
  EXPECT_TRUE(decode_content("deflate", zlib_deflate(kBody), kBody.size(), out).is_ok());
  EXPECT_EQ(decode_content("deflate", zlib_deflate(kBody), kBody.size() - 1, out).code(), StatusCode::kPayloadTooLarge);
}

TEST(DecodeContent, RejectsCorruptDataWith400) {
  std::string out;
  Status s = decode_content("gzip", "definitely not gzip", 1 << 20, out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("the gzip body is corrupt"));
}

TEST(DecodeContent, RejectsATruncatedStreamWith400) {
  const std::string whole = gzip(kBody);
  std::string out;
  Status s = decode_content("gzip", whole.substr(0, whole.size() - 6), 1 << 20, out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "the gzip body ends before its compressed stream does");
}

TEST(DecodeContent, RejectsBytesAfterTheStream) {
  std::string out;
  Status s = decode_content("deflate", zlib_deflate(kBody) + "junk", 1 << 20, out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "4 bytes follow the end of the deflate stream");
}

TEST(DecodeContent, DeflateMeansTheZlibFormatNotRawDeflate) {
  std::string out;
  EXPECT_EQ(decode_content("deflate", compress(kBody, -15), 1 << 20, out).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace seraph
