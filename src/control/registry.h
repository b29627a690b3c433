#pragma once
// The durable record of the control plane: model versions with their metadata and lineage,
// deployments, rollouts, experiments, experiment assignments and feedback, API keys, and an
// append-only event log. SQLite by default (a file path), PostgreSQL when opened with a postgres:// URL; the
// schema and the behaviour are the same. Every change is one transaction, so a process killed at
// any moment leaves the registry as it was before or after the change, never in between.
//
// Thread-safe (one internal mutex): callers are the control plane (admin API, controllers), never
// the per-request hot path.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace seraph {

struct ModelVersionRecord {
  std::string model;
  int64_t version = 0;
  std::string description;
  std::string runtime;                       // fasttext, xgboost, torchscript, ...
  std::vector<std::string> tags;
  std::map<std::string, double> metrics;     // e.g. {"accuracy": 0.85}
  std::string artifact_sha256;               // 64 lowercase hex digits, or empty when unknown
  std::optional<int64_t> parent_version;     // lineage: the version this one was derived from
  int64_t created_ms = 0;                    // Unix time in milliseconds; set by the registry when 0
  bool archived = false;
};

// Injected faults for one variant (guards/fault_injection_guard.h applies them).
struct FaultSpec {
  double delay_ms = 0;        // added before the request reaches the model
  double delay_percent = 0;   // share of requests delayed, 0-100
  double abort_percent = 0;   // share of requests answered with abort_status instead, 0-100
  int abort_status = 503;
};

struct VariantRecord {
  std::string name;           // unique within its deployment, e.g. "baseline", "candidate"
  std::string model;
  int64_t version = 0;
  double weight = 0;          // share of traffic (weights need not sum to 100); for a shadow, the
                              // percentage of requests copied to it
  std::string role;           // "baseline", "candidate" or "shadow"
  FaultSpec fault;
  std::string backend{};  // a remote backend (config `backends:`) that serves `model`/`version`; empty: local
};

// One step of a deployment's fallback chain, tried in order when the chosen variant fails or its
// circuit is open (guards/fallback_guard.h).
struct FallbackStep {
  enum class Kind : uint8_t { kVariant, kStaleCache, kDefaultAnswer };
  Kind kind = Kind::kVariant;
  std::string variant{};      // kVariant: another variant of the deployment
  std::string answer_json{};  // kDefaultAnswer: the answer's V2 outputs, {"outputs": [...]}
};

// What a deployment asks of the resilience guards, beyond its variants.
struct DeploymentPolicy {
  std::string priority;                // the default X-Priority: "critical", "normal" or "low"; empty: normal
  FaultSpec fault;                     // injected on every variant, before a variant's own faults
  std::vector<FallbackStep> fallback;  // in the order they are tried
};

struct DeploymentRecord {
  std::string name;
  std::string environment;    // "staging", "production", ...
  std::string sticky_header;  // e.g. "X-User-Id"; empty: weighted random per request
  std::vector<VariantRecord> variants;
  DeploymentPolicy policy{};
  int64_t updated_ms = 0;     // set by the registry on every write
};

struct RolloutRecord {
  int64_t id = 0;             // assigned by the registry on creation
  std::string deployment;
  std::string environment;
  std::string strategy;       // "immediate", "blue_green" or "canary"
  std::string candidate_model;
  int64_t candidate_version = 0;
  std::string state;          // "running", "paused", "succeeded", "rolled_back"
  int step_index = 0;         // index into the canary steps
  int64_t step_started_ms = 0;
  std::string spec_json;      // strategy settings: steps, holds, analysis thresholds (JSON object)
  std::string reason;         // why it ended, for rolled_back and succeeded
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct ExperimentRecord {
  int64_t id = 0;             // assigned by the registry on creation
  std::string name;
  std::string deployment;
  std::string environment;
  std::vector<VariantRecord> variants;  // the arms, with their weights
  std::string previous_json;  // the deployment's variants before the experiment, restored at the end
  std::string state;          // "running", "stopped"
  int64_t started_ms = 0;
  int64_t ends_ms = 0;        // 0: no time limit
  int64_t max_requests = 0;   // 0: no sample-size limit
  std::string reason;         // why it stopped
};

struct EventRecord {
  int64_t id = 0;             // assigned by the registry, increasing
  int64_t time_ms = 0;        // set by the registry when 0
  std::string actor;          // "admin", "rollout-controller", "experiment-controller", "config"
  std::string kind;           // e.g. "rollout.step", "rollout.rolled_back", "deployment.updated"
  std::string subject;        // e.g. "production/sentiment" or "rollout/3"
  std::string details_json;   // a JSON object: the decision's statistics, the request body, ...
};

// One request served by an experiment arm, so later feedback can be attributed to it.
struct Assignment {
  std::string request_id;
  int64_t experiment_id = 0;
  std::string variant;
  std::string predicted_label;  // the served top label, empty when the model gives none
  int64_t time_ms = 0;
};

struct Feedback {
  std::string request_id;
  std::optional<std::string> label;  // the true label: success when it equals the predicted one
  std::optional<double> reward;      // a numeric outcome: success when > 0
  int64_t time_ms = 0;
};

// Per arm of an experiment: what was served, and the outcomes reported for it.
struct ArmCounts {
  std::string variant;
  int64_t requests = 0;
  int64_t outcomes = 0;
  int64_t successes = 0;
  double reward_sum = 0;
};

// An API key as the registry keeps it: never the key itself, only its SHA-256, so a copy of the
// database lets no one call the server.
struct ApiKeyRecord {
  std::string id;                        // the key's public part (keys read "sk_<id>_<secret>"), unique
  std::string name;                      // who or what it is for: the subject of requests made with it
  std::string secret_sha256;             // 64 lowercase hex digits: SHA-256 of the whole key
  std::vector<std::string> roles;        // "reader", "predictor", "admin"
  std::vector<std::string> deployments;  // the names it may call; empty: any
  std::string tenant;                    // empty: none
  int64_t created_ms = 0;                // set by the registry when 0
  int64_t expires_ms = 0;                // 0: never
  int64_t revoked_ms = 0;                // 0: not revoked
  std::string priority;                  // admission priority, critical, normal or low: the caller's default and
                                         // ceiling; empty: none

