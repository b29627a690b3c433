#include "wire/json_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace seraph {
namespace {

using ::testing::HasSubstr;

// Parses `data_json` and reads it into a tensor of `type` and `shape`.
Status read(const std::string& data_json, DataType type, Shape shape, Tensor& tensor) {
  JsonValue doc;
  if (Status s = parse_json(data_json, doc); !s.is_ok()) return s;
  tensor = Tensor{"x", type, std::move(shape), {}, {}};
  return read_tensor_data(doc, *element_count(tensor.shape), tensor);
}

Status read(const std::string& data_json, DataType type, Shape shape) {
  Tensor ignored;
  return read(data_json, type, std::move(shape), ignored);
}

TEST(ParseJson, AcceptsAnObject) {
  JsonValue doc;
  ASSERT_TRUE(parse_json(R"({"a": [1, 2.5, "x", true, null]})", doc).is_ok());
  EXPECT_TRUE(doc.is_object());
}

TEST(ParseJson, RejectsMalformedJson) {
  JsonValue doc;
  Status s = parse_json(R"({"a": 1,})", doc);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("malformed JSON"));
}

// Numbers that crash or fool RapidJSON 1.1's full-precision parser (found by fuzzing): each is
// either parsed exactly or rejected, never misread.
TEST(ParseJson, HostileNumbersAreParsedExactlyOrRejected) {
  Tensor t;
  const std::string many_zeros = "[0." + std::string(330, '0') + "3195126376666666266]";
  EXPECT_TRUE(read(many_zeros, DataType::kFp64, {1}, t).is_ok());
  EXPECT_EQ(t.values<double>()[0], 0.0);  // 3.2e-331 is below the smallest double: zero
  EXPECT_FALSE(read("[2" + std::string(40, '0') + "e308]", DataType::kFp64, {1}).is_ok());  // overflows
  ASSERT_TRUE(read("[0e38, 0e300]", DataType::kFp64, {2}, t).is_ok());
  EXPECT_EQ(t.values<double>()[0], 0.0);
  EXPECT_EQ(t.values<double>()[1], 0.0);
  ASSERT_TRUE(read("[0e38]", DataType::kFp32, {1}, t).is_ok());
  EXPECT_EQ(t.values<float>()[0], 0.0f);
}

TEST(ParseJson, RejectsEveryKindOfMalformedDocument) {
  for (const char* body : {"", "{", "[1,]", "{'a': 1}", "{} x", "[1 2]", "tru", "\"unterminated"}) {
    JsonValue doc;
    EXPECT_FALSE(parse_json(body, doc).is_ok()) << body;
  }
}

TEST(ParseJson, RejectsNanAndInfinityLiterals) {
  for (const char* body : {"[NaN]", "[Infinity]", "[-Infinity]", "[Inf]"}) {
    JsonValue doc;
    EXPECT_FALSE(parse_json(body, doc).is_ok()) << body;
  }
}

TEST(ParseJson, RejectsNumbersTooBigForADouble) {
  JsonValue doc;
  EXPECT_FALSE(parse_json("[1e400]", doc).is_ok());
}

TEST(ParseJson, RejectsInvalidUtf8) {
  for (std::string body : {std::string("[\"\xff\"]"), std::string("[\"\xc0\xaf\"]"), std::string("[\"\xe2\x82\"]")}) {
    JsonValue doc;
    EXPECT_FALSE(parse_json(body, doc).is_ok());
  }
}

TEST(ParseJson, AcceptsValidMultiByteUtf8) {
  JsonValue doc;
  ASSERT_TRUE(parse_json("[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]", doc).is_ok());
}

TEST(ParseJson, SurvivesDeepNestingWithoutRecursion) {
  const std::string unbalanced(100000, '[');
  JsonValue doc;
  EXPECT_FALSE(parse_json(unbalanced, doc).is_ok());
  const std::string balanced = std::string(100000, '[') + std::string(100000, ']');
  JsonValue doc2;
  (void)parse_json(balanced, doc2);  // either answer is fine; reaching this line is the test
  SUCCEED();
}


std::string nested(int depth, const std::string& leaf) {
  return std::string(depth, '[') + leaf + std::string(depth, ']');
}

