#pragma once
// A JSON writer for the hot documents (/predict and V2 answers, V2 requests to remote backends,
// errors): it writes through a pointer into a string kept
// longer than its text, with the subset of RapidJSON's Writer interface the shared writing helpers use, so those helpers
// write either. RapidJSON's per-call bookkeeping (its level stack, its buffer's growth checks) cost
// more than the text of a small answer. It does not check nesting; callers write well-formed
// documents, which the tests parse back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <rapidjson/rapidjson.h>

namespace seraph {

class JsonText {
 public:
  // Writes after what `text` already holds, with room reserved for `expected_bytes` more.
  explicit JsonText(std::string text = {}, size_t expected_bytes = 256);

  void StartObject() { open('{'); }
  void EndObject() { close('}'); }
  void StartArray() { open('['); }
  void EndArray() { close(']'); }
  void Key(const char* text, rapidjson::SizeType size) {
    String(text, size);
    *room(1) = ':';
    ++used_;
    first_ = true;  // the value follows without a comma
  }
  // A member name known to need no escape (JsonKey): copied as it is.
  void LiteralKey(std::string_view key) {
    separate();
    char* at = room(key.size() + 3);
    *at++ = '"';
    std::memcpy(at, key.data(), key.size());
    at[key.size()] = '"';
    at[key.size() + 1] = ':';
    used_ += key.size() + 3;
    first_ = true;  // the value follows without a comma
  }
  void String(const char* text, rapidjson::SizeType size);
  void Int64(int64_t value);
  void Uint64(uint64_t value);
  void Bool(bool value) { value_text(value ? "true" : "false"); }
  void Null() { value_text("null"); }
  void RawValue(const char* text, size_t size, rapidjson::Type) { value_text({text, size}); }

  // The document; the writer is spent.
  std::string take() &&;

 private:
  // Where the next `bytes` may be written: the string is kept longer than what is written (its
  // size is the room, used_ the text), so writing is a pointer store, not an append.
  char* room(size_t bytes) {
    if (used_ + bytes > text_.size()) text_.resize(std::max(text_.size() * 2, used_ + bytes));
    return text_.data() + used_;
  }
  // The comma before a value, when it is not the first in its object or array.
  void separate() {
    if (!first_) {
      *room(1) = ',';
      ++used_;
    }
    first_ = false;
  }
  void open(char bracket) {
    separate();
    *room(1) = bracket;
    ++used_;
    first_ = true;
  }
  void close(char bracket) {
    *room(1) = bracket;
    ++used_;
    first_ = false;
  }
  void value_text(std::string_view text) {
    separate();
    std::memcpy(room(text.size()), text.data(), text.size());
    used_ += text.size();
  }

  std::string text_;
  size_t used_;
  bool first_ = true;
};

}  // namespace seraph
