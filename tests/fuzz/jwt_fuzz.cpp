// Fuzz target for JWT verification and JWKS parsing, which read what any client or key file may
// hold. Each input is tried three ways: as a token verified against a fixed set of one key of each
// kind; as "header JSON\npayload JSON" turned into a token and HS256-signed here, so mutated JSON
// reaches the claim checks past the signature; and as a JWKS document. Any crash, sanitizer report
// or hang is a bug; a refusal is the expected answer to garbage.
//
// The corpus_jwt seed tokens were signed by the private halves of the keys below, which were not
// kept: to add signed seeds, generate a new pair, sign with tests/support/jwt_signer and replace
// the PEMs here.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/base64url.h"
#include "auth/jwt_verifier.h"
#include "jwt_signer.h"

namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr std::string_view kSecret = "seraph-fuzz-hs256-secret-0123456789abcdef";

constexpr std::string_view kRsaPublicKey = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApu0pUPf1DK0+0Uu2AuG5
f+rhZOWiOg0xAWR+jdl++2vpRgb0uwO2VidRvLqCCww+ehJ+tByHPNBKSpKyN3uL
2cyxJkOYHFZGC/Dj9Jt+Y3kDA6FEOcDsXOyyETmJ3hYohIAjLVOWoYdvTkzMILQM
7bqffbbkqq4iwUYaa7gJfrTR0Ib9EzXSttWov5yHIMcocteRMNWiAqoOfRoBidRR
j1QVMwTYi8pbM0hJMDx6y+XlF1q0zhL3vi8NkqvILpHjN4IvG2/4qY1+qIN59012
c7Zml9+ST+8mKtJk+1Ugo1Zun8MV9ocHaRU6tEaUxgZNwphDY8vo4rt71ti6jfk7
+wIDAQAB
-----END PUBLIC KEY-----
)";

constexpr std::string_view kP256PublicKey = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmOfJ2gylBivxb/g/MCy+Ki2BNKO/
Tq67P/9Bmm7V4o7d5F7/M5omDEoVj3i99dBQWLQYMDj9mekUi3RP/nja0w==
-----END PUBLIC KEY-----
)";

std::shared_ptr<const seraph::JwtKeySet> fixed_keys() {
  std::shared_ptr<const seraph::JwtKeySet> keys;
  const seraph::Status status = seraph::build_jwt_key_set(
      {{"hs", seraph::JwtAlgorithm::kHs256, std::string(kSecret), "", ""},
       {"rs", seraph::JwtAlgorithm::kRs256, "", std::string(kRsaPublicKey), ""},
       {"es", seraph::JwtAlgorithm::kEs256, "", std::string(kP256PublicKey), ""}},
      "", keys);
  if (!status.is_ok()) __builtin_trap();
  return keys;
}

seraph::JwtPolicy fixed_policy() {
  seraph::JwtPolicy policy;
  policy.issuer = "https://id.example.com";
  policy.audiences = {"seraph"};
  return policy;
}

// What a verified token promises whatever it held.
void verify(std::string_view token, const seraph::JwtKeySet& keys, const seraph::JwtPolicy& policy) {
  seraph::VerifiedJwt verified;
  const seraph::Status status = seraph::verify_jwt(token, keys, policy, kNow, verified);
  if (status.is_ok()) {
    if (verified.subject.empty() || verified.expires_at + policy.clock_skew.count() <= kNow) __builtin_trap();
  } else if (status.code() != seraph::StatusCode::kUnauthenticated) {
    __builtin_trap();  // garbage is a refusal, never an internal error
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const seraph::JwtKeySet> keys = fixed_keys();
  static const seraph::JwtPolicy policy = fixed_policy();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  verify(bytes, *keys, policy);

  if (const size_t newline = bytes.find('\n'); newline != std::string_view::npos) {
    const std::string signing_input =
        seraph::base64url_encode(bytes.substr(0, newline)) + "." + seraph::base64url_encode(bytes.substr(newline + 1));
    verify(signing_input + "." + seraph::testing::hs256_signature(signing_input, kSecret), *keys, policy);
  }

  std::shared_ptr<const seraph::JwtKeySet> jwks;
  const seraph::Status status = seraph::build_jwt_key_set({}, bytes, jwks);
  if (status.is_ok() ? jwks->size() == 0 : status.code() != seraph::StatusCode::kInvalidArgument) __builtin_trap();
  return 0;
}
