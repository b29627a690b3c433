#pragma once
// One JWT verification key, pinned to the one algorithm it may verify (RFC 8725 section 3.1): an
// HMAC secret for HS256, an RSA (2048 bits or more) key for RS256, a P-256 key for ES256. Pinning
// is what defeats key confusion: an RS256 key is never used as an HMAC secret.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "core/status.h"

namespace seraph {

enum class JwtAlgorithm { kHs256, kRs256, kEs256 };

// "HS256", "RS256", "ES256" (case-sensitive, as JWS names are); nullopt for anything else.
std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view name);
std::string_view jwt_algorithm_name(JwtAlgorithm algorithm);

struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
struct EvpMacContextFree {
  void operator()(EVP_MAC_CTX* context) const;
};
using EvpMacContextPtr = std::unique_ptr<EVP_MAC_CTX, EvpMacContextFree>;

class JwtKey {
 public:
  // HS256. RFC 7518 section 3.2: the secret must be at least as long as the hash (32 bytes).
  static Status from_secret(std::string kid, std::string_view secret, std::optional<JwtKey>& out);
  // RS256 or ES256 from a PEM public key (SubjectPublicKeyInfo) or a PEM certificate.
  static Status from_pem(std::string kid, JwtAlgorithm algorithm, std::string_view pem, std::optional<JwtKey>& out);
  // RS256 or ES256 from a key built elsewhere (a JWK); checks its type and strength as from_pem does.
  static Status from_public_key(std::string kid, JwtAlgorithm algorithm, EvpPkeyPtr key, std::optional<JwtKey>& out);

  const std::string& kid() const { return kid_; }
  JwtAlgorithm algorithm() const { return algorithm_; }

  // Ok when `signature` (the decoded third part) signs `signing_input` (the first two parts and
  // their dot); kUnauthenticated when it does not; kInternal when OpenSSL could not check.
  Status verify(std::string_view signing_input, std::string_view signature) const;

 private:
  JwtKey(std::string kid, JwtAlgorithm algorithm, EvpMacContextPtr keyed_hmac, EvpPkeyPtr public_key)
      : kid_(std::move(kid)),
        algorithm_(algorithm),
        keyed_hmac_(std::move(keyed_hmac)),
        public_key_(std::move(public_key)) {}

  Status verify_hmac(std::string_view signing_input, std::string_view signature) const;
  Status verify_digest_signature(std::string_view signing_input, std::string_view der_signature) const;

  std::string kid_;
  JwtAlgorithm algorithm_;
  // HS256 only: HMAC-SHA256 with the secret already absorbed. Each check works on a copy
  // (EVP_MAC_CTX_dup reads a const source, so threads share this one), which halves the cost of
  // keying from scratch: OpenSSL 3 looks the algorithm up again on every one-shot HMAC.
  EvpMacContextPtr keyed_hmac_;
  EvpPkeyPtr public_key_;  // RS256 and ES256 only
};

}  // namespace seraph