TEST(ReadTensorData, ReadsFlatData) {
  Tensor t;
  ASSERT_TRUE(read("[1, 2.5, -3, 4]", DataType::kFp32, {2, 2}, t).is_ok());
  ASSERT_EQ(t.values<float>().size(), 4u);
  EXPECT_EQ(t.values<float>()[0], 1.0F);
  EXPECT_EQ(t.values<float>()[1], 2.5F);
  EXPECT_EQ(t.values<float>()[2], -3.0F);
  EXPECT_EQ(t.values<float>()[3], 4.0F);
}

TEST(ReadTensorData, NestedDataReadsTheSameAsFlat) {
  Tensor flat, nested_rows;
  ASSERT_TRUE(read("[1, 2, 3, 4, 5, 6]", DataType::kInt32, {2, 3}, flat).is_ok());
  ASSERT_TRUE(read("[[1, 2, 3], [4, 5, 6]]", DataType::kInt32, {2, 3}, nested_rows).is_ok());
  EXPECT_EQ(flat.bytes, nested_rows.bytes);
}

TEST(ReadTensorData, RejectsDataThatIsNotAnArray) {
  EXPECT_THAT(read("5", DataType::kFp32, {1}).message(), HasSubstr("input 'x': data must be an array"));
}

TEST(ReadTensorData, RejectsTooManyElements) {
  Status s = read("[1, 2, 3, 4, 5]", DataType::kFp32, {2, 2});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than the 4 elements shape [2, 2] holds"));
}

TEST(ReadTensorData, RejectsTooFewElements) {
  Status s = read("[[1, 2], [3]]", DataType::kFp32, {2, 2});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("data has 3 elements, shape [2, 2] needs 4"));
}

TEST(ReadTensorData, ReadsAnEmptyTensor) {
  Tensor t;
  EXPECT_TRUE(read("[]", DataType::kFp32, {0, 3}, t).is_ok());
  EXPECT_TRUE(t.bytes.empty());
}

TEST(ReadTensorData, Fp32RejectsValuesBeyondItsRange) {
  Status s = read("[1e39]", DataType::kFp32, {1});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("element 0 must be a finite number within FP32 range for datatype FP32"));
  EXPECT_FALSE(read("[-1e39]", DataType::kFp32, {1}).is_ok());
}

TEST(ReadTensorData, Fp32AcceptsLargeValuesWithinRange) {
  Tensor t;
  ASSERT_TRUE(read("[3.4e38, -3.4e38]", DataType::kFp32, {2}, t).is_ok());
  EXPECT_EQ(t.values<float>()[0], 3.4e38F);
  EXPECT_EQ(t.values<float>()[1], -3.4e38F);
}

TEST(ReadTensorData, Fp32RejectsValuesThatRoundToInfinity) {
  // The midpoint between FLT_MAX and the next (unrepresentable) float rounds to infinity.
  EXPECT_FALSE(read("[3.4028235677973366e38]", DataType::kFp32, {1}).is_ok());
}

// Values that round to the largest float are accepted: 3.4028235e38 is how writers print FLT_MAX.
TEST(ReadTensorData, Fp32AcceptsTheShortestSpellingOfItsLargestValue) {
  Tensor t;
  ASSERT_TRUE(read("[3.4028235e38, 3.4028234663852886e38]", DataType::kFp32, {2}, t).is_ok());
  EXPECT_EQ(t.values<float>()[0], std::numeric_limits<float>::max());
  EXPECT_EQ(t.values<float>()[1], std::numeric_limits<float>::max());
}

// Doubles in their shortest round-trip form arrive as the very same double.
TEST(ReadTensorData, Fp64ValuesArriveBitForBit) {
  Tensor t;
  ASSERT_TRUE(read("[0.11935319286735585, 0.9303381542885225, 0.49431128204553837]", DataType::kFp64, {3}, t).is_ok());
  EXPECT_EQ(t.values<double>()[0], 0.11935319286735585);
  EXPECT_EQ(t.values<double>()[1], 0.9303381542885225);
  EXPECT_EQ(t.values<double>()[2], 0.49431128204553837);
}

