#pragma once
// The API keys the server accepts. The registry holds them (hashed); this keeps an immutable table
// of them in memory for the auth guard, refreshed from the registry on the control plane's timer,
// so a key revoked on one replica stops working on every replica sharing the registry within one
// tick (a second by default).
//
// A key reads "sk_<id>_<secret>": the id finds the record, and the SHA-256 of the whole key is
// compared in constant time with the stored one.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "control/registry.h"
#include "core/principal.h"
#include "core/snapshot.h"
#include "core/status.h"

namespace seraph {

// What an admin asks for when creating a key.
struct ApiKeyRequest {
  std::string name;
  std::vector<std::string> roles;
  std::vector<std::string> deployments;
  std::string tenant;
  int64_t expires_ms = 0;  // Unix time; 0: never
  std::string priority;    // critical, normal or low; empty: none
};

// The rules a key from the config file must meet (its id and hash well formed, its roles and
// priority known).
Status check_configured_api_key(const ApiKeyRecord& key);

class ApiKeys {
 public:
  explicit ApiKeys(Registry& registry);

  // Keys from the config file (by id and hash, so the file holds no secret), accepted beside the
  // registry's; they cannot be revoked through the admin API, only by removing them from the file.
  // Checks each record; call before the first refresh.
  Status set_configured(std::vector<ApiKeyRecord> keys);

  // Re-reads the registry's keys. When it cannot, the table in use stays and the error returns.
  Status refresh();

  // Stores a new key and answers the key itself, which is shown this once and never again.
  Status create(const ApiKeyRequest& request, std::string_view actor, std::string& key, ApiKeyRecord& record);
  // Revokes at once on this replica; the others see it on their next refresh.
  Status revoke(const std::string& id, std::string_view actor);

  // Per request, on an I/O thread: kUnauthenticated when the key is malformed, unknown, revoked or
  // expired (the message says which, never the key).
  Status authenticate(std::string_view presented, int64_t now_ms, Principal& out) const;

  // Whether a bearer credential is one of ours rather than a JWT.
  static bool is_api_key(std::string_view credential) { return credential.starts_with("sk_"); }

 private:
  struct Entry {
    std::string secret_sha256;  // 32 raw bytes
    Principal principal;
    int64_t expires_ms = 0;
    bool revoked = false;
  };
  // By id; looked up by a view of the presented key, without a copy.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  using Table = std::unordered_map<std::string, Entry, IdHash, std::equal_to<>>;

  void publish(const std::vector<ApiKeyRecord>& records);

  Registry& registry_;
  std::vector<ApiKeyRecord> configured_;
  std::mutex refresh_mutex_;                // the control plane's tick and admin requests both refresh
  std::vector<ApiKeyRecord> last_records_;  // what the table was built from; guarded by refresh_mutex_
  bool published_ = false;
  Snapshot<Table> table_;
};

}  // namespace seraph
