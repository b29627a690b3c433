#include "wire/json_reader.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace seraph {

namespace dom = simdjson::dom;

namespace {
constexpr size_t kMaxDepth = 64;   // JSON nesting the parser accepts at all
constexpr size_t kMaxDataDepth = 32;  // array nesting inside a tensor's data
}  // namespace

Status parse_json(std::string_view body, JsonValue& root) {
  // One parser and one padded input buffer per thread: no allocation once they have grown.
  thread_local dom::parser parser(1 << 26);
  thread_local std::string padded;
  static thread_local bool configured = [] { return parser.allocate(1 << 16, kMaxDepth) == simdjson::SUCCESS; }();
  if (!configured) return internal_error("JSON parser could not allocate");
  padded.assign(body);
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::error_code error = parser.parse(padded.data(), body.size(), false).get(root);
  if (error) {
    std::string_view reason = simdjson::error_message(error);
    if (error == simdjson::DEPTH_ERROR) reason = "nested too deeply";
    return invalid_argument(fmt::format("malformed JSON: {}", reason));
  }
  return {};
}

std::optional<JsonValue> member(JsonValue object, std::string_view key) {
  dom::object obj;
  if (object.get(obj)) return std::nullopt;
  JsonValue value;
  if (obj.at_key(key).get(value)) return std::nullopt;
  return value;
}

namespace {

template <class T>
bool read_integer(JsonValue v, T& out) {
  if (v.is_int64()) {
    const int64_t x = int64_t(v);
    if constexpr (std::is_signed_v<T>) {
      if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max()) return false;
    } else {
      if (x < 0 || static_cast<uint64_t>(x) > std::numeric_limits<T>::max()) return false;
    }
    out = static_cast<T>(x);
    return true;
  }
  if (v.is_uint64()) {  // above INT64_MAX
    const uint64_t x = uint64_t(v);
    if (x > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
    out = static_cast<T>(x);
    return true;
  }
  return false;
}

// A JSON number as a double; false for anything else.
bool read_number(JsonValue v, double& out) {
  switch (v.type()) {
    case dom::element_type::INT64: out = static_cast<double>(int64_t(v)); return true;
    case dom::element_type::UINT64: out = static_cast<double>(uint64_t(v)); return true;
    case dom::element_type::DOUBLE: out = double(v); return true;
    default: return false;
  }
}

// Stores one leaf element at `index`; false when it is not a valid value of the tensor's type.
bool store_element(JsonValue v, Tensor& t, size_t index) {
  std::byte* slot = t.bytes.data() + index * datatype_size(t.datatype);
  auto put = [slot](auto value) {
    std::memcpy(slot, &value, sizeof value);
    return true;
  };
  switch (t.datatype) {
    case DataType::kBool: {
      bool b = false;
      if (v.get(b)) return false;
      return put(static_cast<uint8_t>(b));
    }
    case DataType::kUint8: { uint8_t x; return read_integer(v, x) && put(x); }
    case DataType::kUint16: { uint16_t x; return read_integer(v, x) && put(x); }
    case DataType::kUint32: { uint32_t x; return read_integer(v, x) && put(x); }
    case DataType::kUint64: { uint64_t x; return read_integer(v, x) && put(x); }
    case DataType::kInt8: { int8_t x; return read_integer(v, x) && put(x); }
    case DataType::kInt16: { int16_t x; return read_integer(v, x) && put(x); }
    case DataType::kInt32: { int32_t x; return read_integer(v, x) && put(x); }
    case DataType::kInt64: { int64_t x; return read_integer(v, x) && put(x); }
    case DataType::kFp32: {
      double x = 0;
      if (!read_number(v, x)) return false;
      // Values that round to the largest float are fine; ones that overflow to infinity are not.
      const float f = static_cast<float>(x);
      return std::isfinite(f) && put(f);
    }
    case DataType::kFp64: {
      double x = 0;
      return read_number(v, x) && std::isfinite(x) && put(x);
    }
    case DataType::kBytes: {
      std::string_view s;
      if (v.get(s)) return false;
      t.strings.emplace_back(s);
      return true;
    }
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

Status read_tensor_data(JsonValue data, int64_t count, Tensor& tensor, std::string_view role) {
  dom::array top;
  if (data.get(top)) return invalid_argument(fmt::format("{} '{}': data must be an array", role, tensor.name));
  // Count the leaves first: a huge shape with little data fails before anything is allocated.
  std::vector<JsonValue> leaves;
  std::vector<std::pair<dom::array::iterator, dom::array::iterator>> stack;
  stack.reserve(kMaxDataDepth);
  stack.emplace_back(top.begin(), top.end());
  while (!stack.empty()) {
    auto& [it, end] = stack.back();
    if (it == end) {
      stack.pop_back();
      continue;
    }
    JsonValue item = *it;
    ++it;
    dom::array nested;
    if (!item.get(nested)) {
      if (stack.size() >= kMaxDataDepth) {
        return invalid_argument(fmt::format("{} '{}': data is nested too deeply", role, tensor.name));
      }
      stack.emplace_back(nested.begin(), nested.end());
      continue;
    }
    if (static_cast<int64_t>(leaves.size()) >= count) {
      return invalid_argument(fmt::format("{} '{}': data has more than the {} elements shape {} holds", role, tensor.name,
                                          count, shape_to_string(tensor.shape)));
    }
    leaves.push_back(item);
  }
  if (static_cast<int64_t>(leaves.size()) != count) {
    return invalid_argument(fmt::format("{} '{}': data has {} elements, shape {} needs {}", role, tensor.name,
                                        leaves.size(), shape_to_string(tensor.shape), count));
  }
  if (tensor.datatype == DataType::kBytes) {
    tensor.strings.reserve(leaves.size());
  } else {
    tensor.bytes.resize(leaves.size() * datatype_size(tensor.datatype));
  }
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!store_element(leaves[i], tensor, i)) {
      return invalid_argument(fmt::format("{} '{}': element {} must be {} for datatype {}", role, tensor.name, i,
                                          expected_kind(tensor.datatype), datatype_name(tensor.datatype)));
    }
  }
  return {};
}

}  // namespace seraph
