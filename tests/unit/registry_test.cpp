// The registry's behaviour, the same on both backends: every TEST_P runs against a real SQLite file
// and a real PostgreSQL database (a private server shared by the test binary, a fresh database per
// test).
#include "control/registry.h"
#include "control/sql_connection.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <thread>

#include "postgres_server.h"
#include "test_support.h"

namespace seraph {
namespace {

constexpr int kAllEvents = 1'000'000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One server for the whole binary: started by the first PostgreSQL test, stopped at exit.
testing::PostgresServer& shared_postgres() {
  static testing::PostgresServer server;
  return server;
}

enum class Backend { kSqlite, kPostgres };

const char* name_of(Backend backend) { return backend == Backend::kSqlite ? "Sqlite" : "Postgres"; }
std::string backend_name(const ::testing::TestParamInfo<Backend>& info) { return name_of(info.param); }
void PrintTo(Backend backend, std::ostream* out) { *out << name_of(backend); }

ModelVersionRecord sample_version(const std::string& model, int64_t version) {
  ModelVersionRecord record;
  record.model = model;
  record.version = version;
  record.description = "trained on the March reviews";
  record.runtime = "fasttext";
  record.tags = {"nightly", "reviewed by \"ml-team\""};
  record.metrics = {{"accuracy", 0.1 + 0.2}, {"f1", 0.85}};  // 0.30000000000000004 must round-trip
  record.artifact_sha256 = std::string(64, 'a');
  record.parent_version = version - 1;
  record.created_ms = 1'700'000'000'123;
  return record;
}

VariantRecord variant(const std::string& name, int64_t version, double weight, const std::string& role) {
  return {.name = name, .model = "sentiment", .version = version, .weight = weight, .role = role, .fault = {}};
}

DeploymentRecord sample_deployment(const std::string& environment = "production") {
  DeploymentRecord deployment;
  deployment.name = "sentiment";
  deployment.environment = environment;
  deployment.sticky_header = "X-User-Id";
  deployment.variants = {variant("baseline", 1, 90, "baseline"), variant("candidate", 2, 10, "candidate")};
  deployment.variants[1].fault = {.delay_ms = 250.5, .delay_percent = 12.5, .abort_percent = 3, .abort_status = 502};
  return deployment;
}

RolloutRecord sample_rollout() {
  RolloutRecord rollout;
  rollout.deployment = "sentiment";
  rollout.environment = "production";
  rollout.strategy = "canary";
  rollout.candidate_model = "sentiment";
  rollout.candidate_version = 2;
  rollout.state = "running";
  rollout.step_started_ms = 1'700'000'000'000;
  rollout.spec_json = R"({"steps":[5,25,50,100],"hold_ms":60000})";
  return rollout;
}

ExperimentRecord sample_experiment() {
  ExperimentRecord experiment;
  experiment.name = "button-color";
  experiment.deployment = "sentiment";
  experiment.environment = "production";
  experiment.variants = {variant("control", 1, 50, "baseline"), variant("treatment", 2, 50, "candidate")};
  experiment.previous_json = R"([{"name":"baseline","weight":100}])";
  experiment.state = "running";
  experiment.ends_ms = 1'800'000'000'000;
  experiment.max_requests = 10'000;
  return experiment;
}

EventRecord sample_event(const std::string& subject, const std::string& details_json = "{}") {
  return {.id = 0,
          .time_ms = 0,
          .actor = "admin",
          .kind = "deployment.updated",
          .subject = subject,
          .details_json = details_json};
}

void expect_same_variants(const std::vector<VariantRecord>& actual, const std::vector<VariantRecord>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("variant " + expected[i].name);
    EXPECT_EQ(actual[i].name, expected[i].name);
    EXPECT_EQ(actual[i].model, expected[i].model);
    EXPECT_EQ(actual[i].version, expected[i].version);
    EXPECT_EQ(actual[i].weight, expected[i].weight);
    EXPECT_EQ(actual[i].role, expected[i].role);
    EXPECT_EQ(actual[i].fault.delay_ms, expected[i].fault.delay_ms);
    EXPECT_EQ(actual[i].fault.delay_percent, expected[i].fault.delay_percent);
    EXPECT_EQ(actual[i].fault.abort_percent, expected[i].fault.abort_percent);
    EXPECT_EQ(actual[i].fault.abort_status, expected[i].fault.abort_status);
  }
}

// What a read that must succeed gives; the test fails with the registry's message when it does not.
template <class Out, class Read>
Out must_read(Read read) {
  Out out{};
  const Status status = read(out);
  EXPECT_TRUE(status.is_ok()) << status.message();
  return out;
}

ModelVersionRecord stored_version(Registry& registry, const std::string& model, int64_t version) {
  return must_read<ModelVersionRecord>([&](auto& out) { return registry.get_version(model, version, out); });
}
std::vector<ModelVersionRecord> stored_versions(Registry& registry, const std::string& model) {
  return must_read<std::vector<ModelVersionRecord>>([&](auto& out) { return registry.list_versions(model, out); });
}
DeploymentRecord stored_deployment(Registry& registry, const std::string& name = "sentiment",
                                   const std::string& environment = "production") {
  return must_read<DeploymentRecord>([&](auto& out) { return registry.get_deployment(name, environment, out); });
}
std::vector<DeploymentRecord> stored_deployments(Registry& registry) {
  return must_read<std::vector<DeploymentRecord>>([&](auto& out) { return registry.list_deployments(out); });
}
RolloutRecord stored_rollout(Registry& registry, int64_t id) {
  return must_read<RolloutRecord>([&](auto& out) { return registry.get_rollout(id, out); });
}
std::vector<RolloutRecord> stored_rollouts(Registry& registry) {
  return must_read<std::vector<RolloutRecord>>([&](auto& out) { return registry.list_rollouts(out); });
}
ExperimentRecord stored_experiment(Registry& registry, int64_t id) {
  return must_read<ExperimentRecord>([&](auto& out) { return registry.get_experiment(id, out); });
}
std::vector<ExperimentRecord> stored_experiments(Registry& registry) {
  return must_read<std::vector<ExperimentRecord>>([&](auto& out) { return registry.list_experiments(out); });
}
std::vector<EventRecord> stored_events(Registry& registry, int64_t after_id, int limit, const std::string& subject) {
  return must_read<std::vector<EventRecord>>(
      [&](auto& out) { return registry.list_events(after_id, limit, subject, out); });
}
std::vector<ArmCounts> stored_counts(Registry& registry, int64_t experiment_id) {
  return must_read<std::vector<ArmCounts>>([&](auto& out) { return registry.experiment_counts(experiment_id, out); });
}

bool version_is_absent(Registry& registry, const std::string& model, int64_t version) {
  ModelVersionRecord out;
  return registry.get_version(model, version, out).code() == StatusCode::kNotFound;
}
bool deployment_is_absent(Registry& registry) {
  DeploymentRecord out;
  return registry.get_deployment("sentiment", "production", out).code() == StatusCode::kNotFound;
}

std::vector<int64_t> ids_of(const std::vector<EventRecord>& events) {
  std::vector<int64_t> ids;
  for (const auto& event : events) ids.push_back(event.id);
  return ids;
}

class RegistryTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    location_ = fresh_location();
    registry_ = open();
    ASSERT_NE(registry_, nullptr);
  }

  // A database nothing has opened yet.
  std::string fresh_location() {
    if (GetParam() == Backend::kPostgres) return shared_postgres().fresh_database_url();
    return (dir_ / ("registry-" + std::to_string(++sqlite_files_) + ".db")).string();
  }

  std::unique_ptr<Registry> open(const std::string& location) {
    std::string error;
    auto registry = Registry::open(location, error);
    EXPECT_NE(registry, nullptr) << error;
    return registry;
  }
  std::unique_ptr<Registry> open() { return open(location_); }
  // Closes the registry and opens the same database again.
  void reopen() {
    registry_.reset();
    registry_ = open();
    ASSERT_NE(registry_, nullptr);
  }

  Status apply_deployment(const DeploymentRecord& deployment) {
    RegistryChange change;
    change.deployment = deployment;
    return registry_->apply(change);
  }

  // Creates the rollout when its id is 0; returns its id.
  int64_t save_rollout(const RolloutRecord& rollout = sample_rollout()) {
    RegistryChange change;
    change.rollout = rollout;
    ChangeResult result;
    EXPECT_TRUE(registry_->apply(change, &result).is_ok());
    return result.rollout_id;
  }

  // Creates the experiment when its id is 0; returns its id.
  int64_t save_experiment(const ExperimentRecord& experiment = sample_experiment()) {
    RegistryChange change;
    change.experiment = experiment;
    ChangeResult result;
    EXPECT_TRUE(registry_->apply(change, &result).is_ok());
    return result.experiment_id;
  }

  Status append_events(std::vector<EventRecord> events) {
    RegistryChange change;
    change.events = std::move(events);
    return registry_->apply(change);
  }

  testing::TempDir dir_;
  int sqlite_files_ = 0;
  std::string location_;
  std::unique_ptr<Registry> registry_;
};

