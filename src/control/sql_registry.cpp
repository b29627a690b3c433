// The Registry, written once over SqlConnection: the schema and its migrations, and every query.
// Registry::open picks the backend.
//
// Lists (tags, metrics, variants with their fault specs) are JSON text columns. A rollout or
// experiment id that does not exist is detected by its UPDATE ... RETURNING returning no row; the
// change is then rolled back and apply() answers kNotFound.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <mutex>
#include <string_view>

#include "control/records_json.h"
#include "control/registry.h"
#include "control/sql_connection.h"
#include "models/artifact_digest.h"

namespace seraph {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t or_now(int64_t time_ms) { return time_ms != 0 ? time_ms : now_ms(); }

// On update, a time of 0 keeps the stored one (COALESCE in the SQL).
SqlValue or_stored(int64_t time_ms) { return time_ms != 0 ? SqlValue(time_ms) : SqlValue(nullptr); }

SqlValue or_null(const std::optional<std::string>& value) { return value ? SqlValue(*value) : SqlValue(nullptr); }
SqlValue or_null(const std::optional<double>& value) { return value ? SqlValue(*value) : SqlValue(nullptr); }
SqlValue or_null(const std::optional<int64_t>& value) { return value ? SqlValue(*value) : SqlValue(nullptr); }

// ---- Schema

// Written once for both backends where the SQL is the same: BIGINT and DOUBLE PRECISION get the
// intended affinity in SQLite, and ID_COLUMN becomes the dialect's auto-increasing primary key.
// Where the dialects differ (triggers), each has its own statements.
struct Migration {
  std::vector<std::string_view> both;
  std::vector<std::string_view> sqlite_only = {};
  std::vector<std::string_view> postgres_only = {};
};

// Append only: a database records how many of these it has applied.
const std::vector<Migration> kMigrations = {
    {{
        R"(CREATE TABLE model_versions (
             model TEXT NOT NULL,
             version BIGINT NOT NULL,
             description TEXT NOT NULL,
             runtime TEXT NOT NULL,
             tags TEXT NOT NULL,
             metrics TEXT NOT NULL,
             artifact_sha256 TEXT NOT NULL,
             parent_version BIGINT,
             created_ms BIGINT NOT NULL,
             archived INTEGER NOT NULL,
             PRIMARY KEY (model, version)))",
        R"(CREATE TABLE deployments (
             name TEXT NOT NULL,
             environment TEXT NOT NULL,
             sticky_header TEXT NOT NULL,
             variants TEXT NOT NULL,
             updated_ms BIGINT NOT NULL,
             PRIMARY KEY (name, environment)))",
        R"(CREATE TABLE rollouts (
             id ID_COLUMN,
             deployment TEXT NOT NULL,
             environment TEXT NOT NULL,
             strategy TEXT NOT NULL,
             candidate_model TEXT NOT NULL,
             candidate_version BIGINT NOT NULL,
             state TEXT NOT NULL,
             step_index BIGINT NOT NULL,
             step_started_ms BIGINT NOT NULL,
             spec_json TEXT NOT NULL,
             reason TEXT NOT NULL,
             created_ms BIGINT NOT NULL,
             updated_ms BIGINT NOT NULL))",
        R"(CREATE TABLE experiments (
             id ID_COLUMN,
             name TEXT NOT NULL,
             deployment TEXT NOT NULL,
             environment TEXT NOT NULL,
             variants TEXT NOT NULL,
             previous_json TEXT NOT NULL,
             state TEXT NOT NULL,
             started_ms BIGINT NOT NULL,
             ends_ms BIGINT NOT NULL,
             max_requests BIGINT NOT NULL,
             reason TEXT NOT NULL))",
        R"(CREATE TABLE events (
             id ID_COLUMN,
             time_ms BIGINT NOT NULL,
             actor TEXT NOT NULL,
             kind TEXT NOT NULL,
             subject TEXT NOT NULL,
             details_json TEXT NOT NULL))",
        "CREATE INDEX events_by_subject ON events (subject, id)",
        R"(CREATE TABLE experiment_assignments (
             request_id TEXT NOT NULL PRIMARY KEY,
             experiment_id BIGINT NOT NULL,
             variant TEXT NOT NULL,
             predicted_label TEXT NOT NULL,
             time_ms BIGINT NOT NULL))",
        "CREATE INDEX assignments_by_experiment ON experiment_assignments (experiment_id)",
        R"(CREATE TABLE feedback (
             request_id TEXT NOT NULL PRIMARY KEY REFERENCES experiment_assignments (request_id),
             label TEXT,
             reward DOUBLE PRECISION,
             time_ms BIGINT NOT NULL))",
    }},
    // 2: the event log is append-only in the database itself, whoever writes to it.
    {{},
     {R"(CREATE TRIGGER events_are_append_only_on_update BEFORE UPDATE ON events
           BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END)",
      R"(CREATE TRIGGER events_are_append_only_on_delete BEFORE DELETE ON events
           BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END)"},
     {R"(CREATE FUNCTION seraph_refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $body$
           BEGIN RAISE EXCEPTION 'the event log is append-only'; END $body$)",
      R"(CREATE TRIGGER events_are_append_only BEFORE UPDATE OR DELETE ON events
           FOR EACH ROW EXECUTE FUNCTION seraph_refuse_event_change())"}},
    // 3: API keys, stored as the SHA-256 of the key.
    {{
        R"(CREATE TABLE api_keys (
             id TEXT NOT NULL PRIMARY KEY,
             name TEXT NOT NULL,
             secret_sha256 TEXT NOT NULL,
             roles TEXT NOT NULL,
             deployments TEXT NOT NULL,
             tenant TEXT NOT NULL,
             created_ms BIGINT NOT NULL,
             expires_ms BIGINT NOT NULL,
             revoked_ms BIGINT NOT NULL))",
    }},
    // 4: rate-limit rules set through the admin API.
    {{
        R"(CREATE TABLE rate_limit_rules (
             name TEXT NOT NULL PRIMARY KEY,
             spec_json TEXT NOT NULL,
             updated_ms BIGINT NOT NULL))",
    }},
    // 5: a deployment's resilience policy (default priority, faults, fallback chain) as JSON.
    {{
        R"(ALTER TABLE deployments ADD COLUMN policy TEXT NOT NULL DEFAULT '{}')",
    }},
    // 6: an API key's admission priority (critical, normal or low; empty: none).
    {{
        R"(ALTER TABLE api_keys ADD COLUMN priority TEXT NOT NULL DEFAULT '')",
    }},
};

