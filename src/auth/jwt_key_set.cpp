#include "auth/jwt_key_set.h"

#include <atomic>

#include <fmt/format.h>

#include "auth/jwks.h"

namespace seraph {

namespace {

Status configured_key(const JwtKeyConfig& config, std::optional<JwtKey>& out) {
  if (config.algorithm == JwtAlgorithm::kHs256) {
    if (!config.public_key_pem.empty() || !config.public_key_file.empty()) {
      return invalid_argument(fmt::format("JWT key '{}': HS256 takes a secret, not a public key", config.kid));
    }
    return JwtKey::from_secret(config.kid, config.secret, out);
  }
  if (!config.secret.empty()) {
    return invalid_argument(fmt::format("JWT key '{}': {} takes a public key, not a secret", config.kid,
                                        jwt_algorithm_name(config.algorithm)));
  }
  if (config.public_key_pem.empty()) {
    return invalid_argument(
        fmt::format("JWT key '{}': {} needs a PEM public key", config.kid, jwt_algorithm_name(config.algorithm)));
  }
  return JwtKey::from_pem(config.kid, config.algorithm, config.public_key_pem, out);
}

}  // namespace

const JwtKey* JwtKeySet::find(std::string_view kid) const {
  const auto found = by_kid_.find(kid);
  return found == by_kid_.end() ? nullptr : found->second;
}

Status build_jwt_key_set(const std::vector<JwtKeyConfig>& keys, std::string_view jwks_json,
                         std::shared_ptr<const JwtKeySet>& out) {
  static std::atomic<uint64_t> last_generation{0};
  auto set = std::make_shared<JwtKeySet>();
  set->generation_ = last_generation.fetch_add(1, std::memory_order_relaxed) + 1;
  for (const JwtKeyConfig& config : keys) {
    std::optional<JwtKey> key;
    if (Status status = configured_key(config, key); !status.is_ok()) return status;
    set->keys_.push_back(std::move(*key));
  }
  if (!jwks_json.empty()) {
    if (Status status = parse_jwks(jwks_json, set->keys_, set->ignored_); !status.is_ok()) return status;
  }
  if (set->keys_.empty()) return invalid_argument("JWT keys: none configured, and the JWKS holds no usable key");
  // The vector no longer grows: pointers into it stay valid for the set's life.
  for (const JwtKey& key : set->keys_) {
    if (key.kid().empty()) {
      set->without_kid_.push_back(&key);
    } else if (!set->by_kid_.emplace(key.kid(), &key).second) {
      return invalid_argument(fmt::format("JWT keys: kid '{}' is used twice", key.kid()));
    }
  }
  if (set->keys_.size() == 1 && set->without_kid_.empty()) set->without_kid_.push_back(&set->keys_.front());
  out = std::move(set);
  return {};
}

}  // namespace seraph