TEST(ReadTensorData, Fp64AcceptsValuesBeyondFp32Range) {
  Tensor t;
  ASSERT_TRUE(read("[1e300]", DataType::kFp64, {1}, t).is_ok());
  EXPECT_EQ(t.values<double>()[0], 1e300);
}

TEST(ReadTensorData, Int8RejectsOutOfRangeValues) {
  Status s = read("[1, 300]", DataType::kInt8, {2});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("element 1 must be an integer within the datatype's range for datatype INT8"));
  EXPECT_FALSE(read("[-129]", DataType::kInt8, {1}).is_ok());
}

TEST(ReadTensorData, Int8AcceptsItsLimits) {
  Tensor t;
  ASSERT_TRUE(read("[-128, 127]", DataType::kInt8, {2}, t).is_ok());
  EXPECT_EQ(t.values<int8_t>()[0], -128);
  EXPECT_EQ(t.values<int8_t>()[1], 127);
}

TEST(ReadTensorData, IntegersRejectFractions) { EXPECT_FALSE(read("[1.5]", DataType::kInt32, {1}).is_ok()); }

TEST(ReadTensorData, Uint8RejectsNegativeValues) {
  EXPECT_FALSE(read("[-1]", DataType::kUint8, {1}).is_ok());
  EXPECT_FALSE(read("[256]", DataType::kUint8, {1}).is_ok());
  Tensor t;
  ASSERT_TRUE(read("[0, 255]", DataType::kUint8, {2}, t).is_ok());
  EXPECT_EQ(t.values<uint8_t>()[1], 255);
}

TEST(ReadTensorData, SixtyFourBitIntegersKeepTheirFullRange) {
  Tensor u, s;
  ASSERT_TRUE(read("[18446744073709551615]", DataType::kUint64, {1}, u).is_ok());
  EXPECT_EQ(u.values<uint64_t>()[0], std::numeric_limits<uint64_t>::max());
  ASSERT_TRUE(read("[-9223372036854775808]", DataType::kInt64, {1}, s).is_ok());
  EXPECT_EQ(s.values<int64_t>()[0], std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(read("[9223372036854775808]", DataType::kInt64, {1}).is_ok());
}

TEST(ReadTensorData, BoolRequiresBooleans) {
  Tensor t;
  ASSERT_TRUE(read("[true, false]", DataType::kBool, {2}, t).is_ok());
  EXPECT_EQ(t.values<uint8_t>()[0], 1);
  EXPECT_EQ(t.values<uint8_t>()[1], 0);
  Status s = read("[true, 1]", DataType::kBool, {2});
  EXPECT_THAT(s.message(), HasSubstr("element 1 must be a boolean for datatype BOOL"));
}

TEST(ReadTensorData, BytesRequiresStrings) {
  Tensor t;
  ASSERT_TRUE(read(R"(["a", ""])", DataType::kBytes, {2}, t).is_ok());
  EXPECT_EQ(t.strings, (std::vector<std::string>{"a", ""}));
  Status s = read(R"(["a", 1])", DataType::kBytes, {2});
  EXPECT_THAT(s.message(), HasSubstr("element 1 must be a string for datatype BYTES"));
}

TEST(ReadTensorData, BytesKeepEmbeddedNulCharacters) {
  Tensor t;
  ASSERT_TRUE(read(R"(["a\u0000b"])", DataType::kBytes, {1}, t).is_ok());
  EXPECT_EQ(t.strings[0], std::string("a\0b", 3));
}

TEST(ReadTensorData, HalfFloatsCannotBeReadFromJson) {
  EXPECT_FALSE(read("[1.0]", DataType::kFp16, {1}).is_ok());
  EXPECT_FALSE(read("[1.0]", DataType::kBf16, {1}).is_ok());
}

TEST(ReadTensorData, AcceptsNestingUpTo32Levels) {
  EXPECT_TRUE(read(nested(32, "1"), DataType::kFp32, {1}).is_ok());
}

TEST(ReadTensorData, RejectsNestingDeeperThan32Levels) {
  Status s = read(nested(33, "1"), DataType::kFp32, {1});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("input 'x': data is nested too deeply"));
}

}  // namespace
}  // namespace seraph