INSTANTIATE_TEST_SUITE_P(Backends, RegistryTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres), backend_name);

// ---- Schema

// Replicas sharing a database may start at the same moment.
TEST_P(RegistryTest, RegistriesOpeningANewDatabaseTogetherMigrateItOnce) {
  const std::string location = fresh_location();
  std::vector<std::unique_ptr<Registry>> replicas(4);
  std::vector<std::thread> openers;
  for (auto& replica : replicas) openers.emplace_back([&] { replica = open(location); });
  for (auto& opener : openers) opener.join();
  for (const auto& replica : replicas) {
    ASSERT_NE(replica, nullptr);
    EXPECT_EQ(replica->schema_version(), registry_->schema_version());
  }
}

TEST_P(RegistryTest, OpeningMigratesTheSchemaAndReopeningKeepsItsVersion) {
  const int version = registry_->schema_version();
  EXPECT_GE(version, 1);
  reopen();
  EXPECT_EQ(registry_->schema_version(), version);
  reopen();
  EXPECT_EQ(registry_->schema_version(), version);
}

// ---- Model versions

TEST_P(RegistryTest, RegisteredVersionKeepsAllItsMetadata) {
  const ModelVersionRecord registered = sample_version("sentiment", 2);
  ASSERT_TRUE(registry_->register_version(registered).is_ok());

  const auto stored = stored_version(*registry_, "sentiment", 2);
  EXPECT_EQ(stored.model, "sentiment");
  EXPECT_EQ(stored.version, 2);
  EXPECT_EQ(stored.description, registered.description);
  EXPECT_EQ(stored.runtime, "fasttext");
  EXPECT_EQ(stored.tags, registered.tags);
  EXPECT_EQ(stored.metrics, registered.metrics);
  EXPECT_EQ(stored.artifact_sha256, registered.artifact_sha256);
  EXPECT_EQ(stored.parent_version, std::optional<int64_t>(1));
  EXPECT_EQ(stored.created_ms, 1'700'000'000'123);
  EXPECT_FALSE(stored.archived);
}

TEST_P(RegistryTest, VersionWithoutParentOrDigestOrTimeGetsTheTimeOfRegistration) {
  ModelVersionRecord record = sample_version("sentiment", 1);
  record.parent_version.reset();
  record.artifact_sha256.clear();
  record.tags.clear();
  record.metrics.clear();
  record.created_ms = 0;
  const int64_t before = now_ms();
  ASSERT_TRUE(registry_->register_version(record).is_ok());

  const auto stored = stored_version(*registry_, "sentiment", 1);
  EXPECT_FALSE(stored.parent_version.has_value());
  EXPECT_EQ(stored.artifact_sha256, "");
  EXPECT_TRUE(stored.tags.empty());
  EXPECT_TRUE(stored.metrics.empty());
  EXPECT_GE(stored.created_ms, before);
  EXPECT_LE(stored.created_ms, now_ms());
}

