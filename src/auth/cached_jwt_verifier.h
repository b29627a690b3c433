#pragma once
// verify_jwt under one policy, remembering the tokens it verified so a client that sends the same
// token again skips the signature check (an RS256 verify is tens of microseconds, ES256 near a
// hundred). Entries are keyed by the token's SHA-256, bounded in number, never served at or past
// the token's exp, and dropped when the key set changes. Shards, each with its own mutex, keep
// I/O threads from contending on one lock.
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "auth/jwt_key_set.h"
#include "auth/jwt_verifier.h"
#include "core/status.h"

namespace seraph {

class CachedJwtVerifier {
 public:
  // `capacity` is rounded up to a whole number of cache sets.
  explicit CachedJwtVerifier(JwtPolicy policy, size_t capacity = 4096);

  // The same answer as verify_jwt(token, keys, policy(), now, out).
  Status verify(std::string_view token, const JwtKeySet& keys, int64_t now_unix_seconds, VerifiedJwt& out);

  const JwtPolicy& policy() const { return policy_; }
  size_t capacity() const { return shards_.size() * sets_per_shard_ * kWays; }
  // Verifications answered from the cache, and tokens held now: for metrics and tests.
  uint64_t hits() const;
  size_t size() const;

 private:
  static constexpr size_t kWays = 4;  // entries per set: a new token evicts the one of them expiring first
  static constexpr size_t kShards = 16;
  using Digest = std::array<unsigned char, 32>;

  struct Entry {
    bool used = false;
    Digest digest{};
    int64_t verified_at = 0;  // served from then (a clock stepped back may be before nbf) ...
    VerifiedJwt verified;     // ... until verified.expires_at
  };
  struct alignas(64) Shard {  // a cache line of its own: threads on different shards do not contend
    mutable std::mutex mutex;
    uint64_t key_set_generation = 0;  // of the entries held; another set's lookups clear them
    std::vector<Entry> entries;       // sets_per_shard_ * kWays, set by set
    uint64_t hits = 0;
  };

  Shard& shard_of(const Digest& digest) { return shards_[digest[0] % kShards]; }
  Entry* set_of(Shard& shard, const Digest& digest);
  static void adopt_key_set(Shard& shard, const JwtKeySet& keys);
  bool lookup(const Digest& digest, const JwtKeySet& keys, int64_t now, VerifiedJwt& out);
  void insert(const Digest& digest, const JwtKeySet& keys, int64_t now, const VerifiedJwt& verified);

  const JwtPolicy policy_;
  const size_t sets_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace seraph
