#include "auth/cached_jwt_verifier.h"

#include <algorithm>

#include <openssl/err.h>
#include <openssl/evp.h>

namespace seraph {

namespace {

// OpenSSL 3 looks an algorithm up on every implicit use (EVP_sha256()); fetched once, a digest
// of a token costs about half.
const EVP_MD* sha256() {
  static EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return fetched;
}

}  // namespace

CachedJwtVerifier::CachedJwtVerifier(JwtPolicy policy, size_t capacity)
    : policy_(std::move(policy)),
      sets_per_shard_(std::max<size_t>(1, (capacity + kShards * kWays - 1) / (kShards * kWays))) {
  for (Shard& shard : shards_) shard.entries.resize(sets_per_shard_ * kWays);
}

Status CachedJwtVerifier::verify(std::string_view token, const JwtKeySet& keys, int64_t now_unix_seconds,
                                 VerifiedJwt& out) {
  if (token.size() > kMaxJwtBytes) return verify_jwt(token, keys, policy_, now_unix_seconds, out);  // no digest of junk
  Digest digest;
  unsigned int length = 0;
  if (!sha256() || EVP_Digest(token.data(), token.size(), digest.data(), &length, sha256(), nullptr) != 1) {
    ERR_clear_error();
    return verify_jwt(token, keys, policy_, now_unix_seconds, out);  // no cache is still a right answer
  }
  if (lookup(digest, keys, now_unix_seconds, out)) return {};
  Status status = verify_jwt(token, keys, policy_, now_unix_seconds, out);
  if (status.is_ok() && out.expires_at > 0) insert(digest, keys, now_unix_seconds, out);
  return status;
}

CachedJwtVerifier::Entry* CachedJwtVerifier::set_of(Shard& shard, const Digest& digest) {
  const size_t index =
      (static_cast<size_t>(digest[1]) << 16 | static_cast<size_t>(digest[2]) << 8 | digest[3]) % sets_per_shard_;
  return &shard.entries[index * kWays];
}

void CachedJwtVerifier::adopt_key_set(Shard& shard, const JwtKeySet& keys) {
  if (shard.key_set_generation == keys.generation()) return;
  for (Entry& entry : shard.entries) entry.used = false;
  shard.key_set_generation = keys.generation();
}

bool CachedJwtVerifier::lookup(const Digest& digest, const JwtKeySet& keys, int64_t now, VerifiedJwt& out) {
  Shard& shard = shard_of(digest);
  std::lock_guard lock(shard.mutex);
  adopt_key_set(shard, keys);
  Entry* set = set_of(shard, digest);
  for (size_t way = 0; way < kWays; ++way) {
    Entry& entry = set[way];
    if (!entry.used || entry.digest != digest) continue;
    if (now < entry.verified_at || now >= entry.verified.expires_at) return false;
    out = entry.verified;
    ++shard.hits;
    return true;
  }
  return false;
}

void CachedJwtVerifier::insert(const Digest& digest, const JwtKeySet& keys, int64_t now, const VerifiedJwt& verified) {
  Shard& shard = shard_of(digest);
  std::lock_guard lock(shard.mutex);
  adopt_key_set(shard, keys);
  Entry* set = set_of(shard, digest);
  Entry* slot = set;
  for (size_t way = 0; way < kWays; ++way) {
    Entry& entry = set[way];
    if (!entry.used || entry.digest == digest) {
      slot = &entry;
      break;
    }
    if (entry.verified.expires_at < slot->verified.expires_at) slot = &entry;
  }
  slot->used = true;
  slot->digest = digest;
  slot->verified_at = now;
  slot->verified = verified;
}

uint64_t CachedJwtVerifier::hits() const {
  uint64_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.hits;
  }
  return total;
}

size_t CachedJwtVerifier::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += static_cast<size_t>(
        std::count_if(shard.entries.begin(), shard.entries.end(), [](const Entry& entry) { return entry.used; }));
  }
  return total;
}

}  // namespace seraph
