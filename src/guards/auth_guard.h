#pragma once
// Who may call what. In the endpoint stage, for every request: a credential (an API key in
// X-API-Key or `Authorization: Bearer`, a JWT as a bearer token, or else a verified TLS client
// certificate) names the caller, and the
// route's role must be among the caller's (admin implies every role). Health and readiness stay
// open for probes, and whatever else the config opens. Refusals are 401 with WWW-Authenticate for a
// missing or bad credential and 403 for a role the caller lacks, each naming the problem and never
// the credential.
#include <memory>
#include <string>
#include <vector>

#include "auth/cached_jwt_verifier.h"

#include "guards/guard.h"
#include "guards/guard_settings.h"
#include "observe/metrics.h"

namespace seraph {

class ApiKeys;
class JwtKeyStore;

class AuthGuard final : public Guard {
 public:
  // `jwt_keys`: null when JWTs are not accepted. `outcomes`: seraph_auth_requests_total, by outcome.
  AuthGuard(AuthSettings settings, const ApiKeys& keys, const JwtKeyStore* jwt_keys, Family<Counter>& outcomes);
  std::string_view name() const override { return "auth"; }
  RequestVerdict on_request(Exchange& exchange) override;

 private:
  bool is_open(std::string_view path) const;
  Status authenticate_jwt(std::string_view token, Principal& out);
  // The JWT key set, from this thread's copy while the store's version holds.
  const JwtKeySet* jwt_key_set() const;
  RequestVerdict refuse(Exchange& exchange, Status status, Counter& counter);
  // Mutual TLS: a request with no other credential, on a connection whose client certificate was
  // verified, is its subject, with the roles guards.auth.client_certificates grants it (403 if none).
  Status certificate_principal(const std::string& subject, Principal& out) const;

  const AuthSettings settings_;
  const ApiKeys& keys_;
  const JwtKeyStore* const jwt_keys_;
  std::unique_ptr<CachedJwtVerifier> jwt_verifier_;  // with jwt_keys_
  const uint64_t id_;  // tells this guard's per-thread key-set copies from another's
  Counter& open_;
  Counter& allowed_;
  Counter& missing_;
  Counter& invalid_;
  Counter& forbidden_;
};

// Paths open whether or not auth is on: liveness and readiness probes.
bool is_probe_path(std::string_view path);

}  // namespace seraph
