#pragma once
// What the config says about guards: which are switched on (guards.<name>.enabled) and each
// guard's own section. Read by the config loader, handed to the chain's table.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/jwt_key_set.h"
#include "auth/jwt_verifier.h"
#include "control/registry.h"
#include "limits/rate_limit.h"
#include "core/principal.h"
#include "resilience/circuit_breaker.h"
#include "resilience/concurrency_limiter.h"

namespace seraph {

// Who may call one deployment (or model, by the name requests call it), beside the roles.
struct AllowList {
  std::vector<std::string> subjects;
  std::vector<std::string> tenants;
};

// JWTs as bearer tokens (guards.auth.jwt): the keys they may be signed with and the claims checked.
struct JwtSettings {
  bool enabled = false;
  JwtPolicy policy;
  std::vector<JwtKeyConfig> keys;  // each pinned to one algorithm
  std::string jwks_file;           // a JWKS document, re-read when it changes; empty: none
};

// A client certificate subject (its CN, or its RFC 2253 subject when it has no CN) and what the
// verified certificate grants, as an API key would.
struct ClientCertificateGrant {
  std::string subject;
  RoleSet roles = 0;
  std::vector<std::string> deployments;  // empty: any
  std::string tenant;
};

struct AuthSettings {
  std::vector<std::string> open_paths;  // paths anyone may call, beside the probes that always are
  std::map<std::string, AllowList, std::less<>> deployments;  // a name listed here admits only its callers
  std::vector<ClientCertificateGrant> client_certificates;    // for mutual TLS (server.tls.client_ca_file)
  JwtSettings jwt;
};

// The response cache (guards.cache): in-process by default.
struct CacheSettings {
  enum class Store : uint8_t { kLocal, kRedis } store = Store::kLocal;  // kRedis: shared by replicas too
  int64_t max_bytes = 256 << 20;
  int ttl_ms = 60000;
  int stale_while_revalidate_ms = 0;  // an expired answer may be served this long while one call refreshes it
  int stale_if_error_ms = 3600000;    // an expired answer is kept this long for a fallback's stale_cache step
  bool per_tenant = false;            // the caller's tenant is part of the key: tenants never share answers
  struct Deployment {
    bool enabled = true;
    int ttl_ms = 0;                   // 0: the cache's
  };
  std::map<std::string, Deployment, std::less<>> deployments;  // by the name requests call; absent: cached
};

// Rate limits (guards.rate_limit): GCRA rules, in process or shared through Redis.
struct RateLimitRuleSettings {
  RateLimitRule rule;                    // name, limit per period, burst
  enum class Key : uint8_t { kClient, kSubject, kTenant, kHeader, kDeployment } key = Key::kClient;
  std::string header;                    // for Key::kHeader
  bool cost_rows = false;                // a request costs its batch's rows, not 1
  std::vector<std::string> deployments;  // applies only to these (by the name requests call); empty: all
  // Needs the decoded request (a deployment, its rows): checked in the inference stage.
  bool per_inference() const { return key == Key::kDeployment || cost_rows || !deployments.empty(); }
};

struct RateLimitSettings {
  enum class Store : uint8_t { kLocal, kRedis } store = Store::kLocal;
  // When Redis does not answer in time: admit, refuse (503), or ask the in-process limiter.
  enum class OnRedisFailure : uint8_t { kOpen, kClosed, kLocal } on_redis_failure = OnRedisFailure::kLocal;
  std::vector<RateLimitRuleSettings> rules;
};

class ContentRules;

// guards.content.deployments: each deployment's content rules (guards/content_rules.h), compiled
// when the config is read so that a bad pattern is a config error.
struct ContentSettings {
  std::map<std::string, std::shared_ptr<const ContentRules>, std::less<>> deployments;
};

// Retries and hedging (guards.retry): which failures are retried, how often, after what back-off,
// and within what budget per backend (resilience/retry_budget.h).
struct RetrySettings {
  int max_retries = 2;
  uint32_t retry_on = 0b11111;  // bit i: RetryReason i (resilience/retry_reason.h); all by default
  int backoff_base_ms = 25;
  int backoff_max_ms = 250;
  double budget_percent = 20;
  int min_retry_concurrency = 3;
  bool idempotent = true;                             // inference requests may run twice
  std::vector<std::string> non_idempotent_deployments;  // ... except these (by the name requests call)
  struct Hedge {
    bool enabled = false;
    int delay_ms = 0;  // 0: the backend's recent p95 latency
    int max_hedges = 1;
  } hedge;
};

// Fault injection (guards.fault_injection): the cap on faults in progress, whether requests may ask
// for their own faults, and the remote backends' faults from the config (`backends[].fault`).
struct FaultInjectionSettings {
  int max_active = 100;                // Envoy's max_active_faults; beyond it no fault is injected
  bool allow_request_headers = false;  // X-Seraph-Fault-Delay-Ms and X-Seraph-Fault-Abort are honoured
  std::map<std::string, FaultSpec, std::less<>> backends;  // by backend name
};

struct GuardSettings {
  std::map<std::string, bool, std::less<>> enabled;  // guards.<name>.enabled; absent: the row's default
  AuthSettings auth;
  CacheSettings cache;
  RateLimitSettings rate_limit;
  ContentSettings content;
  CircuitBreakerSettings circuit_breaker;  // guards.circuit_breaker: local versions' and remote endpoints' breakers
  RetrySettings retry;
  ConcurrencySettings admission;  // guards.admission: each target's adaptive limit, queue and shares
  FaultInjectionSettings fault_injection;
};

}  // namespace seraph
