#include "wire/json_text.h"

#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "wire/json_writer.h"

namespace seraph {
namespace {

// One document written through the shared helpers, so either writer can write it.
template <class Writer>
void write_sample(Writer& w, std::string_view hostile) {
  w.StartObject();
  write_key(w, "label");
  write_string(w, hostile);
  write_key(w, "scores");
  w.StartObject();
  write_key(w, "a");
  write_float(w, 0.97F);
  write_key(w, "b");
  write_float(w, -0.0F);
  write_key(w, "nan");
  write_float(w, std::numeric_limits<float>::quiet_NaN());
  w.EndObject();
  write_key(w, "rows");
  w.StartArray();
  for (int i = 0; i < 3; ++i) {
    w.StartObject();
    write_key(w, "i");
    w.Int64(i - 1);
    write_key(w, "ok");
    w.Bool(i % 2 == 0);
    write_key(w, "big");
    w.Uint64(std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(i));
    w.EndObject();
  }
  w.StartArray();
  w.EndArray();
  w.EndArray();
  ServedBy served_by{"dep", "production", "can\"didate"};
  write_served_by(w, served_by);
  write_key(w, "latency_ms");
  write_double(w, 1.234);
  write_key(w, "empty");
  write_string(w, "");
  write_key(w, "tensor");
  const std::vector<int32_t> values{1, -2, 3, -4};
  write_tensor_data(w, Tensor::of<int32_t>("t", DataType::kInt32, {2, 2}, values));
  w.EndObject();
}

TEST(JsonText, WritesByteForByteWhatRapidJsonWrites) {
  const std::string hostile = std::string("q\"b\\s/ \b\f\n\r\t\x01\x1f\x7f", 15) + std::string(1, '\0') + "\xc3\xa9\xff";
  rapidjson::StringBuffer buffer;
  JsonWriter reference(buffer);
  write_sample(reference, hostile);

  JsonText fast({}, 8);  // little room at first: the writer must grow as it goes
  write_sample(fast, hostile);
  EXPECT_EQ(std::move(fast).take(), std::string(buffer.GetString(), buffer.GetSize()));
}

TEST(JsonText, AppendsToWhatTheStringHolds) {
  JsonText w("prefix:");
  w.StartArray();
  w.Null();
  w.Int64(std::numeric_limits<int64_t>::min());
  w.EndArray();
  EXPECT_EQ(std::move(w).take(), "prefix:[null,-9223372036854775808]");
}

}  // namespace
}  // namespace seraph
