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

// The helpers below write with RapidJSON's Writer or with JsonText (wire/json_text.h).
template <class Writer>
void write_string(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
template <class Writer>
void write_key(Writer& w, std::string_view s) {
  w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// A number's shortest decimal form that parses back to the same value, into `text`; 0 when JSON
// cannot hold it (NaN, infinity: written as null). -0 is "-0.0": "-0" would read back as the
// integer 0.
size_t format_json_number(float value, char (&text)[32]);
size_t format_json_number(double value, char (&text)[32]);

template <class Writer, class F>
void write_floating(Writer& w, F value) {
  char text[32];
  if (const size_t size = format_json_number(value, text)) {
    w.RawValue(text, size, rapidjson::kNumberType);
  } else {
    w.Null();
  }
}
template <class Writer>
void write_float(Writer& w, float value) {
  write_floating(w, value);
}
template <class Writer>
void write_double(Writer& w, double value) {
  write_floating(w, value);
}

// "deployment", "environment" and "variant" members, for answers a deployment's variant gave.
template <class Writer>
void write_served_by(Writer& w, const ServedBy& served_by) {
  write_key(w, "deployment");
  write_string(w, served_by.deployment);
  write_key(w, "environment");
  write_string(w, served_by.environment);
  write_key(w, "variant");
  write_string(w, served_by.variant);
}
// A tensor's elements, flat and row-major, as a JSON array.
void write_tensor_data(JsonWriter& w, const Tensor& tensor);

}  // namespace seraph
