#include "guards/personal_data.h"

#include <re2/re2.h>

namespace seraph {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

size_t count_digits(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += is_digit(c);
  return n;
}

// Candidates are found by a pattern, then judged with what RE2 cannot say: the text around them
// (no lookbehind), digit counts and the Luhn check.
struct Finder {
  const RE2& pattern;
  bool (*accept)(std::string_view text, size_t begin, size_t end);
};

bool accept_email(std::string_view, size_t, size_t) { return true; }

// A phone stands alone (no digit or letter glued to it) and has as many digits as phone numbers
// do: 8 to 15 after a '+' (E.164), 9 to 12 in a national format.
bool accept_phone(std::string_view text, size_t begin, size_t end) {
  if (begin > 0 && (is_alnum(text[begin - 1]) || text[begin - 1] == '+')) return false;
  if (end < text.size() && is_alnum(text[end])) return false;
  const size_t digits = count_digits(text.substr(begin, end - begin));
  return text[begin] == '+' ? digits >= 8 && digits <= 15 : digits >= 9 && digits <= 12;
}

// A card number stands alone, has 13 to 19 digits, and passes the Luhn check.
bool accept_card(std::string_view text, size_t begin, size_t end) {
  if (begin > 0 && (is_alnum(text[begin - 1]))) return false;
  if (end < text.size() && is_alnum(text[end])) return false;
  const std::string_view number = text.substr(begin, end - begin);
  const size_t digits = count_digits(number);
  return digits >= 13 && digits <= 19 && passes_luhn(number);
}

RE2::Options quiet() {
  RE2::Options options;
  options.set_log_errors(false);
  return options;
}

const Finder& finder(PersonalData kind) {
  // Compiled once, on first use; RE2 objects are safe to match from any thread.
  static const RE2 email(R"([A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})", quiet());
  static const RE2 phone(
      // International: +, a country code, then groups of digits with optional separators.
      R"(\+\d{1,3}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{1,4}){1,4})"
      // North American: (555) 123-4567, 555-123-4567, 555.123.4567.
      R"(|\(\d{3}\) ?\d{3}[ .\-]\d{4}|\d{3}[.\-]\d{3}[.\-]\d{4})"
      // European national, leading 0 and separated groups: 020 7946 0958, 06 12 34 56 78.
      R"(|0\d{1,4}[ \-]\d{2,4}(?:[ \-]\d{2,4}){1,3})",
      quiet());
  static const RE2 card(
      // Amex 4-6-5, groups of four (with a short last group), or one run of digits.
      R"(\d{4}[ \-]\d{6}[ \-]\d{5}|\d{4}(?:[ \-]\d{4}){2,3}(?:[ \-]\d{1,3})?|\d{13,19})", quiet());
  static const Finder finders[kPersonalDataKinds] = {{email, accept_email}, {phone, accept_phone}, {card, accept_card}};
  return finders[static_cast<size_t>(kind)];
}

}  // namespace

std::string_view personal_data_name(PersonalData kind) {
  switch (kind) {
    case PersonalData::kEmail: return "email";
    case PersonalData::kPhone: return "phone";
    case PersonalData::kCard: return "card";
  }
  return "unknown";
}

std::optional<PersonalData> parse_personal_data(std::string_view name) {
  for (auto kind : {PersonalData::kEmail, PersonalData::kPhone, PersonalData::kCard}) {
    if (personal_data_name(kind) == name) return kind;
  }
  return std::nullopt;
}

bool passes_luhn(std::string_view number) {
  int sum = 0;
  bool doubled = false;
  size_t digits = 0;
  for (auto it = number.rbegin(); it != number.rend(); ++it) {
    if (!is_digit(*it)) continue;
    int d = *it - '0';
    if (doubled) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    doubled = !doubled;
    ++digits;
  }
  return digits > 0 && sum % 10 == 0;
}

size_t redact_personal_data(PersonalData kind, std::string& text) {
  const Finder& f = finder(kind);
  const std::string_view view(text);
  const std::string replacement = "[redacted:" + std::string(personal_data_name(kind)) + "]";
  std::string out;
  size_t copied = 0;  // text before this is in `out`
  size_t from = 0;
  size_t replaced = 0;
  re2::StringPiece found;
  while (from < view.size() && f.pattern.Match(view, from, view.size(), RE2::UNANCHORED, &found, 1)) {
    const size_t begin = static_cast<size_t>(found.data() - view.data());
    const size_t end = begin + found.size();
    if (f.accept(view, begin, end)) {
      out.append(view.substr(copied, begin - copied));
      out += replacement;
      copied = end;
      from = end;
      ++replaced;
      continue;
    }
    // A rejected candidate may hide an acceptable one that starts later inside it ("order 1234"
    // before a card number): look again from the next run of digits, so each character is
    // scanned a bounded number of times.
    size_t next = begin + 1;
    while (next < end && is_digit(view[next]) && is_digit(view[next - 1])) ++next;
    from = next;
  }
  if (replaced == 0) return 0;
  out.append(view.substr(copied));
  text = std::move(out);
  return replaced;
}

}  // namespace seraph
