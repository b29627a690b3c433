#pragma once
// Personal data in the text a model answers with: e-mail addresses, phone numbers and payment card
// numbers, replaced by `[redacted:<kind>]` before the answer leaves the server. Matching is
// conservative so that ordinary numbers stay: a phone is an international number (+ and a country
// code) or a national one written with separators, and a card number must pass the Luhn check.
// Linear time (RE2), whatever the text.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace seraph {

enum class PersonalData : uint8_t { kEmail, kPhone, kCard };
inline constexpr size_t kPersonalDataKinds = 3;

// "email", "phone", "card": the config's spelling, and the label in `[redacted:<kind>]`.
std::string_view personal_data_name(PersonalData kind);
std::optional<PersonalData> parse_personal_data(std::string_view name);

// Replaces every `kind` found in `text`; returns how many it replaced (`text` is untouched at 0).
size_t redact_personal_data(PersonalData kind, std::string& text);

// Whether the digits of `number` (other characters are skipped) pass the Luhn check.
bool passes_luhn(std::string_view number);

}  // namespace seraph