constexpr std::string_view kIdColumn = "ID_COLUMN";

std::string for_dialect(std::string_view statement, SqlDialect dialect) {
  // AUTOINCREMENT: SQLite never hands out an id twice, not even that of a deleted last row.
  const std::string_view id_column = dialect == SqlDialect::kSqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT"
                                                                    : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";
  std::string sql(statement);
  for (size_t at = sql.find(kIdColumn); at != std::string::npos; at = sql.find(kIdColumn, at)) {
    sql.replace(at, kIdColumn.size(), id_column);
  }
  return sql;
}

const std::string kVersionColumns =
    "model, version, description, runtime, tags, metrics, artifact_sha256, parent_version, created_ms, archived";
const std::string kDeploymentColumns = "name, environment, sticky_header, variants, policy, updated_ms";
const std::string kRolloutColumns =
    "id, deployment, environment, strategy, candidate_model, candidate_version, state, step_index, "
    "step_started_ms, spec_json, reason, created_ms, updated_ms";
const std::string kExperimentColumns =
    "id, name, deployment, environment, variants, previous_json, state, started_ms, ends_ms, max_requests, reason";
const std::string kEventColumns = "id, time_ms, actor, kind, subject, details_json";
const std::string kApiKeyColumns =
    "id, name, secret_sha256, roles, deployments, tenant, created_ms, expires_ms, revoked_ms, priority";

// ---- JSON columns

// A value the schema cannot hold, e.g. a NaN weight (JSON has no NaN): the caller's mistake.
class UnstorableValue : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A string as a quoted, escaped JSON value, for log lines.
std::string json_quoted(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return {buffer.GetString(), buffer.GetSize()};
}

void require_finite(double value, std::string_view what) {
  if (!std::isfinite(value)) throw UnstorableValue(std::string(what) + " must be a finite number");
}

