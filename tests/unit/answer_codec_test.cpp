#include "cache/answer_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace seraph {
namespace {

using ::testing::HasSubstr;

// A tensor of `type` with `count` elements whose bytes are 0, 1, 2, ... (0 and 1 for BOOL).
Tensor tensor_of(std::string name, DataType type, Shape shape) {
  Tensor t{std::move(name), type, std::move(shape), {}, {}};
  const int64_t count = *element_count(t.shape);
  if (type == DataType::kBytes) {
    for (int64_t i = 0; i < count; ++i) t.strings.push_back(std::string(static_cast<size_t>(i), char('a' + i)));
  } else {
    t.bytes.resize(static_cast<size_t>(count) * datatype_size(type));
    for (size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = std::byte(type == DataType::kBool ? i % 2 : i);
  }
  return t;
}

InferResponse every_datatype() {
  InferResponse response;
  response.model = "mlp";
  response.version = 7;
  response.id = "req-9";
  response.compute_ms = 1.25;
  const DataType types[] = {DataType::kBool, DataType::kUint8, DataType::kUint16, DataType::kUint32, DataType::kUint64,
                            DataType::kInt8, DataType::kInt16, DataType::kInt32,  DataType::kInt64,  DataType::kFp16,
                            DataType::kFp32, DataType::kFp64,  DataType::kBf16,   DataType::kBytes};
  for (DataType type : types) response.outputs.push_back(tensor_of(std::string(datatype_name(type)), type, {2, 3}));
  response.outputs.push_back(tensor_of("empty_fp32", DataType::kFp32, {0, 4}));
  response.outputs.push_back(tensor_of("empty_bytes", DataType::kBytes, {0}));
  response.outputs.push_back(tensor_of("scalar", DataType::kInt64, {}));
  response.outputs.push_back(tensor_of("", DataType::kBytes, {1}));  // one empty string, unnamed
  return response;
}

void expect_same(const InferResponse& a, const InferResponse& b) {
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.compute_ms, b.compute_ms);
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    SCOPED_TRACE(a.outputs[i].name);
    EXPECT_EQ(a.outputs[i].name, b.outputs[i].name);
    EXPECT_EQ(a.outputs[i].datatype, b.outputs[i].datatype);
    EXPECT_EQ(a.outputs[i].shape, b.outputs[i].shape);
    EXPECT_EQ(a.outputs[i].bytes, b.outputs[i].bytes);
    EXPECT_EQ(a.outputs[i].strings, b.outputs[i].strings);
  }
}

std::string encoded(const InferResponse& response) {
  std::string bytes;
  Status s = encode_answer(response, bytes);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return bytes;
}

TEST(AnswerCodec, RoundTripsEveryDatatypeAndEmptyTensors) {
  InferResponse original = every_datatype();
  InferResponse decoded;
  Status s = decode_answer(encoded(original), decoded);
  ASSERT_TRUE(s.is_ok()) << s.message();
  expect_same(original, decoded);
}

TEST(AnswerCodec, RoundTripsAnAnswerWithoutOutputs) {
  InferResponse original;
  original.model = "m";
  InferResponse decoded;
  ASSERT_TRUE(decode_answer(encoded(original), decoded).is_ok());
  expect_same(original, decoded);
}

TEST(AnswerCodec, StartsWithItsMagicAndFormatVersion) {
  std::string bytes = encoded(every_datatype());
  EXPECT_EQ(bytes.substr(0, 5), std::string("SRCA\1"));
}

TEST(AnswerCodec, RejectsAnotherFormatVersion) {
  std::string bytes = encoded(every_datatype());
  bytes[4] = 2;
  InferResponse decoded;
  Status s = decode_answer(bytes, decoded);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("format version 2"));
}

TEST(AnswerCodec, RejectsEveryTruncation) {
  const std::string bytes = encoded(every_datatype());
  for (size_t length = 0; length < bytes.size(); ++length) {
    InferResponse decoded;
    Status s = decode_answer(std::string_view(bytes).substr(0, length), decoded);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "accepted the first " << length << " bytes";
  }
}

TEST(AnswerCodec, RejectsTrailingBytes) {
  InferResponse decoded;
  Status s = decode_answer(encoded(every_datatype()) + "x", decoded);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("1 bytes after the last output"));
}

TEST(AnswerCodec, LeavesTheOutputUntouchedOnError) {
  InferResponse decoded;
  decoded.model = "before";
  std::string bytes = encoded(every_datatype());
  bytes.pop_back();
  ASSERT_FALSE(decode_answer(bytes, decoded).is_ok());
  EXPECT_EQ(decoded.model, "before");
  EXPECT_TRUE(decoded.outputs.empty());
}

TEST(AnswerCodec, RejectsInputLargerThanTheCap) {
  std::string bytes = encoded(every_datatype());
  InferResponse decoded;
  Status s = decode_answer(bytes, decoded, bytes.size() - 1);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(decode_answer(bytes, decoded, bytes.size()).is_ok());
}