TEST_P(RegistryTest, RegisteringAnExistingVersionIsRejectedAndKeepsTheFirst) {
  ASSERT_TRUE(registry_->register_version(sample_version("sentiment", 1)).is_ok());
  ModelVersionRecord again = sample_version("sentiment", 1);
  again.description = "a different model";

  const Status status = registry_->register_version(again);
  EXPECT_EQ(status.code(), StatusCode::kConflict);
  EXPECT_NE(status.message().find("already registered"), std::string::npos) << status.message();
  EXPECT_EQ(stored_version(*registry_, "sentiment", 1).description, "trained on the March reviews");
}

TEST_P(RegistryTest, MalformedDigestOrNonFiniteMetricIsRejected) {
  ModelVersionRecord uppercase = sample_version("sentiment", 1);
  uppercase.artifact_sha256 = std::string(64, 'A');
  EXPECT_EQ(registry_->register_version(uppercase).code(), StatusCode::kInvalidArgument);

  ModelVersionRecord not_a_number = sample_version("sentiment", 1);
  not_a_number.metrics["accuracy"] = std::nan("");
  EXPECT_EQ(registry_->register_version(not_a_number).code(), StatusCode::kInvalidArgument);

  EXPECT_TRUE(version_is_absent(*registry_, "sentiment", 1));
}

TEST_P(RegistryTest, ListVersionsFiltersByModelInVersionOrder) {
  ASSERT_TRUE(registry_->register_version(sample_version("sentiment", 2)).is_ok());
  ASSERT_TRUE(registry_->register_version(sample_version("cancer", 1)).is_ok());
  ASSERT_TRUE(registry_->register_version(sample_version("sentiment", 1)).is_ok());

  const auto sentiment = stored_versions(*registry_, "sentiment");
  ASSERT_EQ(sentiment.size(), 2u);
  EXPECT_EQ(sentiment[0].version, 1);
  EXPECT_EQ(sentiment[1].version, 2);

  const auto all = stored_versions(*registry_, "");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].model, "cancer");
  EXPECT_EQ(all[1].model, "sentiment");
  EXPECT_EQ(all[2].model, "sentiment");

  EXPECT_TRUE(stored_versions(*registry_, "unknown").empty());
}

TEST_P(RegistryTest, ArchivingMarksTheVersionAndUnknownVersionsAreNotFound) {
  ASSERT_TRUE(registry_->register_version(sample_version("sentiment", 1)).is_ok());
  ASSERT_TRUE(registry_->archive_version("sentiment", 1).is_ok());
  EXPECT_TRUE(stored_version(*registry_, "sentiment", 1).archived);

  EXPECT_EQ(registry_->archive_version("sentiment", 7).code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->archive_version("unknown", 1).code(), StatusCode::kNotFound);
}

TEST_P(RegistryTest, UnknownRecordsAreNotFound) {
  EXPECT_TRUE(version_is_absent(*registry_, "sentiment", 1));
  EXPECT_TRUE(deployment_is_absent(*registry_));
  RolloutRecord rollout;
  const Status no_rollout = registry_->get_rollout(1, rollout);
  EXPECT_EQ(no_rollout.code(), StatusCode::kNotFound);
  EXPECT_EQ(no_rollout.message(), "no rollout 1");
  ExperimentRecord experiment;
  EXPECT_EQ(registry_->get_experiment(1, experiment).code(), StatusCode::kNotFound);
  EXPECT_TRUE(stored_deployments(*registry_).empty());
  EXPECT_TRUE(stored_rollouts(*registry_).empty());
  EXPECT_TRUE(stored_experiments(*registry_).empty());
  EXPECT_TRUE(stored_events(*registry_, 0, kAllEvents, "").empty());
}

// ---- A database that fails

// Another writer, going round the registry, with plain SQL on the same database.
std::unique_ptr<SqlConnection> second_connection(Backend backend, const std::string& location) {
  return backend == Backend::kPostgres ? open_postgres_connection(location) : open_sqlite_connection(location);
}

TEST_P(RegistryTest, ReadsOfTablesTheDatabaseLostAreUnavailableNotAbsent) {
  auto db = second_connection(GetParam(), location_);
  for (const char* table :
       {"feedback", "experiment_assignments", "events", "experiments", "rollouts", "deployments", "model_versions"}) {
    db->execute(std::string("DROP TABLE ") + table);
  }
  const auto expect_unavailable = [](const Status& status, const std::string& operation) {
    EXPECT_EQ(status.code(), StatusCode::kUnavailable) << operation << ": " << status.message();
    EXPECT_NE(status.message().find(operation), std::string::npos) << status.message();
  };
  ModelVersionRecord version;
  expect_unavailable(registry_->get_version("sentiment", 1, version), "get_version");
  std::vector<ModelVersionRecord> versions;
  expect_unavailable(registry_->list_versions("", versions), "list_versions");
  DeploymentRecord deployment;
  expect_unavailable(registry_->get_deployment("sentiment", "production", deployment), "get_deployment");
  std::vector<DeploymentRecord> deployments;
  expect_unavailable(registry_->list_deployments(deployments), "list_deployments");
  RolloutRecord rollout;
  expect_unavailable(registry_->get_rollout(1, rollout), "get_rollout");
  std::vector<RolloutRecord> rollouts;
  expect_unavailable(registry_->list_rollouts(rollouts), "list_rollouts");
  ExperimentRecord experiment;
  expect_unavailable(registry_->get_experiment(1, experiment), "get_experiment");
  std::vector<ExperimentRecord> experiments;
  expect_unavailable(registry_->list_experiments(experiments), "list_experiments");
  std::vector<EventRecord> events;
  expect_unavailable(registry_->list_events(0, 10, "", events), "list_events");
  std::vector<ArmCounts> counts;
  expect_unavailable(registry_->experiment_counts(1, counts), "experiment_counts");
}

