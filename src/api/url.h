#pragma once
// Request-target handling: path and query split, percent-decoding, query parameters.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seraph {

// "/a/b?x=1" -> {"/a/b", "x=1"}
std::pair<std::string_view, std::string_view> split_target(std::string_view target);
// Percent-decoded, non-empty segments of a path: "/v2/models/m%20x/" -> {"v2", "models", "m x"}.
std::vector<std::string> split_path(std::string_view path);
// Decodes %XX (and '+' as space when `plus_is_space`); malformed escapes are kept as they are.
std::string percent_decode(std::string_view text, bool plus_is_space);
// A whole number of at least 1 written in decimal and nothing else ("7", not "07x" or "-1").
std::optional<int64_t> parse_positive(std::string_view text);
// The decoded value of the first `name=value` in a query string.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace seraph
