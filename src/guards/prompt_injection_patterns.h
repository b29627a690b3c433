#pragma once
// The shipped list of prompt-injection phrasings the content guard refuses when a deployment sets
// `prompt_injection: true`. Compiled in, so the guard needs no data file at run time; a deployment
// adds its own with `extra_patterns`. Refusals name a pattern by its index in this list.
#include <span>
#include <string_view>

namespace seraph {

// RE2 patterns, case-insensitive, matched anywhere in a text input.
std::span<const std::string_view> prompt_injection_patterns();

}  // namespace seraph
