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

}  // namespace

size_t format_json_number(float value, char (&text)[32]) { return format_number(value, text); }
size_t format_json_number(double value, char (&text)[32]) { return format_number(value, text); }

}  // namespace seraph
