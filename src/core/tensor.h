#pragma once
// A named, typed, shaped block of data: the one currency between protocol adapters and runtimes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace seraph {

enum class DataType : uint8_t {
  kBool, kUint8, kUint16, kUint32, kUint64, kInt8, kInt16, kInt32, kInt64,
  kFp16, kFp32, kFp64, kBf16, kBytes,
};

// KServe V2 spelling ("FP32", "BYTES", ...).
std::string_view datatype_name(DataType type);
std::optional<DataType> parse_datatype(std::string_view name);
// Bytes per element; 0 for BYTES, whose elements are strings of any length.
size_t datatype_size(DataType type);

using Shape = std::vector<int64_t>;

// Number of elements a shape holds; nullopt when a dimension is negative or the product overflows.
std::optional<int64_t> element_count(const Shape& shape);
std::string shape_to_string(const Shape& shape);

struct Tensor {
  std::string name;
  DataType datatype = DataType::kFp32;
  Shape shape;
  std::vector<std::byte> bytes;       // fixed-size element types, row-major
  std::vector<std::string> strings;   // BYTES elements, row-major

  int64_t size() const {
    return datatype == DataType::kBytes ? static_cast<int64_t>(strings.size())
                                        : static_cast<int64_t>(bytes.size() / datatype_size(datatype));
  }

  template <class T>
  std::span<const T> values() const {
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  template <class T>
  std::span<T> mutable_values() {
    return {reinterpret_cast<T*>(bytes.data()), bytes.size() / sizeof(T)};
  }

  template <class T>
  static Tensor of(std::string name, DataType type, Shape shape, std::span<const T> data) {
    Tensor t{std::move(name), type, std::move(shape), {}, {}};
    t.bytes.resize(data.size_bytes());
    if (!data.empty()) std::memcpy(t.bytes.data(), data.data(), data.size_bytes());
    return t;
  }
};

}  // namespace seraph