TEST(AnswerCodec, RefusesToEncodePastTheCap) {
  InferResponse big;
  big.outputs.push_back(tensor_of("x", DataType::kUint8, {1000}));
  std::string bytes;
  EXPECT_EQ(encode_answer(big, bytes, 500).code(), StatusCode::kInvalidArgument);
}

// Hand-written inputs: the header of an answer "m" v1 with one output named "x".
std::string header_with_one_output(uint8_t datatype, std::vector<int64_t> shape) {
  auto le = [](auto v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); };
  std::string bytes = "SRCA\1" + le(uint32_t{1}) + "m" + le(int64_t{1}) + le(uint32_t{0}) + le(uint64_t{0}) +
                      le(uint32_t{1}) + le(uint32_t{1}) + "x" + std::string(1, char(datatype)) +
                      le(static_cast<uint32_t>(shape.size()));
  for (int64_t d : shape) bytes += le(d);
  return bytes;
}
std::string le64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }

Status decode(const std::string& bytes) {
  InferResponse decoded;
  return decode_answer(bytes, decoded);
}

TEST(AnswerCodec, AcceptsAHandWrittenAnswer) {
  Status s = decode(header_with_one_output(uint8_t(DataType::kUint8), {2}) + le64(2) + "ab");
  EXPECT_TRUE(s.is_ok()) << s.message();
}

TEST(AnswerCodec, RejectsDataThatDoesNotFitTheShapeAndDatatype) {
  EXPECT_THAT(decode(header_with_one_output(uint8_t(DataType::kFp32), {2}) + le64(4) + "abcd").message(),
              HasSubstr("4 bytes of data for shape [2] of FP32"));
  EXPECT_THAT(decode(header_with_one_output(uint8_t(DataType::kFp32), {1}) + le64(3) + "abc").message(),
              HasSubstr("3 bytes of data"));
  EXPECT_THAT(decode(header_with_one_output(uint8_t(DataType::kBytes), {2}) + le64(3)).message(),
              HasSubstr("3 elements for shape [2]"));
}

TEST(AnswerCodec, RejectsAnUnknownDatatype) {
  EXPECT_THAT(decode(header_with_one_output(200, {1}) + le64(1) + "a").message(), HasSubstr("unknown datatype 200"));
}

TEST(AnswerCodec, RejectsANegativeOrOverflowingShape) {
  EXPECT_THAT(decode(header_with_one_output(uint8_t(DataType::kUint8), {-1}) + le64(0)).message(),
              HasSubstr("invalid shape"));
  EXPECT_THAT(decode(header_with_one_output(uint8_t(DataType::kUint8), {int64_t{1} << 40, int64_t{1} << 40}) + le64(0))
                  .message(),
              HasSubstr("invalid shape"));
}

TEST(AnswerCodec, RejectsABoolThatIsNeitherZeroNorOne) {
  EXPECT_THAT(decode(header_with_one_output(uint8_t(DataType::kBool), {1}) + le64(1) + "\2").message(),
              HasSubstr("neither 0 nor 1"));
}

// Counts the bytes left cannot hold are refused before anything is allocated for them.
TEST(AnswerCodec, RejectsHugeCountsWithoutAllocatingForThem) {
  const int64_t billions = int64_t{1} << 32;
  EXPECT_THAT(
      decode(header_with_one_output(uint8_t(DataType::kBytes), {billions}) + le64(uint64_t(billions))).message(),
      HasSubstr("truncated in its elements"));
  EXPECT_THAT(
      decode(header_with_one_output(uint8_t(DataType::kUint64), {billions}) + le64(uint64_t(billions) * 8)).message(),
      HasSubstr("truncated in tensor data"));
  std::string many_outputs = "SRCA\1" + std::string(4, '\0') + std::string(8, '\0') + std::string(4, '\0') +
                             std::string(8, '\0') + std::string("\xff\xff\xff\xff", 4);
  EXPECT_THAT(decode(many_outputs).message(), HasSubstr("truncated in its outputs"));
  EXPECT_THAT(decode(header_with_one_output(uint8_t(DataType::kUint8), std::vector<int64_t>(65, 1))).message(),
              HasSubstr("rank 65"));
}

// A quick stand-in for the fuzzing target: random and randomly damaged inputs decode to an answer
// or to an error, never to a crash (run under the sanitizers, never to a bad read either).
TEST(AnswerCodec, SurvivesRandomAndDamagedInputs) {
  std::mt19937_64 random(20261126);
  const std::string valid = encoded(every_datatype());
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes = valid.substr(0, 5);  // past the magic, so the random part is really parsed
      const size_t length = random() % 256;
      for (size_t j = 0; j < length; ++j) bytes.push_back(static_cast<char>(random()));
    } else {
      bytes = valid;
      for (int flips = 1 + int(random() % 4); flips > 0; --flips) bytes[random() % bytes.size()] = char(random());
    }
    InferResponse decoded;
    Status s = decode_answer(bytes, decoded);
    if (s.is_ok()) {
      std::string again;
      EXPECT_TRUE(encode_answer(decoded, again).is_ok());
    } else {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace seraph