TEST_P(RegistryTest, AStoredDeploymentThatCannotBeReadIsUnavailableNotAbsent) {
  ASSERT_TRUE(apply_deployment(sample_deployment()).is_ok());
  second_connection(GetParam(), location_)->execute("UPDATE deployments SET variants = 'not JSON'");

  DeploymentRecord deployment;
  const Status status = registry_->get_deployment("sentiment", "production", deployment);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("variants"), std::string::npos) << status.message();
  std::vector<DeploymentRecord> deployments;
  EXPECT_EQ(registry_->list_deployments(deployments).code(), StatusCode::kUnavailable);
}

TEST_P(RegistryTest, RegisteringAndArchivingAVersionAppendTheirEventsInTheSameTransaction) {
  ASSERT_TRUE(registry_->register_version(sample_version("sentiment", 1), {sample_event("model/sentiment/1")}).is_ok());
  ASSERT_TRUE(registry_->archive_version("sentiment", 1, {sample_event("model/sentiment/1")}).is_ok());
  EXPECT_EQ(stored_events(*registry_, 0, kAllEvents, "model/sentiment/1").size(), 2u);
  ASSERT_TRUE(registry_->register_version(sample_version("sentiment", 2)).is_ok());

  // The event log is gone: neither change may happen without its event.
  second_connection(GetParam(), location_)->execute("ALTER TABLE events RENAME TO events_elsewhere");
  EXPECT_EQ(registry_->register_version(sample_version("sentiment", 3), {sample_event("model/sentiment/3")}).code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(version_is_absent(*registry_, "sentiment", 3));
  EXPECT_EQ(registry_->archive_version("sentiment", 2, {sample_event("model/sentiment/2")}).code(),
            StatusCode::kUnavailable);
  EXPECT_FALSE(stored_version(*registry_, "sentiment", 2).archived);
}

// ---- Deployments

TEST_P(RegistryTest, DeploymentKeepsItsVariantsAndFaultSpecs) {
  const int64_t before = now_ms();
  ASSERT_TRUE(apply_deployment(sample_deployment()).is_ok());

  const auto stored = stored_deployment(*registry_);
  EXPECT_EQ(stored.sticky_header, "X-User-Id");
  expect_same_variants(stored.variants, sample_deployment().variants);
  EXPECT_GE(stored.updated_ms, before);
}

TEST_P(RegistryTest, DeploymentKeepsItsPriorityFaultAndFallbackChain) {
  DeploymentRecord deployment = sample_deployment();
  deployment.policy.priority = "low";
  deployment.policy.fault = {.delay_ms = 40, .delay_percent = 50, .abort_percent = 1, .abort_status = 504};
  deployment.policy.fallback = {
      {.kind = FallbackStep::Kind::kVariant, .variant = "baseline"},
      {.kind = FallbackStep::Kind::kStaleCache},
      {.kind = FallbackStep::Kind::kDefaultAnswer, .answer_json = R"({"outputs":[{"name":"label","datatype":"BYTES","shape":[1],"data":["unknown"]}]})"}};
  ASSERT_TRUE(apply_deployment(deployment).is_ok());

  const DeploymentPolicy stored = stored_deployment(*registry_).policy;
  EXPECT_EQ(stored.priority, "low");
  EXPECT_EQ(stored.fault.delay_ms, 40);
  EXPECT_EQ(stored.fault.abort_status, 504);
  ASSERT_EQ(stored.fallback.size(), 3u);
  EXPECT_EQ(stored.fallback[0].kind, FallbackStep::Kind::kVariant);
  EXPECT_EQ(stored.fallback[0].variant, "baseline");
  EXPECT_EQ(stored.fallback[1].kind, FallbackStep::Kind::kStaleCache);
  EXPECT_EQ(stored.fallback[2].kind, FallbackStep::Kind::kDefaultAnswer);
  EXPECT_EQ(stored.fallback[2].answer_json, deployment.policy.fallback[2].answer_json);
}

TEST_P(RegistryTest, DeploymentUpsertReplacesTheOneOfTheSameEnvironment) {
  ASSERT_TRUE(apply_deployment(sample_deployment("production")).is_ok());
  ASSERT_TRUE(apply_deployment(sample_deployment("staging")).is_ok());
  DeploymentRecord promoted = sample_deployment("production");
  promoted.sticky_header = "";
  promoted.variants = {variant("baseline", 2, 100, "baseline")};
  ASSERT_TRUE(apply_deployment(promoted).is_ok());

  const auto deployments = stored_deployments(*registry_);
  ASSERT_EQ(deployments.size(), 2u);
  EXPECT_EQ(deployments[0].environment, "production");
  EXPECT_EQ(deployments[0].sticky_header, "");
  expect_same_variants(deployments[0].variants, promoted.variants);
  EXPECT_EQ(deployments[1].environment, "staging");
  expect_same_variants(deployments[1].variants, sample_deployment().variants);
}

// ---- Rollouts

TEST_P(RegistryTest, CreatedRolloutsGetIncreasingIdsAndAreListedNewestFirst) {
  const int64_t first = save_rollout();
  const int64_t second = save_rollout();
  const int64_t third = save_rollout();
  EXPECT_GT(first, 0);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);

  const auto rollouts = stored_rollouts(*registry_);
  ASSERT_EQ(rollouts.size(), 3u);
  EXPECT_EQ(rollouts[0].id, third);
  EXPECT_EQ(rollouts[2].id, first);
}

