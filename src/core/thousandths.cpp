#include "core/thousandths.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace seraph {
namespace {

// The whole part, then "." and the first `digits` of the three decimals.
size_t write_thousandths(uint64_t thousandths, int digits, char (&text)[32]) {
  char* at = std::to_chars(text, text + sizeof text, thousandths / 1000).ptr;
  if (digits == 0) return static_cast<size_t>(at - text);
  const auto fraction = static_cast<unsigned>(thousandths % 1000);
  const char decimals[3] = {static_cast<char>('0' + fraction / 100), static_cast<char>('0' + fraction / 10 % 10),
                            static_cast<char>('0' + fraction % 10)};
  *at++ = '.';
  for (int i = 0; i < digits; ++i) *at++ = decimals[i];
  return static_cast<size_t>(at - text);
}

// Past 1e12 thousandths no longer fit the arithmetic above exactly; `!(value >= 0)` holds for NaN.
bool writable(double value) { return value >= 0 && value < 1e12; }

}  // namespace

size_t format_thousandths_fixed(double value, char (&text)[32]) {
  if (!writable(value)) return 0;
  return write_thousandths(static_cast<uint64_t>(std::llround(value * 1000)), 3, text);
}

size_t format_thousandths_shortest(double value, char (&text)[32]) {
  if (!writable(value)) return 0;
  const auto thousandths = static_cast<uint64_t>(std::llround(value * 1000));
  int digits = 3;
  for (uint64_t rest = thousandths % 1000; digits > 0 && rest % 10 == 0; rest /= 10) --digits;
  return write_thousandths(thousandths, digits, text);
}

}  // namespace seraph