// JSON has no NaN or infinity: refuse them rather than store what cannot be read back.
void require_storable(const FaultSpec& fault, const std::string& of) {
  require_finite(fault.delay_ms, "fault delay_ms of " + of);
  require_finite(fault.delay_percent, "fault delay_percent of " + of);
  require_finite(fault.abort_percent, "fault abort_percent of " + of);
}

void require_storable(const std::vector<VariantRecord>& variants) {
  for (const auto& v : variants) {
    require_finite(v.weight, "weight of variant " + v.name);
    require_storable(v.fault, "variant " + v.name);
  }
}

[[noreturn]] void malformed(std::string_view what, const Status& status) {
  throw SqlError("stored JSON is malformed: " + std::string(what) + ": " + status.message());
}

std::vector<VariantRecord> stored_variants(const std::string& text) {
  std::vector<VariantRecord> variants;
  if (Status s = variants_from_json(text, variants); !s.is_ok()) malformed("variants", s);
  return variants;
}

DeploymentPolicy stored_policy(const std::string& text) {
  DeploymentPolicy policy;
  if (Status s = policy_from_json(text, policy); !s.is_ok()) malformed("policy", s);
  return policy;
}

// ---- Rows to records

// Reads a row's columns in order. NULL or unparsable text where the schema says otherwise means the
// database and this code disagree: an error, never a silent default.
class RowReader {
 public:
  explicit RowReader(const SqlRow& row) : row_(row) {}

  const std::string& text() {
    const auto& value = next();
    if (!value) throw SqlError("unexpected NULL in column " + std::to_string(next_ - 1));
    return *value;
  }
  int64_t integer() { return parse<int64_t>(text()); }
  double real() { return parse<double>(text()); }
  std::optional<std::string> optional_text() { return next(); }
  std::optional<int64_t> optional_integer() {
    const auto& value = next();
    return value ? std::optional(parse<int64_t>(*value)) : std::nullopt;
  }
  std::optional<double> optional_real() {
    const auto& value = next();
    return value ? std::optional(parse<double>(*value)) : std::nullopt;
  }

 private:
  const std::optional<std::string>& next() {
    if (next_ >= row_.size()) throw SqlError("a row has fewer columns than the query selects");
    return row_[next_++];
  }

  template <typename T>
  static T parse(const std::string& text) {
    T value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) throw SqlError("not a number: " + text);
    return value;
  }

  const SqlRow& row_;
  size_t next_ = 0;
};

ModelVersionRecord version_from_row(const SqlRow& row) {
  RowReader column(row);
  ModelVersionRecord record;
  record.model = column.text();
  record.version = column.integer();
  record.description = column.text();
  record.runtime = column.text();
  if (Status s = tags_from_json(column.text(), record.tags); !s.is_ok()) malformed("tags", s);
  if (Status s = metrics_from_json(column.text(), record.metrics); !s.is_ok()) malformed("metrics", s);
  record.artifact_sha256 = column.text();
  record.parent_version = column.optional_integer();
  record.created_ms = column.integer();
  record.archived = column.integer() != 0;
  return record;
}

DeploymentRecord deployment_from_row(const SqlRow& row) {
  RowReader column(row);
  DeploymentRecord record;
  record.name = column.text();
  record.environment = column.text();
  record.sticky_header = column.text();
  record.variants = stored_variants(column.text());
  record.policy = stored_policy(column.text());
  record.updated_ms = column.integer();
  return record;
}

RolloutRecord rollout_from_row(const SqlRow& row) {
  RowReader column(row);
  RolloutRecord record;
  record.id = column.integer();
  record.deployment = column.text();
  record.environment = column.text();
  record.strategy = column.text();
  record.candidate_model = column.text();
  record.candidate_version = column.integer();
  record.state = column.text();
  record.step_index = static_cast<int>(column.integer());
  record.step_started_ms = column.integer();
  record.spec_json = column.text();
  record.reason = column.text();
  record.created_ms = column.integer();
  record.updated_ms = column.integer();
  return record;
}

ExperimentRecord experiment_from_row(const SqlRow& row) {
  RowReader column(row);
  ExperimentRecord record;
  record.id = column.integer();
  record.name = column.text();
  record.deployment = column.text();
  record.environment = column.text();
  record.variants = stored_variants(column.text());
  record.previous_json = column.text();
  record.state = column.text();
  record.started_ms = column.integer();
  record.ends_ms = column.integer();
  record.max_requests = column.integer();
  record.reason = column.text();
  return record;
}