TEST_P(RegistryTest, CreatedRolloutKeepsItsFieldsAndGetsItsTimes) {
  const int64_t before = now_ms();
  const int64_t id = save_rollout();

  const auto stored = stored_rollout(*registry_, id);
  const RolloutRecord expected = sample_rollout();
  EXPECT_EQ(stored.id, id);
  EXPECT_EQ(stored.deployment, expected.deployment);
  EXPECT_EQ(stored.environment, expected.environment);
  EXPECT_EQ(stored.strategy, expected.strategy);
  EXPECT_EQ(stored.candidate_model, expected.candidate_model);
  EXPECT_EQ(stored.candidate_version, expected.candidate_version);
  EXPECT_EQ(stored.state, "running");
  EXPECT_EQ(stored.step_index, 0);
  EXPECT_EQ(stored.step_started_ms, expected.step_started_ms);
  EXPECT_EQ(stored.spec_json, expected.spec_json);
  EXPECT_EQ(stored.reason, "");
  EXPECT_GE(stored.created_ms, before);
  EXPECT_EQ(stored.updated_ms, stored.created_ms) << "one change, one instant";
}

TEST_P(RegistryTest, UpdatingARolloutReplacesItAndKeepsItsCreationTime) {
  const int64_t id = save_rollout();
  RolloutRecord update = stored_rollout(*registry_, id);
  const int64_t created_ms = update.created_ms;
  update.created_ms = 0;  // keeps the stored one
  update.state = "rolled_back";
  update.step_index = 2;
  update.reason = "error rate 4.1% over the 1% threshold";

  EXPECT_EQ(save_rollout(update), id);

  const auto stored = stored_rollout(*registry_, id);
  EXPECT_EQ(stored.state, "rolled_back");
  EXPECT_EQ(stored.step_index, 2);
  EXPECT_EQ(stored.reason, update.reason);
  EXPECT_EQ(stored.created_ms, created_ms);
  EXPECT_EQ(stored_rollouts(*registry_).size(), 1u);
}

// ---- Experiments

TEST_P(RegistryTest, ExperimentIsCreatedWithItsArmsAndReplacedOnUpdate) {
  const int64_t before = now_ms();
  const int64_t id = save_experiment();
  EXPECT_GT(id, 0);

  auto stored = stored_experiment(*registry_, id);
  const ExperimentRecord expected = sample_experiment();
  EXPECT_EQ(stored.name, expected.name);
  EXPECT_EQ(stored.deployment, expected.deployment);
  EXPECT_EQ(stored.environment, expected.environment);
  expect_same_variants(stored.variants, expected.variants);
  EXPECT_EQ(stored.previous_json, expected.previous_json);
  EXPECT_EQ(stored.state, "running");
  EXPECT_GE(stored.started_ms, before);
  EXPECT_EQ(stored.ends_ms, expected.ends_ms);
  EXPECT_EQ(stored.max_requests, expected.max_requests);

  ExperimentRecord stopped = stored;
  const int64_t started_ms = stopped.started_ms;
  stopped.started_ms = 0;  // keeps the stored one
  stopped.state = "stopped";
  stopped.reason = "max_requests reached";
  EXPECT_EQ(save_experiment(stopped), id);
  stored = stored_experiment(*registry_, id);
  EXPECT_EQ(stored.state, "stopped");
  EXPECT_EQ(stored.reason, "max_requests reached");
  EXPECT_EQ(stored.started_ms, started_ms);
}

TEST_P(RegistryTest, ExperimentsAreListedNewestFirst) {
  const int64_t first = save_experiment();
  const int64_t second = save_experiment();
  EXPECT_LT(first, second);
  const auto experiments = stored_experiments(*registry_);
  ASSERT_EQ(experiments.size(), 2u);
  EXPECT_EQ(experiments[0].id, second);
  EXPECT_EQ(experiments[1].id, first);
}

// ---- One change, one transaction

TEST_P(RegistryTest, ChangeIsWrittenWholeWithItsIds) {
  RegistryChange change;
  change.deployment = sample_deployment();
  change.rollout = sample_rollout();
  change.experiment = sample_experiment();
  change.events = {sample_event("production/sentiment"), sample_event("rollout/1")};
  ChangeResult result;
  const Status status = registry_->apply(change, &result);
  ASSERT_TRUE(status.is_ok()) << status.message();
  EXPECT_EQ(stored_deployment(*registry_).name, "sentiment");
  EXPECT_EQ(stored_rollout(*registry_, result.rollout_id).id, result.rollout_id);
  EXPECT_EQ(stored_experiment(*registry_, result.experiment_id).id, result.experiment_id);
  EXPECT_EQ(stored_events(*registry_, 0, kAllEvents, "").size(), 2u);
}

TEST_P(RegistryTest, ChangeNamingAMissingRolloutWritesNothing) {
  RegistryChange change;
  change.deployment = sample_deployment();
  change.rollout = sample_rollout();
  change.rollout->id = 999;
  change.events = {sample_event("rollout/999")};
  const Status status = registry_->apply(change);

  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("rollout 999"), std::string::npos) << status.message();
  EXPECT_TRUE(deployment_is_absent(*registry_));
  EXPECT_TRUE(stored_rollouts(*registry_).empty());
  EXPECT_TRUE(stored_events(*registry_, 0, kAllEvents, "").empty());
}

TEST_P(RegistryTest, ChangeNamingAMissingExperimentWritesNothing) {
  RegistryChange change;
  change.deployment = sample_deployment();
  change.rollout = sample_rollout();
  change.experiment = sample_experiment();
  change.experiment->id = 999;
  change.events = {sample_event("experiment/999")};
  const Status status = registry_->apply(change);

  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_TRUE(deployment_is_absent(*registry_));
  EXPECT_TRUE(stored_rollouts(*registry_).empty());
  EXPECT_TRUE(stored_events(*registry_, 0, kAllEvents, "").empty());
}

TEST_P(RegistryTest, ChangeWithAnUnstorableWeightWritesNothing) {
  RegistryChange change;
  change.deployment = sample_deployment();
  change.experiment = sample_experiment();
  change.experiment->variants[0].weight = std::numeric_limits<double>::infinity();
  change.events = {sample_event("production/sentiment")};
  const Status status = registry_->apply(change);

  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(deployment_is_absent(*registry_));
  EXPECT_TRUE(stored_events(*registry_, 0, kAllEvents, "").empty());
}

