#include "control/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

#include <fmt/format.h>

#include "control/records_json.h"
#include "core/hex.h"
#include "core/model_name.h"
#include "models/artifact_digest.h"

namespace seraph {
namespace {

constexpr size_t kIdBytes = 8;
constexpr size_t kSecretBytes = 32;  // 256 bits: a plain hash is enough, there is nothing to guess
Status random_hex(size_t bytes, std::string& out) {
  std::array<unsigned char, kSecretBytes> buffer{};
  if (RAND_bytes(buffer.data(), static_cast<int>(bytes)) != 1) return internal_error("the random generator failed");
  out = to_hex({buffer.data(), bytes});
  return {};
}

using Digest = std::array<unsigned char, 32>;

Status sha256(std::string_view text, Digest& digest) {
  unsigned size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    return internal_error("SHA-256 is unavailable");
  }
  return {};
}

// 64 hex digits back to 32 bytes (the registry checked the form).
std::string unhex(std::string_view digits) {
  std::string bytes(digits.size() / 2, '\0');
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(nibble(digits[2 * i]) << 4 | nibble(digits[2 * i + 1]));
  return bytes;
}

RoleSet roles_of(const std::vector<std::string>& names) {
  RoleSet roles = 0;
  for (const std::string& name : names) {
    if (auto role = parse_role(name)) roles |= static_cast<RoleSet>(*role);
  }
  return roles;
}

Status check_request(const ApiKeyRequest& request) {
  if (request.name.empty() || request.name.size() > 128) return invalid_argument("name must be 1 to 128 characters");
  if (request.roles.empty()) return invalid_argument("roles must name at least one of reader, predictor, admin");
  for (const std::string& role : request.roles) {
    if (!parse_role(role)) return invalid_argument(fmt::format("unknown role '{}': use reader, predictor or admin", role));
  }
  for (const std::string& name : request.deployments) {
    if (!is_valid_model_name(name)) return invalid_argument(fmt::format("'{}' is not a valid deployment name", name));
  }
  if (request.expires_ms < 0) return invalid_argument("expires_ms must be a Unix time in milliseconds");
  return validate_priority_setting(request.priority);
}

}  // namespace

ApiKeys::ApiKeys(Registry& registry) : registry_(registry), table_(std::make_shared<const Table>()) {}

void ApiKeys::publish(const std::vector<ApiKeyRecord>& records) {
  auto table = std::make_shared<Table>();
  for (const std::vector<ApiKeyRecord>* list : {&records, static_cast<const std::vector<ApiKeyRecord>*>(&configured_)}) {
    for (const ApiKeyRecord& r : *list) {
    Entry& e = (*table)[r.id];
    e.secret_sha256 = unhex(r.secret_sha256);
    e.principal = {Principal::Method::kApiKey, r.name, r.tenant, roles_of(r.roles), r.deployments,
                   parse_priority(r.priority)};
    e.expires_ms = r.expires_ms;
    e.revoked = r.revoked_ms != 0;
    }
  }
  table_.publish(std::move(table));
}

Status check_configured_api_key(const ApiKeyRecord& k) {
  if (k.id.size() != 2 * kIdBytes || k.id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return invalid_argument(fmt::format("id must be {} lowercase hex digits (the part after sk_)", 2 * kIdBytes));
  }
  if (!is_sha256_hex(k.secret_sha256)) return invalid_argument("sha256 must be 64 lowercase hex digits: the whole key's SHA-256");
  return check_request({k.name, k.roles, k.deployments, k.tenant, k.expires_ms, k.priority});
}

Status ApiKeys::set_configured(std::vector<ApiKeyRecord> keys) {
  for (const ApiKeyRecord& k : keys) {
    if (Status s = check_configured_api_key(k); !s.is_ok()) {
      return invalid_argument(fmt::format("key '{}': {}", k.name, s.message()));
    }
  }
  configured_ = std::move(keys);
  return {};
}

Status ApiKeys::refresh() {
  std::vector<ApiKeyRecord> records;
  if (Status s = registry_.list_api_keys(records); !s.is_ok()) return s;
  std::lock_guard lock(refresh_mutex_);
  if (published_ && records == last_records_) return {};  // most ticks: nothing changed, nothing to rebuild
  publish(records);
  last_records_ = std::move(records);
  published_ = true;
  return {};
}

Status ApiKeys::create(const ApiKeyRequest& request, std::string_view actor, std::string& key, ApiKeyRecord& record) {
  if (Status s = check_request(request); !s.is_ok()) return s;
  std::string id, secret;
  if (Status s = random_hex(kIdBytes, id); !s.is_ok()) return s;
  if (Status s = random_hex(kSecretBytes, secret); !s.is_ok()) return s;
  const std::string full = fmt::format("sk_{}_{}", id, secret);
  Digest digest;
  if (Status s = sha256(full, digest); !s.is_ok()) return s;
  ApiKeyRecord r{id, request.name, to_hex(digest), request.roles, request.deployments,
                 request.tenant, 0, request.expires_ms, 0, request.priority};
  const EventRecord event{0, 0, std::string(actor), "api_key.created", "api_key/" + id,
                          json_object({{"name", r.name}, {"roles", fmt::format("{}", fmt::join(r.roles, ","))}})};
  if (Status s = registry_.create_api_key(r, {event}); !s.is_ok()) return s;
  if (Status s = refresh(); !s.is_ok()) return s;
  key = full;
  record = std::move(r);
  return {};
}

Status ApiKeys::revoke(const std::string& id, std::string_view actor) {
  const EventRecord event{0, 0, std::string(actor), "api_key.revoked", "api_key/" + id, "{}"};
  if (Status s = registry_.revoke_api_key(id, {event}); !s.is_ok()) return s;
  return refresh();
}

Status ApiKeys::authenticate(std::string_view presented, int64_t now_ms, Principal& out) const {
  // sk_ + id + _ + secret, each of a fixed length.
  constexpr size_t kLength = 3 + 2 * kIdBytes + 1 + 2 * kSecretBytes;
  if (!is_api_key(presented) || presented.size() != kLength || presented[3 + 2 * kIdBytes] != '_') {
    return {StatusCode::kUnauthenticated, "malformed API key"};
  }
  const Table& table = table_.read();
  const auto it = table.find(presented.substr(3, 2 * kIdBytes));
  // Unknown ids still pay for the hash, so timing tells nothing about which ids exist.
  Digest digest;
  if (Status s = sha256(presented, digest); !s.is_ok()) return s;
  const bool matches = it != table.end() && CRYPTO_memcmp(digest.data(), it->second.secret_sha256.data(), 32) == 0;
  if (!matches) return {StatusCode::kUnauthenticated, "unknown API key"};
  const Entry& entry = it->second;
  if (entry.revoked) return {StatusCode::kUnauthenticated, "the API key was revoked"};
  if (entry.expires_ms != 0 && now_ms >= entry.expires_ms) return {StatusCode::kUnauthenticated, "the API key has expired"};
  out = entry.principal;
  return {};
}

}  // namespace seraph
