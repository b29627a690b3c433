#pragma once
// Who may call what. In the endpoint stage, for every request: a credential (an API key in
// X-API-Key or `Authorization: Bearer`, a JWT as a bearer token, or else a verified TLS client
// certificate) names the caller, and the
// route's role must be among the caller's (admin implies every role). Health and readiness stay
// open for probes, and whatever else the config opens. Refusals are 401 with WWW-Authenticate for a
// missing or bad credential and 403 for a role the caller lacks, each naming the problem and never
// the credential.
#include <string>
#include <vector>

#include "guards/guard.h"
#include "guards/guard_settings.h"
#include "observe/metrics.h"

namespace seraph {

class ApiKeys;

class AuthGuard final : public Guard {
 public:
  // `outcomes`: seraph_auth_requests_total, counted by outcome.
  AuthGuard(AuthSettings settings, const ApiKeys& keys, Family<Counter>& outcomes);
  std::string_view name() const override { return "auth"; }
  RequestVerdict on_request(Exchange& exchange) override;

 private:
  bool is_open(std::string_view path) const;
  RequestVerdict refuse(Exchange& exchange, Status status, Counter& counter);
  // Mutual TLS: a request with no other credential, on a connection whose client certificate was
  // verified, is its subject, with the roles guards.auth.client_certificates grants it (403 if none).
  RequestVerdict admit_client_certificate(Exchange& exchange);

  const AuthSettings settings_;
  const ApiKeys& keys_;
  Counter& open_;
  Counter& allowed_;
  Counter& missing_;
  Counter& invalid_;
  Counter& forbidden_;
};

// Paths open whether or not auth is on: liveness and readiness probes.
bool is_probe_path(std::string_view path);

}  // namespace seraph
