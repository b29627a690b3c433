#pragma once
// Writing JSON with RapidJSON's writer or JsonText (wire/json_text.h): shortest round-trip numbers
// and tensor data, for every wire format.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/inference.h"
#include "core/tensor.h"

namespace seraph {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// The helpers below write with RapidJSON's Writer or with JsonText (wire/json_text.h).
template <class Writer>
void write_string(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
// A member name spelled in our own code, checked when compiled to need no escape: a writer that
// can (JsonText) copies it as it is.
class JsonKey {
 public:
  template <size_t N>
  consteval JsonKey(const char (&text)[N]) : text_(text, N - 1) {  // implicit: write_key(w, "name")
    for (const char c : text_) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\') throw "a JSON key literal must need no escape";
    }
  }
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
};
template <class Writer>
void write_key(Writer& w, JsonKey key) {
  if constexpr (requires { w.LiteralKey(key.text()); }) {
    w.LiteralKey(key.text());
  } else {
    w.Key(key.text().data(), static_cast<rapidjson::SizeType>(key.text().size()));
  }
}
// A member name that comes from data (a label, a parameter's name): escaped like any string.
template <class Writer>
void write_text_key(Writer& w, std::string_view s) {
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

// "deployment", "environment" and "variant" members, for answers a deployment's variant gave, and
// "fallback" when a fallback step answered.
template <class Writer>
void write_served_by(Writer& w, const ServedBy& served_by) {
  write_key(w, "deployment");
  write_string(w, served_by.deployment);
  write_key(w, "environment");
  write_string(w, served_by.environment);
  write_key(w, "variant");
  write_string(w, served_by.variant);
  if (!served_by.fallback.empty()) {
    write_key(w, "fallback");
    write_string(w, served_by.fallback);
  }
}
// A tensor's elements, flat and row-major, as a JSON array.
template <class Writer>
void write_tensor_data(Writer& w, const Tensor& t) {
  auto write_ints = [&w, &t]<class T>(T) {
    for (T v : t.values<T>()) {
      if constexpr (std::is_signed_v<T>) {
        w.Int64(static_cast<int64_t>(v));
      } else {
        w.Uint64(static_cast<uint64_t>(v));
      }
    }
  };
  w.StartArray();
  switch (t.datatype) {
    case DataType::kBool:
      for (uint8_t v : t.values<uint8_t>()) w.Bool(v != 0);
      break;
    case DataType::kUint8: write_ints(uint8_t{}); break;
    case DataType::kUint16: write_ints(uint16_t{}); break;
    case DataType::kUint32: write_ints(uint32_t{}); break;
    case DataType::kUint64: write_ints(uint64_t{}); break;
    case DataType::kInt8: write_ints(int8_t{}); break;
    case DataType::kInt16: write_ints(int16_t{}); break;
    case DataType::kInt32: write_ints(int32_t{}); break;
    case DataType::kInt64: write_ints(int64_t{}); break;
    case DataType::kFp32:
      for (float v : t.values<float>()) write_float(w, v);
      break;
    case DataType::kFp64:
      for (double v : t.values<double>()) write_double(w, v);
      break;
    case DataType::kBytes:
      for (const auto& s : t.strings) write_string(w, s);
      break;
    case DataType::kFp16:
    case DataType::kBf16:
      break;  // JSON has no half floats: the V2 renderer sends these as binary data
  }
  w.EndArray();
}

}  // namespace seraph
