#include "auth/jwt_verifier.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include <simdjson.h>

#include "auth/base64url.h"

namespace seraph {

namespace dom = simdjson::dom;

namespace {

// Real claims nest a few levels (Keycloak's realm_access.roles is two); deeper is an attack.
constexpr size_t kMaxJsonDepth = 16;

Status refused(std::string_view reason) {
  return {StatusCode::kUnauthenticated, "invalid token: " + std::string(reason)};
}

// Decodes one base64url part of the token and parses it as a JSON object with this thread's
// parser; `object` stays valid until the thread parses again.
Status parse_part(std::string_view encoded, std::string_view part_name, dom::object& object) {
  thread_local dom::parser parser;
  thread_local std::string decoded;
  static thread_local bool allocated = parser.allocate(kMaxJwtBytes, kMaxJsonDepth) == simdjson::SUCCESS;
  if (!allocated) return internal_error("JWT: JSON parser could not allocate");
  decoded.clear();
  if (!base64url_decode(encoded, decoded)) return refused(std::string(part_name) + " is not base64url");
  const size_t length = decoded.size();
  decoded.append(simdjson::SIMDJSON_PADDING, '\0');
  dom::element root;
  if (parser.parse(decoded.data(), length, false).get(root) != simdjson::SUCCESS) {
    return refused(std::string(part_name) + " is not valid JSON");
  }
  if (root.get(object) != simdjson::SUCCESS) return refused(std::string(part_name) + " is not a JSON object");
  // RFC 7515 section 5.2 and RFC 7519 section 4: a name given twice must be refused (or the last
  // one used); simdjson would find the first, so refuse rather than read what others would not.
  thread_local std::vector<std::string_view> names;
  names.clear();
  for (dom::key_value_pair field : object) names.push_back(field.key);
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
    return refused(std::string(part_name) + " has a member name twice");
  }
  return {};
}

// The member `name` when present.
std::optional<dom::element> member(dom::object object, std::string_view name) {
  dom::element value;
  if (object.at_key(name).get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

// The member `name` when it is a string.
bool read_string(dom::object object, std::string_view name, std::string_view& out) {
  return object.at_key(name).get(out) == simdjson::SUCCESS;
}

bool read_number(dom::element value, double& out) {
  switch (value.type()) {
    case dom::element_type::INT64: out = static_cast<double>(int64_t(value)); return true;
    case dom::element_type::UINT64: out = static_cast<double>(uint64_t(value)); return true;
    case dom::element_type::DOUBLE: out = double(value); return true;
    default: return false;
  }
}

// A NumericDate claim (RFC 7519 section 2: seconds, possibly fractional); nullopt when absent.
Status read_date(dom::object claims, std::string_view name, std::optional<double>& out) {
  out.reset();
  const auto value = member(claims, name);
  if (!value) return {};
  double seconds = 0;
  if (!read_number(*value, seconds)) return refused(std::string(name) + " is not a number");
  out = seconds;
  return {};
}

// The keys this token may be verified with: the one its kid names, or those for tokens without kid;
// each must be pinned to the token's algorithm.
Status candidate_keys(dom::object header, JwtAlgorithm algorithm, const JwtKeySet& keys,
                      std::vector<const JwtKey*>& candidates) {
  candidates.clear();
  if (const auto kid_value = member(header, "kid")) {
    std::string_view kid;
    if (kid_value->get(kid) != simdjson::SUCCESS) return refused("kid is not a string");
    const JwtKey* key = keys.find(kid);
    if (!key) return refused("unknown kid");
    candidates.push_back(key);
  } else {
    if (keys.keys_for_tokens_without_kid().empty()) return refused("no kid, and every key has one");
    candidates = keys.keys_for_tokens_without_kid();
  }
  std::erase_if(candidates, [algorithm](const JwtKey* key) { return key->algorithm() != algorithm; });
  if (candidates.empty()) return refused("alg is not the algorithm of the key");
  return {};
}

Status check_header(dom::object header, std::optional<JwtAlgorithm>& algorithm) {
  std::string_view alg;
  if (!read_string(header, "alg", alg)) return refused("the header has no alg string");
  const bool none = alg.size() == 4 && std::equal(alg.begin(), alg.end(), "none", [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) == b;
                    });
  if (none) return refused("unsigned tokens (alg none) are not accepted");
  algorithm = parse_jwt_algorithm(alg);
  if (!algorithm) return refused("alg is not HS256, RS256 or ES256");
  // RFC 7515 section 4.1.11: extensions named in crit must be understood; we understand none.
  if (member(header, "crit")) return refused("the header has crit extensions");
  return {};
}

Status check_audience(dom::object claims, const std::vector<std::string>& audiences) {
  if (audiences.empty()) return {};
  const auto aud = member(claims, "aud");
  if (!aud) return refused("no aud");
  auto accepted = [&audiences](std::string_view audience) {
    return std::find(audiences.begin(), audiences.end(), audience) != audiences.end();
  };
  std::string_view single;
  if (aud->get(single) == simdjson::SUCCESS) return accepted(single) ? Status{} : refused("aud is not accepted");
  dom::array list;
  if (aud->get(list) != simdjson::SUCCESS) return refused("aud is neither a string nor an array");
  bool found = false;
  for (dom::element entry : list) {
    std::string_view audience;
    if (entry.get(audience) != simdjson::SUCCESS) return refused("aud holds a non-string");
    found = found || accepted(audience);
  }
  return found ? Status{} : refused("aud is not accepted");
}

Status check_time(dom::object claims, const JwtPolicy& policy, int64_t now, int64_t& expires_at) {
  std::optional<double> exp, nbf, iat;
  if (Status status = read_date(claims, "exp", exp); !status.is_ok()) return status;
  if (Status status = read_date(claims, "nbf", nbf); !status.is_ok()) return status;
  if (Status status = read_date(claims, "iat", iat); !status.is_ok()) return status;
  const double skew = static_cast<double>(policy.clock_skew.count());
  const double at = static_cast<double>(now);
  if (!exp && policy.require_expiry) return refused("no exp");
  if (exp && at >= *exp + skew) return refused("expired");
  if (nbf && at + skew < *nbf) return refused("not yet valid (nbf)");
  constexpr double kLatest = 4e18;  // past any real date, with room left in int64 to add a skew
  expires_at = exp ? static_cast<int64_t>(std::clamp(std::ceil(*exp), 1.0, kLatest)) : 0;
  return {};
}

Status read_roles(dom::object claims, std::string_view claim, std::vector<std::string>& roles) {
  const auto value = member(claims, claim);
  if (!value) return {};
  std::string_view spaced;
  if (value->get(spaced) == simdjson::SUCCESS) {  // OAuth 2.0 `scope` style: "read write"
    size_t start = 0;
    while (start < spaced.size()) {
      const size_t end = std::min(spaced.find(' ', start), spaced.size());
      if (end > start) roles.emplace_back(spaced.substr(start, end - start));
      start = end + 1;
    }
    return {};
  }
  dom::array list;
  if (value->get(list) != simdjson::SUCCESS) return refused("the roles claim is neither an array nor a string");
  for (dom::element entry : list) {
    std::string_view role;
    if (entry.get(role) != simdjson::SUCCESS) return refused("the roles claim holds a non-string");
    roles.emplace_back(role);
  }
  return {};
}

Status check_claims(dom::object claims, const JwtPolicy& policy, int64_t now, VerifiedJwt& verified) {
  if (Status status = check_time(claims, policy, now, verified.expires_at); !status.is_ok()) return status;
  if (!policy.issuer.empty()) {
    std::string_view issuer;
    if (!read_string(claims, "iss", issuer)) return refused("no iss");
    if (issuer != policy.issuer) return refused("iss is not accepted");
  }
  if (Status status = check_audience(claims, policy.audiences); !status.is_ok()) return status;
  std::string_view subject;
  if (!read_string(claims, policy.subject_claim, subject) || subject.empty()) {
    return refused("the subject claim is missing or not a non-empty string");
  }
  verified.subject = subject;
  if (const auto tenant = member(claims, policy.tenant_claim)) {
    std::string_view text;
    if (tenant->get(text) != simdjson::SUCCESS) return refused("the tenant claim is not a string");
    verified.tenant = text;
  }
  return read_roles(claims, policy.roles_claim, verified.roles);
}

}  // namespace

Status verify_jwt(std::string_view token, const JwtKeySet& keys, const JwtPolicy& policy, int64_t now_unix_seconds,
                  VerifiedJwt& out) {
  if (token.size() > kMaxJwtBytes) return refused("longer than 8 KiB");
  const size_t first_dot = token.find('.');
  const size_t second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
    return refused("not three dot-separated parts (JWS compact form)");
  }
  const std::string_view signing_input = token.substr(0, second_dot);
  const std::string_view encoded_signature = token.substr(second_dot + 1);