EventRecord event_from_row(const SqlRow& row) {
  RowReader column(row);
  EventRecord record;
  record.id = column.integer();
  record.time_ms = column.integer();
  record.actor = column.text();
  record.kind = column.text();
  record.subject = column.text();
  record.details_json = column.text();
  return record;
}

ApiKeyRecord api_key_from_row(const SqlRow& row) {
  RowReader column(row);
  ApiKeyRecord record;
  record.id = column.text();
  record.name = column.text();
  record.secret_sha256 = column.text();
  if (Status s = tags_from_json(column.text(), record.roles); !s.is_ok()) malformed("roles", s);
  if (Status s = tags_from_json(column.text(), record.deployments); !s.is_ok()) malformed("deployments", s);
  record.tenant = column.text();
  record.created_ms = column.integer();
  record.expires_ms = column.integer();
  record.revoked_ms = column.integer();
  record.priority = column.text();
  return record;
}

template <typename Record>
std::vector<Record> records(const std::vector<SqlRow>& rows, Record (*from_row)(const SqlRow&)) {
  std::vector<Record> result;
  result.reserve(rows.size());
  for (const auto& row : rows) result.push_back(from_row(row));
  return result;
}

void log_failure(std::string_view operation, std::string_view error) {
  spdlog::warn(R"({{"msg":"registry operation failed","operation":"{}","error":{}}})", operation, json_quoted(error));
}

// ---- The registry

class SqlRegistry final : public Registry {
 public:
  explicit SqlRegistry(std::unique_ptr<SqlConnection> db) : db_(std::move(db)) { migrate(); }

  int schema_version() override {
    std::lock_guard lock(mutex_);
    return schema_version_;
  }

  Status register_version(ModelVersionRecord record, const std::vector<EventRecord>& events) override {
    if (!record.artifact_sha256.empty() && !is_sha256_hex(record.artifact_sha256)) {
      return invalid_argument("artifact_sha256 must be 64 lowercase hex digits");
    }
    return write("register_version", [&] {
      for (const auto& [name, value] : record.metrics) require_finite(value, "metric " + name);
      const auto inserted =
          db_->execute("INSERT INTO model_versions (" + kVersionColumns +
                           ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                           " ON CONFLICT (model, version) DO NOTHING RETURNING version",
                       {record.model, record.version, record.description, record.runtime, tags_to_json(record.tags),
                        metrics_to_json(record.metrics), record.artifact_sha256, or_null(record.parent_version),
                        or_now(record.created_ms), int64_t{record.archived}});
      if (inserted.empty()) {
        return conflict("model " + record.model + " version " + std::to_string(record.version) + " is already registered");
      }
      append_events(events);
      return Status::ok();
    });
  }

  Status list_versions(const std::string& model, std::vector<ModelVersionRecord>& out) override {
    return read("list_versions", [&] {
      const std::string select = "SELECT " + kVersionColumns + " FROM model_versions";
      const auto rows = model.empty() ? db_->execute(select + " ORDER BY model, version", {})
                                      : db_->execute(select + " WHERE model = $1 ORDER BY version", {model});
      out = records(rows, version_from_row);
      return Status::ok();
    });
  }

  Status get_version(const std::string& model, int64_t version, ModelVersionRecord& out) override {
    return read("get_version", [&] {
      const auto rows = db_->execute(
          "SELECT " + kVersionColumns + " FROM model_versions WHERE model = $1 AND version = $2", {model, version});
      if (rows.empty()) return not_found(model + " version " + std::to_string(version) + " is not registered");
      out = version_from_row(rows[0]);
      return Status::ok();
    });
  }

  Status archive_version(const std::string& model, int64_t version, const std::vector<EventRecord>& events) override {
    return write("archive_version", [&] {
      const auto archived =
          db_->execute("UPDATE model_versions SET archived = 1 WHERE model = $1 AND version = $2 RETURNING version",
                       {model, version});
      if (archived.empty()) return not_found(model + " version " + std::to_string(version) + " is not registered");
      append_events(events);
      return Status::ok();
    });
  }

