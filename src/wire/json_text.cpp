#include "wire/json_text.h"

#include <charconv>
#include <utility>

#include "core/json_string.h"

namespace seraph {

JsonText::JsonText(std::string text, size_t expected_bytes) : text_(std::move(text)), used_(text_.size()) {
  text_.resize(used_ + expected_bytes);
}

void JsonText::String(const char* text, rapidjson::SizeType size) {
  separate();
  char* at = room(json_string_bound(size));
  used_ = static_cast<size_t>(write_json_string(at, {text, size}, JsonBytes::kUtf8) - text_.data());
}

void JsonText::Int64(int64_t value) {
  char digits[24];
  value_text({digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, value).ptr - digits)});
}

void JsonText::Uint64(uint64_t value) {
  char digits[24];
  value_text({digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, value).ptr - digits)});
}

std::string JsonText::take() && {
  text_.resize(used_);
  return std::move(text_);
}

}  // namespace seraph
