#include "api/json_reader.h"

#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/error/en.h>

namespace seraph {

Status parse_json(std::string_view body, rapidjson::Document& doc) {
  // Iterative parsing keeps deeply nested hostile input off the stack; full precision makes FP64
  // inputs arrive bit for bit; NaN and Infinity literals are not JSON and stay rejected.
  constexpr unsigned kFlags =
      rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag;
  doc.Parse<kFlags>(body.data(), body.size());
  if (doc.HasParseError()) {
    return invalid_argument(fmt::format("malformed JSON at offset {}: {}", doc.GetErrorOffset(),
                                        rapidjson::GetParseError_En(doc.GetParseError())));
  }
  return {};
}

namespace {

using rapidjson::Value;

template <class T>
bool read_integer(const Value& v, T& out) {
  if constexpr (std::is_signed_v<T>) {
    if (!v.IsInt64()) return false;
    int64_t x = v.GetInt64();
    if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(x);
  } else {
    if (!v.IsUint64()) return false;
    uint64_t x = v.GetUint64();
    if (x > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(x);
  }
  return true;
}

// Appends one leaf element; false when it is not a valid value of the tensor's type.
bool append_element(const Value& v, Tensor& t, size_t index) {
  std::byte* slot = t.bytes.data() + index * datatype_size(t.datatype);
  auto put = [slot](auto value) { std::memcpy(slot, &value, sizeof value); };
  switch (t.datatype) {
    case DataType::kBool:
      if (!v.IsBool()) return false;
      put(static_cast<uint8_t>(v.GetBool()));
      return true;
    case DataType::kUint8: { uint8_t x; if (!read_integer(v, x)) return false; put(x); return true; }
    case DataType::kUint16: { uint16_t x; if (!read_integer(v, x)) return false; put(x); return true; }
    case DataType::kUint32: { uint32_t x; if (!read_integer(v, x)) return false; put(x); return true; }
    case DataType::kUint64: { uint64_t x; if (!read_integer(v, x)) return false; put(x); return true; }
    case DataType::kInt8: { int8_t x; if (!read_integer(v, x)) return false; put(x); return true; }
    case DataType::kInt16: { int16_t x; if (!read_integer(v, x)) return false; put(x); return true; }
    case DataType::kInt32: { int32_t x; if (!read_integer(v, x)) return false; put(x); return true; }
    case DataType::kInt64: { int64_t x; if (!read_integer(v, x)) return false; put(x); return true; }
    case DataType::kFp32: {
      if (!v.IsNumber()) return false;
      double x = v.GetDouble();
      // Values that round to the largest float are fine; ones that overflow to infinity are not.
      const float f = static_cast<float>(x);
      if (!std::isfinite(f)) return false;
      put(f);
      return true;
    }
    case DataType::kFp64: {
      if (!v.IsNumber()) return false;
      double x = v.GetDouble();
      if (!std::isfinite(x)) return false;
      put(x);
      return true;
    }
    case DataType::kBytes:
      if (!v.IsString()) return false;
      t.strings.emplace_back(v.GetString(), v.GetStringLength());
      return true;
    case DataType::kFp16:
    case DataType::kBf16:
      return false;
  }
  return false;
}

std::string_view expected_kind(DataType type) {
  switch (type) {
    case DataType::kBool: return "a boolean";
    case DataType::kBytes: return "a string";
    case DataType::kFp32: return "a finite number within FP32 range";
    case DataType::kFp64: return "a finite number";
    default: return "an integer within the datatype's range";
  }
}

}  // namespace

Status read_tensor_data(const Value& data, int64_t count, Tensor& tensor) {
  if (!data.IsArray()) return invalid_argument(fmt::format("input '{}': data must be an array", tensor.name));
  // Every element must exist before we allocate for it, so a huge shape with little data fails fast.
  constexpr size_t kMaxDepth = 32;
  if (tensor.datatype == DataType::kBytes) {
    tensor.strings.reserve(static_cast<size_t>(std::min<int64_t>(count, 1 << 20)));
  } else {
    tensor.bytes.clear();
  }
  std::vector<std::pair<const Value*, rapidjson::SizeType>> stack;
  stack.reserve(kMaxDepth);
  stack.emplace_back(&data, 0);
  std::vector<const Value*> leaves;
  while (!stack.empty()) {
    auto& [array, next] = stack.back();
    if (next == array->Size()) {
      stack.pop_back();
      continue;
    }
    const Value& item = (*array)[next++];
    if (item.IsArray()) {
      if (stack.size() >= kMaxDepth) return invalid_argument(fmt::format("input '{}': data is nested too deeply", tensor.name));
      stack.emplace_back(&item, 0);
      continue;
    }
    if (static_cast<int64_t>(leaves.size()) >= count) {
      return invalid_argument(fmt::format("input '{}': data has more than the {} elements shape {} holds", tensor.name,
                                          count, shape_to_string(tensor.shape)));
    }
    leaves.push_back(&item);
  }
  if (static_cast<int64_t>(leaves.size()) != count) {
    return invalid_argument(fmt::format("input '{}': data has {} elements, shape {} needs {}", tensor.name,
                                        leaves.size(), shape_to_string(tensor.shape), count));
  }
  if (tensor.datatype != DataType::kBytes) tensor.bytes.resize(leaves.size() * datatype_size(tensor.datatype));
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!append_element(*leaves[i], tensor, i)) {
      return invalid_argument(fmt::format("input '{}': element {} must be {} for datatype {}", tensor.name, i,
                                          expected_kind(tensor.datatype), datatype_name(tensor.datatype)));
    }
  }
  return {};
}

}  // namespace seraph
