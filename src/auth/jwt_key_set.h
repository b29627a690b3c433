#pragma once
// The keys a JWT may be verified with, by kid: the configured keys plus those of a JWKS document.
// Immutable once built, so request threads share one set without locking; a change of keys builds
// a new set (JwtKeyStore).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt_key.h"
#include "core/status.h"

namespace seraph {

// One configured verification key, with the one algorithm it may be used with.
struct JwtKeyConfig {
  std::string kid;  // may be empty: then the key is tried for tokens without a kid
  JwtAlgorithm algorithm = JwtAlgorithm::kHs256;
  std::string secret;           // HS256: the shared secret (raw bytes, at least 32)
  std::string public_key_pem;   // RS256 / ES256: a PEM public key (SubjectPublicKeyInfo), or a certificate
  std::string public_key_file;  // RS256 / ES256: a file holding that PEM instead; JwtKeyStore reads it
};

class JwtKeySet {
 public:
  // The key whose kid is `kid`; nullptr when there is none.
  const JwtKey* find(std::string_view kid) const;
  // The keys a token without kid is tried with: those without kid, or the only key when there is one.
  const std::vector<const JwtKey*>& keys_for_tokens_without_kid() const { return without_kid_; }
  size_t size() const { return keys_.size(); }
  // JWKS keys skipped as not for us (encryption keys, other algorithms), each with the reason.
  const std::vector<std::string>& ignored_keys() const { return ignored_; }
  // Distinct for every set built in this process (never a reused address): caches of verified
  // tokens tell by it that the keys changed.
  uint64_t generation() const { return generation_; }

 private:
  friend Status build_jwt_key_set(const std::vector<JwtKeyConfig>& keys, std::string_view jwks_json,
                                  std::shared_ptr<const JwtKeySet>& out);

  std::vector<JwtKey> keys_;
  std::map<std::string, const JwtKey*, std::less<>> by_kid_;
  std::vector<const JwtKey*> without_kid_;
  std::vector<std::string> ignored_;
  uint64_t generation_ = 0;
};

// Builds a set from the configured keys (using secret or public_key_pem) and a JWKS document
// (empty: none). Any bad key, a kid used twice across both, or no key at all is an error naming the problem.
Status build_jwt_key_set(const std::vector<JwtKeyConfig>& keys, std::string_view jwks_json,
                         std::shared_ptr<const JwtKeySet>& out);

}  // namespace seraph
