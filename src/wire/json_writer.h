#pragma once
// Writing JSON with RapidJSON: shortest round-trip numbers and tensor data, for every wire format.
#include <memory>
#include <string>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/inference.h"
#include "core/tensor.h"

namespace seraph {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// A writer and its buffer for one document, kept per thread between documents: a fresh pair costs
// four allocations before the first byte (RapidJSON's allocators and stacks), a kept one none. A
// document begun while the thread's pair is in use (rendering inside rendering) gets a fresh pair.
class ScratchJson {
 public:
  ScratchJson();
  ~ScratchJson();
  ScratchJson(const ScratchJson&) = delete;
  ScratchJson& operator=(const ScratchJson&) = delete;

  JsonWriter& writer();
  std::string_view text() const;

  struct Pair;

 private:
  Pair* pair_;
  std::unique_ptr<Pair> own_;  // only when the thread's pair was taken
};

inline void write_string(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
inline void write_key(JsonWriter& w, std::string_view s) {
  w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
// Floats as their shortest decimal form that parses back to the same float.
void write_float(JsonWriter& w, float value);
void write_double(JsonWriter& w, double value);
// "deployment", "environment" and "variant" members, for answers a deployment's variant gave.
void write_served_by(JsonWriter& w, const ServedBy& served_by);
// A tensor's elements, flat and row-major, as a JSON array.
void write_tensor_data(JsonWriter& w, const Tensor& tensor);

}  // namespace seraph