  Status list_deployments(std::vector<DeploymentRecord>& out) override {
    return read("list_deployments", [&] {
      out = records(db_->execute("SELECT " + kDeploymentColumns + " FROM deployments ORDER BY name, environment", {}),
                    deployment_from_row);
      return Status::ok();
    });
  }

  Status get_deployment(const std::string& name, const std::string& environment, DeploymentRecord& out) override {
    return read("get_deployment", [&] {
      const auto rows =
          db_->execute("SELECT " + kDeploymentColumns + " FROM deployments WHERE name = $1 AND environment = $2",
                       {name, environment});
      if (rows.empty()) return not_found("no deployment '" + name + "' in " + environment);
      out = deployment_from_row(rows[0]);
      return Status::ok();
    });
  }

  Status list_rollouts(std::vector<RolloutRecord>& out) override {
    return read("list_rollouts", [&] {
      out =
          records(db_->execute("SELECT " + kRolloutColumns + " FROM rollouts ORDER BY id DESC", {}), rollout_from_row);
      return Status::ok();
    });
  }

  Status get_rollout(int64_t id, RolloutRecord& out) override {
    return read("get_rollout", [&] {
      const auto rows = db_->execute("SELECT " + kRolloutColumns + " FROM rollouts WHERE id = $1", {id});
      if (rows.empty()) return not_found("no rollout " + std::to_string(id));
      out = rollout_from_row(rows[0]);
      return Status::ok();
    });
  }

  Status list_experiments(std::vector<ExperimentRecord>& out) override {
    return read("list_experiments", [&] {
      out = records(db_->execute("SELECT " + kExperimentColumns + " FROM experiments ORDER BY id DESC", {}),
                    experiment_from_row);
      return Status::ok();
    });
  }

  Status get_experiment(int64_t id, ExperimentRecord& out) override {
    return read("get_experiment", [&] {
      auto experiment = find_experiment(id);
      if (!experiment) return not_found("no experiment " + std::to_string(id));
      out = std::move(*experiment);
      return Status::ok();
    });
  }

  Status apply(const RegistryChange& change, ChangeResult* result) override {
    ChangeResult ids;
    const Status status = write("apply", [&] {
      const int64_t now = now_ms();
      ids.time_ms = now;
      if (change.deployment) upsert_deployment(*change.deployment, now);
      if (change.rollout) {
        const auto id = save_rollout(*change.rollout, now);
        if (!id) return not_found("rollout " + std::to_string(change.rollout->id) + " does not exist");
        ids.rollout_id = *id;
      }
      if (change.experiment) {
        const auto id = save_experiment(*change.experiment, now);
        if (!id) return not_found("experiment " + std::to_string(change.experiment->id) + " does not exist");
        ids.experiment_id = *id;
      }
      append_events(change.events, now);
      return Status::ok();
    });
    if (status.is_ok() && result) *result = ids;
    return status;
  }

  Status list_events(int64_t after_id, int limit, const std::string& subject, std::vector<EventRecord>& out) override {
    if (limit <= 0) {  // SQLite reads a negative LIMIT as none, PostgreSQL refuses it
      out.clear();
      return Status::ok();
    }
    return read("list_events", [&] {
      const std::string select = "SELECT " + kEventColumns + " FROM events WHERE id > $1";
      const auto rows = subject.empty() ? db_->execute(select + " ORDER BY id LIMIT $2", {after_id, int64_t{limit}})
                                        : db_->execute(select + " AND subject = $3 ORDER BY id LIMIT $2",
                                                       {after_id, int64_t{limit}, subject});
      out = records(rows, event_from_row);
      return Status::ok();
    });
  }

  Status create_api_key(const ApiKeyRecord& key, const std::vector<EventRecord>& events) override {
    if (!is_sha256_hex(key.secret_sha256)) return invalid_argument("secret_sha256 must be 64 lowercase hex digits");
    return write("create_api_key", [&] {
      const auto inserted = db_->execute(
          "INSERT INTO api_keys (" + kApiKeyColumns +
              ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING RETURNING id",
          {key.id, key.name, key.secret_sha256, tags_to_json(key.roles), tags_to_json(key.deployments), key.tenant,
           or_now(key.created_ms), key.expires_ms, key.revoked_ms, key.priority});
      if (inserted.empty()) return conflict("API key " + key.id + " exists");
      append_events(events);
      return Status::ok();
    });
  }

