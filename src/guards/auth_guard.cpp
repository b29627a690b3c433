#include "guards/auth_guard.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

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

}  // namespace

bool is_probe_path(std::string_view path) {
  return path == "/healthz" || path == "/readyz" || path == "/v2/health/live" || path == "/v2/health/ready";
}

AuthGuard::AuthGuard(AuthSettings settings, const ApiKeys& keys, Family<Counter>& outcomes)
    : settings_(std::move(settings)),
      keys_(keys),
      open_(outcomes.get({{"outcome", "open"}})),
      allowed_(outcomes.get({{"outcome", "allowed"}})),
      missing_(outcomes.get({{"outcome", "missing_credential"}})),
      invalid_(outcomes.get({{"outcome", "invalid_credential"}})),
      forbidden_(outcomes.get({{"outcome", "forbidden"}})) {}

bool AuthGuard::is_open(std::string_view path) const {
  return is_probe_path(path) ||
         std::find(settings_.open_paths.begin(), settings_.open_paths.end(), path) != settings_.open_paths.end();
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
  if (credential.empty() && !exchange.client_certificate_subject.empty()) return admit_client_certificate(exchange);
  if (credential.empty()) {
    return refuse(exchange,
                  {StatusCode::kUnauthenticated,
                   "a credential is required: send an API key in X-API-Key or Authorization: Bearer, or a JWT"},
                  missing_);
  }
  Principal principal;
  Status status = ApiKeys::is_api_key(credential) ? keys_.authenticate(credential, unix_now_ms(), principal)
                                                   : Status{StatusCode::kUnauthenticated, "unknown kind of credential"};
  if (!status.is_ok()) return refuse(exchange, std::move(status), invalid_);
  if (!grants(principal.roles, exchange.required_role)) {
    const std::string held = role_list(principal.roles);
    return refuse(exchange,
                  {StatusCode::kPermissionDenied,
                   fmt::format("{} {} needs the {} role; this credential has {}", exchange.method, exchange.path,
                               role_name(exchange.required_role), held.empty() ? "none" : held)},
                  forbidden_);
  }
  allowed_.add();
  exchange.principal = std::move(principal);
  return RequestVerdict::kContinue;
}

RequestVerdict AuthGuard::admit_client_certificate(Exchange& exchange) {
  const auto& grants_listed = settings_.client_certificates;
  const auto grant = std::find_if(grants_listed.begin(), grants_listed.end(), [&](const ClientCertificateGrant& g) {
    return g.subject == exchange.client_certificate_subject;
  });
  if (grant == grants_listed.end()) {
    return refuse(exchange, {StatusCode::kPermissionDenied, "this client certificate is not granted any role"},
                  forbidden_);
  }
  if (!grants(grant->roles, exchange.required_role)) {
    const std::string held = role_list(grant->roles);
    return refuse(exchange,
                  {StatusCode::kPermissionDenied,
                   fmt::format("{} {} needs the {} role; this client certificate has {}", exchange.method,
                               exchange.path, role_name(exchange.required_role), held.empty() ? "none" : held)},
                  forbidden_);
  }
  allowed_.add();
  exchange.principal = {Principal::Method::kClientCertificate, grant->subject, grant->tenant, grant->roles,
                        grant->deployments};
  return RequestVerdict::kContinue;
}

}  // namespace seraph
