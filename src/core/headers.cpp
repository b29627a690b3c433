#include "core/headers.h"

namespace seraph {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; };
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void HeaderMap::reserve(size_t fields, size_t bytes) {
  fields_.reserve(fields);
  text_.reserve(bytes);
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  const auto name_at = static_cast<uint32_t>(text_.size());
  text_.append(name);
  const auto value_at = static_cast<uint32_t>(text_.size());
  text_.append(value);
  fields_.push_back({name_at, static_cast<uint32_t>(name.size()), value_at, static_cast<uint32_t>(value.size())});
}

std::string_view HeaderMap::header(std::string_view name) const {
  const std::string_view text(text_);
  for (const Field& f : fields_) {
    if (f.name_size == name.size() && equals_ignoring_case(text.substr(f.name_at, f.name_size), name)) {
      return text.substr(f.value_at, f.value_size);
    }
  }
  return {};
}

}  // namespace seraph
