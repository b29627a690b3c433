#pragma once
// Reading a JSON Web Key Set (RFC 7517) into verification keys: RSA (n, e), EC on P-256 (x, y) and
// oct (k) keys. A key's `alg` pins its algorithm (required for oct; RSA defaults to RS256, EC P-256
// to ES256). Keys that are well-formed but not for us (another kty or curve, `use` other than
// "sig", an algorithm we do not verify) are skipped, as RFC 7517 section 5 asks, and each is named
// in `ignored`; anything malformed, or a duplicate kid, fails the whole set.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt_key.h"
#include "core/status.h"

namespace seraph {

inline constexpr size_t kMaxJwksBytes = 1 << 20;

Status parse_jwks(std::string_view json, std::vector<JwtKey>& keys, std::vector<std::string>& ignored);

}  // namespace seraph