  Status revoke_api_key(const std::string& id, const std::vector<EventRecord>& events) override {
    return write("revoke_api_key", [&] {
      const auto revoked = db_->execute(
          "UPDATE api_keys SET revoked_ms = CASE WHEN revoked_ms = 0 THEN $2 ELSE revoked_ms END WHERE id = $1"
          " RETURNING id",
          {id, now_ms()});
      if (revoked.empty()) return not_found("no API key " + id);
      append_events(events);
      return Status::ok();
    });
  }

  Status list_api_keys(std::vector<ApiKeyRecord>& out) override {
    return read("list_api_keys", [&] {
      out = records(db_->execute("SELECT " + kApiKeyColumns + " FROM api_keys ORDER BY created_ms, id", {}),
                    api_key_from_row);
      return Status::ok();
    });
  }

  Status put_rate_limit_rule(const RateLimitRuleRecord& rule, const std::vector<EventRecord>& events) override {
    return write("put_rate_limit_rule", [&] {
      db_->execute(
          "INSERT INTO rate_limit_rules (name, spec_json, updated_ms) VALUES ($1, $2, $3)"
          " ON CONFLICT (name) DO UPDATE SET spec_json = excluded.spec_json, updated_ms = excluded.updated_ms",
          {rule.name, rule.spec_json, now_ms()});
      append_events(events);
      return Status::ok();
    });
  }

  Status remove_rate_limit_rule(const std::string& name, const std::vector<EventRecord>& events) override {
    return write("remove_rate_limit_rule", [&] {
      if (db_->execute("DELETE FROM rate_limit_rules WHERE name = $1 RETURNING name", {name}).empty()) {
        return not_found("no rate-limit rule '" + name + "' set through the admin API");
      }
      append_events(events);
      return Status::ok();
    });
  }

  Status list_rate_limit_rules(std::vector<RateLimitRuleRecord>& out) override {
    return read("list_rate_limit_rules", [&] {
      std::vector<RateLimitRuleRecord> rules;
      for (const auto& row : db_->execute("SELECT name, spec_json, updated_ms FROM rate_limit_rules ORDER BY name", {})) {
        RowReader column(row);
        RateLimitRuleRecord r;
        r.name = column.text();
        r.spec_json = column.text();
        r.updated_ms = column.integer();
        rules.push_back(std::move(r));
      }
      out = std::move(rules);
      return Status::ok();
    });
  }

  Status record_assignments(const std::vector<Assignment>& assignments) override {
    if (assignments.empty()) return Status::ok();
    return write("record_assignments", [&] {
      const int64_t now = now_ms();
      for (const auto& assignment : assignments) {
        db_->execute(
            "INSERT INTO experiment_assignments (request_id, experiment_id, variant, predicted_label, time_ms)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) DO NOTHING",
            {assignment.request_id, assignment.experiment_id, assignment.variant, assignment.predicted_label,
             assignment.time_ms != 0 ? assignment.time_ms : now});
      }
      return Status::ok();
    });
  }

  Status record_feedback(const Feedback& feedback) override {
    if (feedback.reward && !std::isfinite(*feedback.reward)) return invalid_argument("reward must be a finite number");
    return write("record_feedback", [&] {
      if (db_->execute("SELECT 1 FROM experiment_assignments WHERE request_id = $1", {feedback.request_id}).empty()) {
        return not_found("request " + feedback.request_id + " was not assigned to an experiment");
      }
      const auto inserted = db_->execute(
          "INSERT INTO feedback (request_id, label, reward, time_ms) VALUES ($1, $2, $3, $4)"
          " ON CONFLICT (request_id) DO NOTHING RETURNING request_id",
          {feedback.request_id, or_null(feedback.label), or_null(feedback.reward), or_now(feedback.time_ms)});
      if (inserted.empty())
        return conflict("feedback for request " + feedback.request_id + " is already recorded");
      return Status::ok();
    });
  }

