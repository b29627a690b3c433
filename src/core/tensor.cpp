#include "core/tensor.h"

#include <array>
#include <limits>

namespace seraph {
namespace {
struct TypeInfo {
  DataType type;
  std::string_view name;
  size_t size;
};
constexpr std::array<TypeInfo, 14> kTypes{{
    {DataType::kBool, "BOOL", 1},   {DataType::kUint8, "UINT8", 1},   {DataType::kUint16, "UINT16", 2},
    {DataType::kUint32, "UINT32", 4}, {DataType::kUint64, "UINT64", 8}, {DataType::kInt8, "INT8", 1},
    {DataType::kInt16, "INT16", 2}, {DataType::kInt32, "INT32", 4},   {DataType::kInt64, "INT64", 8},
    {DataType::kFp16, "FP16", 2},   {DataType::kFp32, "FP32", 4},     {DataType::kFp64, "FP64", 8},
    {DataType::kBf16, "BF16", 2},   {DataType::kBytes, "BYTES", 0},
}};
}  // namespace

std::string_view datatype_name(DataType type) { return kTypes[static_cast<size_t>(type)].name; }

size_t datatype_size(DataType type) { return kTypes[static_cast<size_t>(type)].size; }

std::optional<DataType> parse_datatype(std::string_view name) {
  for (const auto& info : kTypes) {
    if (info.name == name) return info.type;
  }
  return std::nullopt;
}

std::optional<int64_t> element_count(const Shape& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim) return std::nullopt;
    count *= dim;
  }
  return count;
}

std::string shape_to_string(const Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

}  // namespace seraph
