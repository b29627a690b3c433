#pragma once
// Test-only JWT signing with OpenSSL: keys generated on the spot, tokens signed with HS256, RS256
// or ES256, and the public halves exported as PEM or JWK. The verifier's tests, fuzz target and
// benchmark use it to make tokens the way an identity provider would.
#include <string>
#include <string_view>

#include "auth/jwt_key.h"

namespace seraph::testing {

EvpPkeyPtr generate_rsa_key(unsigned bits = 2048);
EvpPkeyPtr generate_p256_key();

std::string public_key_pem(EVP_PKEY* key);
// A self-signed PEM certificate holding the public half of `key`, as some providers publish keys.
std::string self_signed_certificate_pem(EVP_PKEY* key);
// The public key as a JWK object: kty RSA (n, e) or EC (crv P-256, x, y), with `extra_members`
// (e.g. R"("kid":"a","alg":"RS256")") spliced in.
std::string public_key_jwk(EVP_PKEY* key, std::string_view extra_members);

// header.payload.signature, the JSON texts taken as they are (so tests can write odd headers).
std::string hs256_token(std::string_view header_json, std::string_view payload_json, std::string_view secret);
// RS256 for an RSA private key, ES256 (R || S) for a P-256 private key.
std::string signed_token(std::string_view header_json, std::string_view payload_json, EVP_PKEY* private_key);

// The base64url HMAC-SHA256 of `signing_input`: for re-signing an edited token.
std::string hs256_signature(std::string_view signing_input, std::string_view secret);

}  // namespace seraph::testing