  Status experiment_counts(int64_t experiment_id, std::vector<ArmCounts>& out) override {
    return read("experiment_counts", [&] {
      std::vector<ArmCounts> counts;
      if (const auto experiment = find_experiment(experiment_id)) {
        for (const auto& arm : experiment->variants) counts.push_back({.variant = arm.name});
      }
      const auto rows = db_->execute(
          R"(SELECT a.variant, COUNT(*), COUNT(f.request_id),
                    SUM(CASE WHEN f.label = a.predicted_label OR f.reward > 0 THEN 1 ELSE 0 END),
                    COALESCE(SUM(f.reward), 0)
             FROM experiment_assignments a LEFT JOIN feedback f ON f.request_id = a.request_id
             WHERE a.experiment_id = $1
             GROUP BY a.variant ORDER BY a.variant)",
          {experiment_id});
      for (const auto& row : rows) {
        RowReader column(row);
        const std::string& variant = column.text();
        auto arm = std::find_if(counts.begin(), counts.end(), [&](const ArmCounts& c) { return c.variant == variant; });
        if (arm == counts.end()) {
          counts.push_back({.variant = variant});
          arm = counts.end() - 1;
        }
        arm->requests = column.integer();
        arm->outcomes = column.integer();
        arm->successes = column.integer();
        arm->reward_sum = column.real();
      }
      out = std::move(counts);
      return Status::ok();
    });
  }

 private:
  // Runs `body` under the mutex; a database failure is logged and answered with kUnavailable.
  template <typename Body>
  Status read(std::string_view operation, Body body) {
    std::lock_guard lock(mutex_);
    try {
      return body();
    } catch (const std::exception& e) {
      return failure(operation, e.what());
    }
  }

  // Runs `body` in one write transaction: committed when it returns ok, rolled back when it returns
  // an error or throws.
  template <typename Body>
  Status write(std::string_view operation, Body body) {
    std::lock_guard lock(mutex_);
    try {
      db_->begin();
      Status status = body();
      if (!status.is_ok()) {
        db_->rollback();
        return status;
      }
      db_->commit();
      return status;
    } catch (const UnstorableValue& e) {
      db_->rollback();
      return invalid_argument(e.what());
    } catch (const std::exception& e) {
      db_->rollback();
      return failure(operation, e.what());
    }
  }

  // The database could not do what was asked: not the caller's mistake, and not an absent record.
  static Status failure(std::string_view operation, std::string_view error) {
    log_failure(operation, error);
    return unavailable("the registry failed (" + std::string(operation) + "): " + std::string(error));
  }

  // Applies the migrations this database lacks, each in its own transaction. The writer lock taken
  // by begin() makes replicas starting together apply each migration once.
  void migrate() {
    for (int version = 1; version <= static_cast<int>(kMigrations.size()); ++version) {
      db_->begin();
      try {
        db_->execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
            {});
        if (applied_migrations() < version) {
          const Migration& migration = kMigrations[version - 1];
          const auto& own = db_->dialect() == SqlDialect::kSqlite ? migration.sqlite_only : migration.postgres_only;
          for (const auto* statements : {&migration.both, &own}) {
            for (const std::string_view statement : *statements) db_->execute(for_dialect(statement, db_->dialect()), {});
          }
          db_->execute("INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                       {int64_t{version}, now_ms()});
          spdlog::info(R"({{"msg":"registry schema migrated","version":{}}})", version);
        }
        db_->commit();
      } catch (...) {
        db_->rollback();
        throw;
      }
    }
    schema_version_ = applied_migrations();
  }

  int applied_migrations() {
    const auto rows = db_->execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
    return static_cast<int>(RowReader(rows.at(0)).integer());
  }

  std::optional<ExperimentRecord> find_experiment(int64_t id) {
    const auto rows = db_->execute("SELECT " + kExperimentColumns + " FROM experiments WHERE id = $1", {id});
    if (rows.empty()) return std::nullopt;
    return experiment_from_row(rows[0]);
  }

  void upsert_deployment(const DeploymentRecord& deployment, int64_t now) {
    require_storable(deployment.variants);
    require_storable(deployment.policy.fault, "deployment " + deployment.name);
    db_->execute(
        "INSERT INTO deployments (" + kDeploymentColumns +
            ") VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (name, environment) DO UPDATE SET sticky_header = excluded.sticky_header,"
            " variants = excluded.variants, policy = excluded.policy, updated_ms = excluded.updated_ms",
        {deployment.name, deployment.environment, deployment.sticky_header, variants_to_json(deployment.variants),
         policy_to_json(deployment.policy), now});
  }

  // The rollout's id, or nullopt when it names one that does not exist. updated_ms is always now.
  std::optional<int64_t> save_rollout(const RolloutRecord& rollout, int64_t now) {
    std::vector<SqlValue> values = {rollout.deployment,
                                    rollout.environment,
                                    rollout.strategy,
                                    rollout.candidate_model,
                                    rollout.candidate_version,
                                    rollout.state,
                                    int64_t{rollout.step_index},
                                    rollout.step_started_ms,
                                    rollout.spec_json,
                                    rollout.reason,
                                    now};
    std::vector<SqlRow> rows;
    if (rollout.id == 0) {
      // The change's one clock reading: a second one could date the creation after the update.
      values.push_back(rollout.created_ms != 0 ? rollout.created_ms : now);
      rows = db_->execute(
          "INSERT INTO rollouts (deployment, environment, strategy, candidate_model, candidate_version, state,"
          " step_index, step_started_ms, spec_json, reason, updated_ms, created_ms)"
          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
          values);
    } else {
      values.push_back(or_stored(rollout.created_ms));
      values.push_back(rollout.id);
      rows = db_->execute(
          "UPDATE rollouts SET deployment = $1, environment = $2, strategy = $3, candidate_model = $4,"
          " candidate_version = $5, state = $6, step_index = $7, step_started_ms = $8, spec_json = $9,"
          " reason = $10, updated_ms = $11, created_ms = COALESCE($12, created_ms) WHERE id = $13 RETURNING id",
          values);
    }
    if (rows.empty()) return std::nullopt;
    return RowReader(rows[0]).integer();
  }

  // The experiment's id, or nullopt when it names one that does not exist.
  std::optional<int64_t> save_experiment(const ExperimentRecord& experiment, int64_t now) {
    require_storable(experiment.variants);
    std::vector<SqlValue> values = {
        experiment.name,          experiment.deployment, experiment.environment, variants_to_json(experiment.variants),
        experiment.previous_json, experiment.state,      experiment.ends_ms,     experiment.max_requests,
        experiment.reason};
    std::vector<SqlRow> rows;
    if (experiment.id == 0) {
      values.push_back(experiment.started_ms != 0 ? experiment.started_ms : now);
      rows = db_->execute(
          "INSERT INTO experiments (name, deployment, environment, variants, previous_json, state, ends_ms,"
          " max_requests, reason, started_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
          values);
    } else {
      values.push_back(or_stored(experiment.started_ms));
      values.push_back(experiment.id);
      rows = db_->execute(
          "UPDATE experiments SET name = $1, deployment = $2, environment = $3, variants = $4, previous_json = $5,"
          " state = $6, ends_ms = $7, max_requests = $8, reason = $9, started_ms = COALESCE($10, started_ms)"
          " WHERE id = $11 RETURNING id",
          values);
    }
    if (rows.empty()) return std::nullopt;
    return RowReader(rows[0]).integer();
  }

  void append_events(const std::vector<EventRecord>& events, int64_t now = now_ms()) {
    for (const auto& event : events) {
      db_->execute(
          "INSERT INTO events (time_ms, actor, kind, subject, details_json) VALUES ($1, $2, $3, $4, $5)",
          {event.time_ms != 0 ? event.time_ms : now, event.actor, event.kind, event.subject, event.details_json});
    }
  }

  std::mutex mutex_;
  std::unique_ptr<SqlConnection> db_;
  int schema_version_ = 0;
};

bool is_postgres_url(const std::string& location) {
  return location.starts_with("postgres://") || location.starts_with("postgresql://");
}

}  // namespace

std::unique_ptr<Registry> Registry::open(const std::string& location, std::string& error) {
  if (location.empty()) {
    error = "the registry location is empty";
    return nullptr;
  }
  try {
    auto db = is_postgres_url(location) ? open_postgres_connection(location) : open_sqlite_connection(location);
    return std::make_unique<SqlRegistry>(std::move(db));
  } catch (const std::exception& e) {
    error = e.what();
    spdlog::warn(R"({{"msg":"cannot open the registry","error":{}}})", json_quoted(error));
    return nullptr;
  }
}

}  // namespace seraph