  bool operator==(const ApiKeyRecord&) const = default;
};

// A rate-limit rule set through the admin API (the config's rules live in the config file).
struct RateLimitRuleRecord {
  std::string name;       // unique; a config rule of the same name is replaced by it
  std::string spec_json;  // {"limit", "period_ms", "burst", "key", "cost", "deployments"}
  int64_t updated_ms = 0;  // set by the registry

  bool operator==(const RateLimitRuleRecord&) const = default;
};

// Everything one control-plane action changes, written in one transaction.
struct RegistryChange {
  std::optional<DeploymentRecord> deployment;  // replaces the (name, environment) deployment
  std::optional<RolloutRecord> rollout;        // id 0 creates one; otherwise replaces that rollout
  std::optional<ExperimentRecord> experiment;  // id 0 creates one; otherwise replaces that experiment
  std::vector<EventRecord> events;             // appended
};

struct ChangeResult {
  int64_t rollout_id = 0;     // of a created or replaced rollout
  int64_t experiment_id = 0;  // of a created or replaced experiment
  int64_t time_ms = 0;        // when it was written: the deployment's and the rollout's updated_ms
};

// Reads answer kNotFound when the record does not exist and kUnavailable when the database could
// not be read (its error in the message), so "absent" and "could not look" never look alike; `out`
// is set only when the read succeeds. Writes answer kUnavailable when the database fails.
class Registry {
 public:
  // "postgres://..." or "postgresql://..." opens PostgreSQL; anything else is an SQLite file path
  // (created when missing). Runs the pending schema migrations. Returns nullptr and sets `error`
  // when the database cannot be opened or migrated.
  static std::unique_ptr<Registry> open(const std::string& location, std::string& error);
  virtual ~Registry() = default;

  // The schema version after migrations (the number of migrations applied).
  virtual int schema_version() = 0;

  // Model versions. Registering an existing (model, version) is kConflict. Registering and
  // archiving append `events` in the same transaction.
  virtual Status register_version(ModelVersionRecord record, const std::vector<EventRecord>& events = {}) = 0;
  virtual Status list_versions(const std::string& model, std::vector<ModelVersionRecord>& out) = 0;  // model empty: all
  virtual Status get_version(const std::string& model, int64_t version, ModelVersionRecord& out) = 0;
  virtual Status archive_version(const std::string& model, int64_t version,
                                 const std::vector<EventRecord>& events = {}) = 0;  // kNotFound if unknown

  virtual Status list_deployments(std::vector<DeploymentRecord>& out) = 0;
  virtual Status get_deployment(const std::string& name, const std::string& environment, DeploymentRecord& out) = 0;

  virtual Status list_rollouts(std::vector<RolloutRecord>& out) = 0;  // newest first
  virtual Status get_rollout(int64_t id, RolloutRecord& out) = 0;

  virtual Status list_experiments(std::vector<ExperimentRecord>& out) = 0;  // newest first
  virtual Status get_experiment(int64_t id, ExperimentRecord& out) = 0;

  // Applies a change atomically; on failure nothing of it is written.
  virtual Status apply(const RegistryChange& change, ChangeResult* result = nullptr) = 0;

  // Events with id > after_id, oldest first, at most `limit`; `subject` filters when not empty.
  virtual Status list_events(int64_t after_id, int limit, const std::string& subject,
                             std::vector<EventRecord>& out) = 0;

  // API keys. Creating one whose id exists is kConflict; revoking an unknown one is kNotFound, and
  // revoking a revoked one keeps its first revocation time. Each appends `events` in its transaction.
  virtual Status create_api_key(const ApiKeyRecord& key, const std::vector<EventRecord>& events = {}) = 0;
  virtual Status revoke_api_key(const std::string& id, const std::vector<EventRecord>& events = {}) = 0;
  virtual Status list_api_keys(std::vector<ApiKeyRecord>& out) = 0;  // oldest first, revoked ones included

  // Rate-limit rules from the admin API: put creates or replaces by name; removing an unknown one
  // is kNotFound. Each appends `events` in its transaction.
  virtual Status put_rate_limit_rule(const RateLimitRuleRecord& rule, const std::vector<EventRecord>& events = {}) = 0;
  virtual Status remove_rate_limit_rule(const std::string& name, const std::vector<EventRecord>& events = {}) = 0;
  virtual Status list_rate_limit_rules(std::vector<RateLimitRuleRecord>& out) = 0;  // by name

  // Experiment assignments, written in batches (one transaction per call). A request id already
  // assigned keeps its first assignment.
  virtual Status record_assignments(const std::vector<Assignment>& assignments) = 0;
  // kNotFound when the request id was never assigned to an experiment; kConflict when feedback
  // for it was already recorded (outcomes count once).
  virtual Status record_feedback(const Feedback& feedback) = 0;
  // One entry per arm that has served requests or appears in the experiment record, in the
  // experiment's arm order.
  virtual Status experiment_counts(int64_t experiment_id, std::vector<ArmCounts>& out) = 0;
};

}  // namespace seraph
