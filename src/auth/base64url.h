#pragma once
// Base64url without padding (RFC 4648 section 5, as JOSE uses it: RFC 7515 section 2). Decoding is
// strict: padding, whitespace, characters outside the alphabet and non-zero trailing bits are
// refused, so each byte string has exactly one accepted encoding.
#include <string>
#include <string_view>

namespace seraph {

// Appends the decoded bytes to `out`; false (with `out` in an unspecified state) on any violation.
bool base64url_decode(std::string_view text, std::string& out);

std::string base64url_encode(std::string_view bytes);

}  // namespace seraph