  dom::object header;
  if (Status status = parse_part(token.substr(0, first_dot), "the header", header); !status.is_ok()) return status;
  std::optional<JwtAlgorithm> algorithm;
  if (Status status = check_header(header, algorithm); !status.is_ok()) return status;
  thread_local std::vector<const JwtKey*> candidates;
  if (Status status = candidate_keys(header, *algorithm, keys, candidates); !status.is_ok()) return status;

  if (encoded_signature.empty()) return refused("no signature");
  thread_local std::string signature;
  signature.clear();
  if (!base64url_decode(encoded_signature, signature)) return refused("the signature is not base64url");
  const JwtKey* verified_by = nullptr;
  Status mismatch;
  for (const JwtKey* key : candidates) {
    Status status = key->verify(signing_input, signature);
    if (status.is_ok()) {
      verified_by = key;
      break;
    }
    if (status.code() != StatusCode::kUnauthenticated) return status;  // OpenSSL could not check: not a "no"
    mismatch = std::move(status);
  }
  if (!verified_by) return refused(mismatch.message());

  // Only now is the payload trusted enough to read.
  dom::object claims;
  if (Status status = parse_part(signing_input.substr(first_dot + 1), "the payload", claims); !status.is_ok()) {
    return status;
  }
  VerifiedJwt verified;
  verified.kid = verified_by->kid();
  if (Status status = check_claims(claims, policy, now_unix_seconds, verified); !status.is_ok()) return status;
  out = std::move(verified);
  return {};
}

}  // namespace seraph
