#include "core/tensor.h"

#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <utility>

namespace seraph {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct NamedType {
  std::string_view name;
  DataType type;
  size_t size;
};
constexpr std::array<NamedType, 14> kAllTypes{{
    {"BOOL", DataType::kBool, 1},     {"UINT8", DataType::kUint8, 1},   {"UINT16", DataType::kUint16, 2},
    {"UINT32", DataType::kUint32, 4}, {"UINT64", DataType::kUint64, 8}, {"INT8", DataType::kInt8, 1},
    {"INT16", DataType::kInt16, 2},   {"INT32", DataType::kInt32, 4},   {"INT64", DataType::kInt64, 8},
    {"FP16", DataType::kFp16, 2},     {"FP32", DataType::kFp32, 4},     {"FP64", DataType::kFp64, 8},
    {"BF16", DataType::kBf16, 2},     {"BYTES", DataType::kBytes, 0},
}};

TEST(DataTypeNames, EveryTypeHasItsKServeV2Name) {
  for (const auto& t : kAllTypes) EXPECT_EQ(datatype_name(t.type), t.name);
}

TEST(DataTypeNames, EveryNameParsesBackToItsType) {
  for (const auto& t : kAllTypes) {
    auto parsed = parse_datatype(t.name);
    ASSERT_TRUE(parsed.has_value()) << t.name;
    EXPECT_EQ(*parsed, t.type) << t.name;
    EXPECT_EQ(datatype_name(*parsed), t.name);
  }
}

TEST(DataTypeNames, UnknownOrMisspelledNamesDoNotParse) {
  for (std::string_view name : {"", "fp32", "Fp32", "FLOAT", "FP32 ", " FP32", "STRING", "INT128", "UINT"}) {
    EXPECT_FALSE(parse_datatype(name).has_value()) << "'" << name << "'";
  }
}

TEST(DataTypeSize, IsTheElementWidthInBytesAndZeroForBytes) {
  for (const auto& t : kAllTypes) EXPECT_EQ(datatype_size(t.type), t.size) << t.name;
}

TEST(ElementCount, IsTheProductOfTheDimensions) {
  EXPECT_EQ(element_count({2, 3, 4}), 24);
  EXPECT_EQ(element_count({7}), 7);
}

TEST(ElementCount, OfAScalarShapeIsOne) { EXPECT_EQ(element_count({}), 1); }

TEST(ElementCount, IsZeroWhenAnyDimensionIsZero) {
  EXPECT_EQ(element_count({3, 0, 5}), 0);
  EXPECT_EQ(element_count({0}), 0);
}

TEST(ElementCount, ZeroDimensionBeforeHugeDimensionsIsZeroNotOverflow) {
  EXPECT_EQ(element_count({0, kMax, kMax}), 0);
}

TEST(ElementCount, NegativeDimensionHasNoCount) {
  EXPECT_EQ(element_count({2, -1}), std::nullopt);
  EXPECT_EQ(element_count({-5}), std::nullopt);
}

TEST(ElementCount, OverflowingProductHasNoCount) {
  EXPECT_EQ(element_count({kMax, 2}), std::nullopt);
  EXPECT_EQ(element_count({int64_t{1} << 32, int64_t{1} << 32}), std::nullopt);
}

TEST(ElementCount, LargestRepresentableProductIsKept) {
  EXPECT_EQ(element_count({kMax, 1}), kMax);
  EXPECT_EQ(element_count({int64_t{1} << 31, int64_t{1} << 31}), int64_t{1} << 62);
}

TEST(ShapeToString, ListsDimensionsInBrackets) {
  EXPECT_EQ(shape_to_string({}), "[]");
  EXPECT_EQ(shape_to_string({5}), "[5]");
  EXPECT_EQ(shape_to_string({-1, 3, 224}), "[-1, 3, 224]");
}

TEST(Tensor, OfCopiesTheValuesAndCountsElements) {
  const std::array<float, 4> data{1.5F, -2.0F, 0.0F, 4.25F};
  Tensor t = Tensor::of<float>("x", DataType::kFp32, {2, 2}, data);
  EXPECT_EQ(t.name, "x");
  EXPECT_EQ(t.shape, (Shape{2, 2}));
  EXPECT_EQ(t.size(), 4);
  ASSERT_EQ(t.values<float>().size(), 4u);
  for (size_t i = 0; i < data.size(); ++i) EXPECT_EQ(t.values<float>()[i], data[i]);
}

TEST(Tensor, SizeOfBytesTensorCountsStrings) {
  Tensor t{"s", DataType::kBytes, {3}, {}, {"a", "", "ccc"}};
  EXPECT_EQ(t.size(), 3);
}

}  // namespace
}  // namespace seraph