// ---- Events

TEST_P(RegistryTest, TheDatabaseItselfRefusesToChangeOrDeleteEvents) {
  RegistryChange change;
  change.events.push_back({0, 0, "admin", "deployment.created", "deployment/production/s", "{}"});
  ASSERT_TRUE(registry_->apply(change).is_ok());
  auto db = second_connection(GetParam(), location_);
  EXPECT_THROW(db->execute("UPDATE events SET actor = 'someone else'"), SqlError);
  EXPECT_THROW(db->execute("DELETE FROM events"), SqlError);
  EXPECT_EQ(stored_events(*registry_, 0, 10, "").size(), 1u);
  EXPECT_EQ(stored_events(*registry_, 0, 10, "")[0].actor, "admin");
}

TEST_P(RegistryTest, EventsGetConsecutiveIdsAndTheTimeOfAppending) {
  const int64_t before = now_ms();
  ASSERT_TRUE(append_events({sample_event("production/sentiment", R"({"step":1})")}).is_ok());
  ASSERT_TRUE(append_events({sample_event("rollout/1"), sample_event("rollout/1")}).is_ok());
  EventRecord dated = sample_event("rollout/1");
  dated.time_ms = 1'600'000'000'000;
  ASSERT_TRUE(append_events({dated}).is_ok());

  const auto events = stored_events(*registry_, 0, kAllEvents, "");
  ASSERT_EQ(events.size(), 4u);
  for (size_t i = 1; i < events.size(); ++i) EXPECT_EQ(events[i].id, events[i - 1].id + 1);
  EXPECT_EQ(events[0].actor, "admin");
  EXPECT_EQ(events[0].kind, "deployment.updated");
  EXPECT_EQ(events[0].subject, "production/sentiment");
  EXPECT_EQ(events[0].details_json, R"({"step":1})");
  EXPECT_GE(events[0].time_ms, before);
  EXPECT_EQ(events[3].time_ms, 1'600'000'000'000);
}

TEST_P(RegistryTest, EventsAreListedAfterAnIdBySubjectUpToALimit) {
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(append_events({sample_event(i % 2 ? "rollout/1" : "rollout/2")}).is_ok());
  const auto all = ids_of(stored_events(*registry_, 0, kAllEvents, ""));
  ASSERT_EQ(all.size(), 6u);

  EXPECT_EQ(ids_of(stored_events(*registry_, all[2], kAllEvents, "")),
            std::vector<int64_t>(all.begin() + 3, all.end()));
  EXPECT_EQ(ids_of(stored_events(*registry_, 0, 2, "")), std::vector<int64_t>(all.begin(), all.begin() + 2));
  EXPECT_EQ(ids_of(stored_events(*registry_, 0, kAllEvents, "rollout/1")),
            (std::vector<int64_t>{all[1], all[3], all[5]}));
  EXPECT_EQ(ids_of(stored_events(*registry_, all[1], 1, "rollout/1")), std::vector<int64_t>{all[3]});
  EXPECT_TRUE(stored_events(*registry_, all[5], kAllEvents, "").empty());
  EXPECT_TRUE(stored_events(*registry_, 0, 0, "").empty());
  EXPECT_TRUE(stored_events(*registry_, 0, kAllEvents, "rollout/3").empty());
}

TEST_P(RegistryTest, ConcurrentWritersGetDistinctConsecutiveEventIds) {
  constexpr int kThreads = 4;
  constexpr int kChangesPerThread = 20;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kChangesPerThread; ++i) {
        EXPECT_TRUE(append_events({sample_event("writer/" + std::to_string(t))}).is_ok());
      }
    });
  }
  for (auto& writer : writers) writer.join();

  const auto ids = ids_of(stored_events(*registry_, 0, kAllEvents, ""));
  ASSERT_EQ(ids.size(), size_t{kThreads * kChangesPerThread});
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(ids[i], ids[i - 1] + 1);
}

// Writers commit in id order, so a reader following the log with after_id never skips an event,
// even with several registries (replicas) writing to the same database.
TEST_P(RegistryTest, FollowingTheEventsWhileReplicasWriteMissesNone) {
  constexpr int kReplicas = 2;
  constexpr int kEventsPerReplica = 30;
  std::atomic<int> writing = kReplicas;
  std::vector<std::thread> writers;
  for (int r = 0; r < kReplicas; ++r) {
    writers.emplace_back([&, r] {
      if (const auto replica = open()) {
        for (int i = 0; i < kEventsPerReplica; ++i) {
          RegistryChange change;
          change.events = {sample_event("replica/" + std::to_string(r))};
          EXPECT_TRUE(replica->apply(change).is_ok());
        }
      }
      --writing;
    });
  }
  std::vector<int64_t> followed;
  while (true) {
    const bool written = writing == 0;  // before reading: then this read sees every event
    const auto events = stored_events(*registry_, followed.empty() ? 0 : followed.back(), 7, "");
    for (const auto& event : events) followed.push_back(event.id);
    if (written && events.empty()) break;
  }
  for (auto& writer : writers) writer.join();

  EXPECT_EQ(followed.size(), size_t{kReplicas * kEventsPerReplica});
  EXPECT_EQ(followed, ids_of(stored_events(*registry_, 0, kAllEvents, "")));
}

// ---- Experiment assignments and feedback

TEST_P(RegistryTest, ARequestIdKeepsItsFirstAssignment) {
  ASSERT_TRUE(registry_->record_assignments({{"r1", 1, "control", "positive", 0}}).is_ok());
  ASSERT_TRUE(
      registry_->record_assignments({{"r1", 1, "treatment", "negative", 0}, {"r2", 1, "treatment", "", 0}}).is_ok());
  ASSERT_TRUE(registry_->record_assignments({}).is_ok());

  const auto counts = stored_counts(*registry_, 1);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].variant, "control");
  EXPECT_EQ(counts[0].requests, 1);
  EXPECT_EQ(counts[1].variant, "treatment");
  EXPECT_EQ(counts[1].requests, 1);
}

