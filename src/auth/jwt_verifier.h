#pragma once
// Verifying a JWT (RFC 7519) in JWS compact form (RFC 7515) against a key set and a policy, with
// the checks RFC 8725 recommends: only HS256, RS256 and ES256, the algorithm pinned by the key, no
// `alg: none`, no `crit` extensions we do not know, bounded input. The claims are trusted only
// after the signature is.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt_key_set.h"
#include "core/status.h"

namespace seraph {

inline constexpr size_t kMaxJwtBytes = size_t{8} << 10;

struct JwtPolicy {
  std::string issuer;                  // empty: not checked
  std::vector<std::string> audiences;  // empty: not checked; else `aud` (string or array) must contain one
  std::chrono::seconds clock_skew{30};
  std::string subject_claim = "sub";
  std::string roles_claim = "roles";  // array of strings, or one space-separated string (OAuth `scope` style)
  std::string tenant_claim = "tenant";
  bool require_expiry = true;  // a token without exp is refused
};

struct VerifiedJwt {
  std::string subject;
  std::string tenant;
  std::string kid;  // of the key that verified the token; empty for a key without kid
  std::vector<std::string> roles;
  int64_t expires_at = 0;  // exp in unix seconds, a fraction rounded up; 0 if none
};

// Ok and `out` filled when the token is valid at `now_unix_seconds`. Otherwise kUnauthenticated with
// a message naming the problem (never the token, its signature or a value from it), or kInternal
// when OpenSSL could not check a signature.
Status verify_jwt(std::string_view token, const JwtKeySet& keys, const JwtPolicy& policy, int64_t now_unix_seconds,
                  VerifiedJwt& out);

}  // namespace seraph
