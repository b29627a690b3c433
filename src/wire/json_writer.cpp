#include "wire/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace seraph {

namespace {

template <class F>
size_t format_number(F value, char (&text)[32]) {
  if (!std::isfinite(value)) return 0;
  if (value == 0 && std::signbit(value)) {
    static constexpr std::string_view kNegativeZero = "-0.0";
    kNegativeZero.copy(text, kNegativeZero.size());
    return kNegativeZero.size();
  }
  return static_cast<size_t>(std::to_chars(text, text + sizeof text, value).ptr - text);
}

template <class T>
void write_ints(JsonWriter& w, const Tensor& t) {
  for (T v : t.values<T>()) {
    if constexpr (std::is_signed_v<T>) w.Int64(static_cast<int64_t>(v));
    else w.Uint64(static_cast<uint64_t>(v));
  }
}
}  // namespace

struct ScratchJson::Pair {
  rapidjson::StringBuffer buffer;
  JsonWriter writer{buffer};
  bool taken = false;
};

namespace {
// A document larger than this gives its memory back rather than keep it for the thread's life.
constexpr size_t kKeptBytes = 64 * 1024;
}  // namespace

ScratchJson::ScratchJson() {
  thread_local Pair kept;
  if (kept.taken) {
    own_ = std::make_unique<Pair>();
    pair_ = own_.get();
  } else {
    pair_ = &kept;
    kept.buffer.Clear();
    kept.writer.Reset(kept.buffer);
  }
  pair_->taken = true;
}

ScratchJson::~ScratchJson() {
  pair_->taken = false;
  if (!own_ && pair_->buffer.GetSize() > kKeptBytes) {
    pair_->buffer.Clear();
    pair_->buffer.ShrinkToFit();
  }
}

JsonWriter& ScratchJson::writer() { return pair_->writer; }

std::string_view ScratchJson::text() const { return {pair_->buffer.GetString(), pair_->buffer.GetSize()}; }

size_t format_json_number(float value, char (&text)[32]) { return format_number(value, text); }
size_t format_json_number(double value, char (&text)[32]) { return format_number(value, text); }

void write_tensor_data(JsonWriter& w, const Tensor& t) {
  w.StartArray();
  switch (t.datatype) {
    case DataType::kBool:
      for (uint8_t v : t.values<uint8_t>()) w.Bool(v != 0);
      break;
    case DataType::kUint8: write_ints<uint8_t>(w, t); break;
    case DataType::kUint16: write_ints<uint16_t>(w, t); break;
    case DataType::kUint32: write_ints<uint32_t>(w, t); break;
    case DataType::kUint64: write_ints<uint64_t>(w, t); break;
    case DataType::kInt8: write_ints<int8_t>(w, t); break;
    case DataType::kInt16: write_ints<int16_t>(w, t); break;
    case DataType::kInt32: write_ints<int32_t>(w, t); break;
    case DataType::kInt64: write_ints<int64_t>(w, t); break;
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