// --- API keys ----------------------------------------------------------------------------------------

ApiKeyRecord sample_key(const std::string& id) {
  return {id, "billing-service", std::string(64, 'b'), {"predictor", "reader"}, {"sentiment"}, "acme", 0, 0, 0, ""};
}

TEST_P(RegistryTest, ApiKeysAreStoredWithTheirHashAndListedOldestFirst) {
  ASSERT_TRUE(registry_->create_api_key(sample_key("k2"), {{0, 0, "admin", "api_key.created", "api_key/k2", "{}"}}).is_ok());
  ApiKeyRecord later = sample_key("k1");
  later.created_ms = now_ms() + 1000;
  later.expires_ms = 1'900'000'000'000;
  later.priority = "low";
  ASSERT_TRUE(registry_->create_api_key(later).is_ok());
  std::vector<ApiKeyRecord> keys;
  ASSERT_TRUE(registry_->list_api_keys(keys).is_ok());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, "k2");
  EXPECT_EQ(keys[0].secret_sha256, std::string(64, 'b'));
  EXPECT_EQ(keys[0].roles, (std::vector<std::string>{"predictor", "reader"}));
  EXPECT_EQ(keys[0].deployments, (std::vector<std::string>{"sentiment"}));
  EXPECT_EQ(keys[0].tenant, "acme");
  EXPECT_GT(keys[0].created_ms, 0) << "the registry stamps the creation time";
  EXPECT_EQ(keys[1].expires_ms, 1'900'000'000'000);
  EXPECT_EQ(keys[0].priority, "") << "no priority unless one is set";
  EXPECT_EQ(keys[1].priority, "low");
  std::vector<EventRecord> events;
  ASSERT_TRUE(registry_->list_events(0, kAllEvents, "api_key/k2", events).is_ok());
  EXPECT_EQ(events.size(), 1u) << "the event is written with the key";
}

TEST_P(RegistryTest, AnApiKeyIdIsUniqueAndItsHashMustBeWellFormed) {
  ASSERT_TRUE(registry_->create_api_key(sample_key("k1")).is_ok());
  EXPECT_EQ(registry_->create_api_key(sample_key("k1")).code(), StatusCode::kConflict);
  ApiKeyRecord bad = sample_key("k2");
  bad.secret_sha256 = "not a digest";
  EXPECT_EQ(registry_->create_api_key(bad).code(), StatusCode::kInvalidArgument);
}

TEST_P(RegistryTest, RevokingAKeyKeepsItsFirstRevocationTime) {
  ASSERT_TRUE(registry_->create_api_key(sample_key("k1")).is_ok());
  EXPECT_EQ(registry_->revoke_api_key("nope").code(), StatusCode::kNotFound);
  ASSERT_TRUE(registry_->revoke_api_key("k1").is_ok());
  std::vector<ApiKeyRecord> keys;
  ASSERT_TRUE(registry_->list_api_keys(keys).is_ok());
  const int64_t first = keys.at(0).revoked_ms;
  EXPECT_GT(first, 0);
  ASSERT_TRUE(registry_->revoke_api_key("k1").is_ok());
  ASSERT_TRUE(registry_->list_api_keys(keys).is_ok());
  EXPECT_EQ(keys.at(0).revoked_ms, first);
}

TEST_P(RegistryTest, FeedbackForAnUnassignedRequestIsNotFound) {
  const Status status = registry_->record_feedback({"nobody", "positive", {}, 0});
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
}

TEST_P(RegistryTest, SecondFeedbackForARequestIsRejectedAndCountsOnce) {
  ASSERT_TRUE(registry_->record_assignments({{"r1", 1, "control", "positive", 0}}).is_ok());
  ASSERT_TRUE(registry_->record_feedback({"r1", "positive", {}, 0}).is_ok());

  const Status again = registry_->record_feedback({"r1", "negative", 1.0, 0});
  EXPECT_EQ(again.code(), StatusCode::kConflict);
  const auto counts = stored_counts(*registry_, 1);
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].outcomes, 1);
  EXPECT_EQ(counts[0].successes, 1);
  EXPECT_EQ(counts[0].reward_sum, 0);
}

TEST_P(RegistryTest, NonFiniteRewardIsRejected) {
  ASSERT_TRUE(registry_->record_assignments({{"r1", 1, "control", "positive", 0}}).is_ok());
  const Status status = registry_->record_feedback({"r1", {}, std::nan(""), 0});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
}

// Success: the true label equals the predicted one, or the reward is positive.
TEST_P(RegistryTest, ExperimentCountsAreReportedPerArmInArmOrder) {
  ExperimentRecord experiment = sample_experiment();
  experiment.variants.push_back(variant("idle", 3, 0, "candidate"));
  const int64_t id = save_experiment(experiment);
  ASSERT_TRUE(registry_
                  ->record_assignments({{"c1", id, "control", "positive", 0},
                                        {"c2", id, "control", "negative", 0},
                                        {"c3", id, "control", "positive", 0},
                                        {"t1", id, "treatment", "positive", 0},
                                        {"t2", id, "treatment", "positive", 0},
                                        {"s1", id, "stray", "positive", 0},
                                        {"other", id + 1, "control", "positive", 0}})
                  .is_ok());
  const auto feedback = [&](const std::string& request_id, std::optional<std::string> label,
                            std::optional<double> reward) {
    ASSERT_TRUE(registry_->record_feedback({request_id, std::move(label), reward, 0}).is_ok()) << request_id;
  };
  feedback("c1", "positive", {});  // label matches: success
  feedback("c2", "positive", {});  // label differs
  feedback("t1", {}, 0.1);         // positive reward: success
  feedback("t2", "negative", -0.25);
  feedback("other", "positive", {});

  const auto counts = stored_counts(*registry_, id);
  ASSERT_EQ(counts.size(), 4u);
  EXPECT_EQ(counts[0].variant, "control");
  EXPECT_EQ(counts[0].requests, 3);
  EXPECT_EQ(counts[0].outcomes, 2);
  EXPECT_EQ(counts[0].successes, 1);
  EXPECT_EQ(counts[0].reward_sum, 0);
  EXPECT_EQ(counts[1].variant, "treatment");
  EXPECT_EQ(counts[1].requests, 2);
  EXPECT_EQ(counts[1].outcomes, 2);
  EXPECT_EQ(counts[1].successes, 1);
  EXPECT_EQ(counts[1].reward_sum, 0.1 + -0.25);  // to the last bit
  EXPECT_EQ(counts[2].variant, "idle");          // an arm that has served nothing yet
  EXPECT_EQ(counts[2].requests, 0);
  EXPECT_EQ(counts[3].variant, "stray");  // served by the experiment, though no longer an arm
  EXPECT_EQ(counts[3].requests, 1);
  EXPECT_EQ(counts[3].outcomes, 0);
}

