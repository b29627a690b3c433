#pragma once
// Durations in milliseconds as decimal text to the microsecond ("12.345"), for answers and log
// lines on every request: integer arithmetic, where std::to_chars on a double costs some 500
// instructions.
#include <cstddef>

namespace seraph {

// `value` rounded to the nearest thousandth, into `text`; returns the length, or 0 when `value` is
// outside [0, 1e12) or NaN (the caller writes it another way). Fixed: always three decimals
// ("2.000"). Shortest: trailing zeros and a bare point dropped ("2", "0.5", "12.345"), the text
// std::to_chars gives for the double round(value * 1000) / 1000.
size_t format_thousandths_fixed(double value, char (&text)[32]);
size_t format_thousandths_shortest(double value, char (&text)[32]);

}  // namespace seraph
