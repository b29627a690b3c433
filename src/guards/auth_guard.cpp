#include "guards/auth_guard.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "auth/jwt_key_store.h"
#include "control/api_keys.h"

namespace seraph {
namespace {

constexpr std::string_view kChallenge = R"(Bearer realm="seraph")";

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The credential a request carries: X-API-Key, else the token of `Authorization: Bearer <token>`
// (the scheme in any case, as RFC 7235 has it). Empty: none.
std::string_view credential_of(const HeaderMap& headers, bool& malformed) {
  malformed = false;
  if (std::string_view key = headers.header("x-api-key"); !key.empty()) return key;
  std::string_view authorization = headers.header("authorization");
  if (authorization.empty()) return {};
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() <= kBearer.size() || !equals_ignoring_case(authorization.substr(0, kBearer.size()), kBearer)) {
    malformed = true;
    return {};
  }
  std::string_view token = authorization.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

uint64_t next_guard_id() {
  static std::atomic<uint64_t> ids{0};
  return ids.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace

bool is_probe_path(std::string_view path) {
  return path == "/healthz" || path == "/readyz" || path == "/v2/health/live" || path == "/v2/health/ready";
}

AuthGuard::AuthGuard(AuthSettings settings, const ApiKeys& keys, const JwtKeyStore* jwt_keys, Family<Counter>& outcomes)
    : settings_(std::move(settings)),
      keys_(keys),
      jwt_keys_(jwt_keys),
      jwt_verifier_(jwt_keys ? std::make_unique<CachedJwtVerifier>(settings_.jwt.policy) : nullptr),
      id_(next_guard_id()),
      open_(outcomes.get({{"outcome", "open"}})),
      allowed_(outcomes.get({{"outcome", "allowed"}})),
      missing_(outcomes.get({{"outcome", "missing_credential"}})),
      invalid_(outcomes.get({{"outcome", "invalid_credential"}})),
      forbidden_(outcomes.get({{"outcome", "forbidden"}})) {}

bool AuthGuard::is_open(std::string_view path) const {
  return is_probe_path(path) ||
         std::find(settings_.open_paths.begin(), settings_.open_paths.end(), path) != settings_.open_paths.end();
}

const JwtKeySet* AuthGuard::jwt_key_set() const {
  struct Copy {
    uint64_t guard = 0;
    uint64_t version = 0;
    std::shared_ptr<const JwtKeySet> keys;
  };
  thread_local Copy copy;
  const uint64_t version = jwt_keys_->version();
  if (copy.guard != id_ || copy.version != version) copy = {id_, version, jwt_keys_->current()};
  return copy.keys.get();
}

Status AuthGuard::authenticate_jwt(std::string_view token, Principal& out) {
  const JwtKeySet* keys = jwt_key_set();
  if (!keys) return {StatusCode::kUnavailable, "no JWT keys are loaded"};
  VerifiedJwt jwt;
  const int64_t now_s = unix_now_ms() / 1000;
  if (Status s = jwt_verifier_->verify(token, *keys, now_s, jwt); !s.is_ok()) return s;
  RoleSet roles = 0;
  for (const std::string& name : jwt.roles) {
    if (auto role = parse_role(name)) roles |= static_cast<RoleSet>(*role);
  }
  out = {Principal::Method::kJwt, std::move(jwt.subject), std::move(jwt.tenant), roles, {}, std::nullopt};
  return {};
}

RequestVerdict AuthGuard::refuse(Exchange& exchange, Status status, Counter& counter) {
  counter.add();
  if (status.code() == StatusCode::kUnauthenticated) {
    // RFC 6750: a bad token says so; a missing one gets the bare challenge.
    exchange.response_headers.emplace_back(
        "WWW-Authenticate", &counter == &missing_ ? std::string(kChallenge)
                                                  : fmt::format(R"({}, error="invalid_token")", kChallenge));
  }
  exchange.status = std::move(status);
  return RequestVerdict::kRespond;
}

RequestVerdict AuthGuard::on_request(Exchange& exchange) {
  if (is_open(exchange.path)) {
    open_.add();
    return RequestVerdict::kContinue;
  }
  bool malformed = false;
  const std::string_view credential = credential_of(exchange.headers, malformed);
  if (malformed) {
    return refuse(exchange, {StatusCode::kUnauthenticated, "the Authorization header must be 'Bearer <API key or JWT>'"},
                  invalid_);
  }
  Principal principal;
  Status status;
  if (!credential.empty()) {
    status = ApiKeys::is_api_key(credential) ? keys_.authenticate(credential, unix_now_ms(), principal)
             : jwt_keys_                     ? authenticate_jwt(credential, principal)
                                             : Status{StatusCode::kUnauthenticated, "unknown kind of credential"};
  } else if (!exchange.client_certificate_subject.empty()) {
    status = certificate_principal(exchange.client_certificate_subject, principal);
  } else {
    return refuse(exchange,
                  {StatusCode::kUnauthenticated,
                   "a credential is required: send an API key in X-API-Key or Authorization: Bearer, or a JWT"},
                  missing_);
  }
  if (!status.is_ok()) {
    Counter& outcome = status.code() == StatusCode::kPermissionDenied ? forbidden_ : invalid_;
    return refuse(exchange, std::move(status), outcome);
  }
  if (!grants(principal.roles, exchange.required_role)) {
    const std::string held = role_list(principal.roles);
    const bool certificate = principal.method == Principal::Method::kClientCertificate;
    return refuse(exchange,
                  {StatusCode::kPermissionDenied,
                   fmt::format("{} {} needs the {} role; this {} has {}", exchange.method, exchange.path,
                               role_name(exchange.required_role), certificate ? "client certificate" : "credential",
                               held.empty() ? "none" : held)},
                  forbidden_);
  }
  allowed_.add();
  exchange.principal = std::move(principal);
  return RequestVerdict::kContinue;
}

// A verified client certificate (mutual TLS) is whoever the config grants its subject to be; a
// verified but unlisted one is known and refused (403), not unknown (401).
Status AuthGuard::certificate_principal(const std::string& subject, Principal& out) const {
  const auto& listed = settings_.client_certificates;
  const auto grant =
      std::find_if(listed.begin(), listed.end(), [&](const ClientCertificateGrant& g) { return g.subject == subject; });
  if (grant == listed.end()) return {StatusCode::kPermissionDenied, "this client certificate is not granted any role"};
  out = {Principal::Method::kClientCertificate, grant->subject, grant->tenant, grant->roles, grant->deployments,
         std::nullopt};
  return {};
}

}  // namespace seraph