// ---- Durability

TEST_P(RegistryTest, EverythingSurvivesClosingAndReopening) {
  ASSERT_TRUE(registry_->register_version(sample_version("sentiment", 2)).is_ok());
  RegistryChange change;
  change.deployment = sample_deployment();
  change.rollout = sample_rollout();
  change.experiment = sample_experiment();
  change.events = {sample_event("production/sentiment")};
  ChangeResult ids;
  ASSERT_TRUE(registry_->apply(change, &ids).is_ok());
  ASSERT_TRUE(registry_->record_assignments({{"r1", ids.experiment_id, "control", "positive", 0}}).is_ok());
  ASSERT_TRUE(registry_->record_feedback({"r1", "positive", {}, 0}).is_ok());

  reopen();

  const auto version = stored_version(*registry_, "sentiment", 2);
  EXPECT_EQ(version.metrics, sample_version("sentiment", 2).metrics);
  const auto deployment = stored_deployment(*registry_);
  expect_same_variants(deployment.variants, sample_deployment().variants);
  EXPECT_EQ(stored_rollout(*registry_, ids.rollout_id).spec_json, sample_rollout().spec_json);
  EXPECT_EQ(stored_experiment(*registry_, ids.experiment_id).name, "button-color");
  EXPECT_EQ(stored_events(*registry_, 0, kAllEvents, "").size(), 1u);
  const auto counts = stored_counts(*registry_, ids.experiment_id);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].successes, 1);
  EXPECT_EQ(registry_->record_feedback({"r1", "positive", {}, 0}).code(), StatusCode::kConflict);
}

// ---- Opening

TEST(RegistryOpenTest, UnopenableSqliteFileIsAnError) {
  std::string error;
  EXPECT_EQ(Registry::open("/nonexistent-dir/registry.db", error), nullptr);
  EXPECT_NE(error.find("/nonexistent-dir/registry.db"), std::string::npos) << error;
}

TEST(RegistryOpenTest, UnreachablePostgresIsAnError) {
  std::string error;
  // Port 1 on the loopback: refused at once.
  EXPECT_EQ(Registry::open("postgres://postgres@127.0.0.1:1/seraph", error), nullptr);
  EXPECT_FALSE(error.empty());
}

// ---- A process killed in the middle of its changes

constexpr const char* kCrashDeployment = "crash";

// Each change sets the deployment's variant version to the next counter and appends an event
// with the same counter, until the process is killed.
[[noreturn]] void apply_changes_until_killed(const std::string& path, int started_fd) {
  std::string error;
  const auto registry = Registry::open(path, error);
  if (!registry) _exit(2);
  DeploymentRecord deployment;
  const Status found = registry->get_deployment(kCrashDeployment, "production", deployment);
  if (!found.is_ok() && found.code() != StatusCode::kNotFound) _exit(4);
  int64_t counter = found.is_ok() ? deployment.variants.at(0).version : 0;
  bool announced = false;
  while (true) {
    ++counter;
    RegistryChange change;
    change.deployment = {.name = kCrashDeployment,
                         .environment = "production",
                         .sticky_header = "",
                         .variants = {variant("baseline", counter, 100, "baseline")},
                         .updated_ms = 0};
    change.events = {sample_event("production/crash", R"({"counter":)" + std::to_string(counter) + "}")};
    if (!registry->apply(change).is_ok()) _exit(3);
    if (!announced) announced = write(started_fd, "!", 1) == 1;
  }
}

TEST(SqliteRegistryCrashTest, KilledWriterLeavesOnlyWholeChanges) {
  testing::TempDir dir;
  const std::string path = (dir / "registry.db").string();
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);

  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int started[2];
    ASSERT_EQ(pipe(started), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(started[0]);
      apply_changes_until_killed(path, started[1]);
    }
    close(started[1]);
    pollfd first_change{.fd = started[0], .events = POLLIN, .revents = 0};
    const bool child_started = poll(&first_change, 1, 10'000) == 1;
    close(started[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution(0, 300)(random)));
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(child_started) << "the writer applied no change";
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the writer failed first: " << status;

    std::string error;
    const auto registry = Registry::open(path, error);
    ASSERT_NE(registry, nullptr) << error;
    const auto events = stored_events(*registry, 0, kAllEvents, "");
    ASSERT_FALSE(events.empty());
    for (size_t i = 0; i < events.size(); ++i) {
      ASSERT_EQ(events[i].id, int64_t(i + 1));
      ASSERT_EQ(events[i].details_json, R"({"counter":)" + std::to_string(i + 1) + "}");
    }
    EXPECT_EQ(stored_deployment(*registry, kCrashDeployment).variants.at(0).version, int64_t(events.size()));
  }
}

}  // namespace
}  // namespace seraph
