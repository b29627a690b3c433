#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "test_support.h"

namespace seraph {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Errors = std::vector<std::string>;

// Every test starts from an environment with no SERAPH_* override, whatever the shell had.
class LoadConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"SERAPH_SERVER_HOST", "SERAPH_SERVER_PORT", "SERAPH_SERVER_IO_THREADS",
                             "SERAPH_SERVER_MAX_BODY_BYTES", "SERAPH_SERVER_HEADER_TIMEOUT_MS",
                             "SERAPH_SERVER_IDLE_TIMEOUT_MS", "SERAPH_SERVER_REQUEST_TIMEOUT_MS",
                             "SERAPH_MODELS_REPOSITORY", "SERAPH_MODELS_DEFAULT_MODEL", "SERAPH_MODELS_MAX_QUEUE",
                             "SERAPH_LOG_LEVEL", "SERAPH_LOG_ACCESS_LOG", "SERAPH_REGISTRY_LOCATION",
                             "SERAPH_ROUTING_ENVIRONMENTS", "SERAPH_ROUTING_DEFAULT_ENVIRONMENT",
                             "SERAPH_CONTROL_TICK_INTERVAL_MS", "SERAPH_GUARDS_FAULT_INJECTION_ENABLED"}) {
      cleared_.push_back(std::make_unique<testing::ScopedEnv>(name, std::nullopt));
    }
  }

  Errors load(const std::string& yaml) {
    config_ = {};
    testing::write_file(file_, yaml);
    return load_config(file_, config_);
  }

  testing::TempDir dir_;
  std::filesystem::path file_ = dir_ / "seraph.yaml";
  Config config_;
  std::vector<std::unique_ptr<testing::ScopedEnv>> cleared_;
};

TEST_F(LoadConfigTest, EmptyPathGivesTheDefaults) {
  EXPECT_THAT(load_config({}, config_), IsEmpty());
  EXPECT_EQ(config_.server.host, "127.0.0.1");
  EXPECT_EQ(config_.server.port, 8080);
  EXPECT_EQ(config_.server.io_threads, 0);
  EXPECT_EQ(config_.server.max_body_bytes, 8 * 1024 * 1024);
  EXPECT_EQ(config_.models.repository, std::filesystem::absolute("models"));
  EXPECT_EQ(config_.models.max_queue, 1024);
  EXPECT_EQ(config_.log.level, "info");
  EXPECT_TRUE(config_.log.access_log);
}

TEST_F(LoadConfigTest, ReadsEveryKeyOfAValidFile) {
  const Errors errors = load(R"(
server:
  host: 0.0.0.0
  port: 9000
  io_threads: 4
  max_body_bytes: 1048576
  header_timeout_ms: 500
  idle_timeout_ms: 7000
models:
  repository: /srv/models
  default_model: sentiment
  max_queue: 64
log:
  level: debug
  access_log: false
)");
  EXPECT_THAT(errors, IsEmpty());
  EXPECT_EQ(config_.server.host, "0.0.0.0");
  EXPECT_EQ(config_.server.port, 9000);
  EXPECT_EQ(config_.server.io_threads, 4);
  EXPECT_EQ(config_.server.max_body_bytes, 1048576);
  EXPECT_EQ(config_.server.header_timeout_ms, 500);
  EXPECT_EQ(config_.server.idle_timeout_ms, 7000);
  EXPECT_EQ(config_.models.repository, std::filesystem::path("/srv/models"));
  EXPECT_EQ(config_.models.default_model, "sentiment");
  EXPECT_EQ(config_.models.max_queue, 64);
  EXPECT_EQ(config_.log.level, "debug");
  EXPECT_FALSE(config_.log.access_log);
}

TEST_F(LoadConfigTest, KeysLeftOutKeepTheirDefaults) {
  EXPECT_THAT(load("server:\n  port: 9000\n"), IsEmpty());
  EXPECT_EQ(config_.server.host, "127.0.0.1");
  EXPECT_EQ(config_.log.level, "info");
}

TEST_F(LoadConfigTest, UnknownKeyIsNamed) {
  EXPECT_THAT(load("server:\n  bogus: 1\n"), ElementsAre("server.bogus: unknown key"));
}

TEST_F(LoadConfigTest, WrongTypeNamesTheKeyPath) {
  EXPECT_THAT(load("server:\n  port: eighty\n"), ElementsAre("server.port: must be an integer, got 'eighty'"));
}

TEST_F(LoadConfigTest, ListWhereAValueBelongsNamesTheKeyPath) {
  EXPECT_THAT(load("server:\n  port: [80, 81]\n"), ElementsAre("server.port: must be a single value"));
}

TEST_F(LoadConfigTest, NonBooleanNamesTheKeyPath) {
  EXPECT_THAT(load("log:\n  access_log: maybe\n"), ElementsAre("log.access_log: must be true or false, got 'maybe'"));
}

TEST_F(LoadConfigTest, OutOfRangePortIsRejected) {
  EXPECT_THAT(load("server:\n  port: 70000\n"), ElementsAre("server.port: must be between 0 and 65535, got 70000"));
  EXPECT_EQ(config_.server.port, 8080);
}

TEST_F(LoadConfigTest, BadLogLevelIsRejected) {
  const Errors errors = load("log:\n  level: loud\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("log.level: must be one of trace, debug, info, warn, error, off; got 'loud'"));
}

TEST_F(LoadConfigTest, ReportsEveryProblemFound) {
  EXPECT_THAT(load("server:\n  port: -1\n  bogus: x\nlog:\n  level: loud\n"),
              ElementsAre(HasSubstr("server.port:"), HasSubstr("server.bogus:"), HasSubstr("log.level:")));
}

TEST_F(LoadConfigTest, SectionThatIsNotAMappingIsNamed) {
  EXPECT_THAT(load("server: 8080\n"), ElementsAre("server: must be a mapping"));
}

TEST_F(LoadConfigTest, TopLevelMustBeAMapping) {
  const Errors errors = load("- server\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("the top level must be a mapping"));
}

TEST_F(LoadConfigTest, MalformedYamlNamesTheFile) {
  const Errors errors = load("server: {port: 80\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr(file_.string()));
}

TEST_F(LoadConfigTest, EnvironmentOverridesDefaults) {
  testing::ScopedEnv port("SERAPH_SERVER_PORT", "9090");
  EXPECT_THAT(load_config({}, config_), IsEmpty());
  EXPECT_EQ(config_.server.port, 9090);
}

TEST_F(LoadConfigTest, EnvironmentOverridesTheFile) {
  testing::ScopedEnv port("SERAPH_SERVER_PORT", "9090");
  EXPECT_THAT(load("server:\n  port: 7000\n"), IsEmpty());
  EXPECT_EQ(config_.server.port, 9090);
}

TEST_F(LoadConfigTest, BadEnvironmentValueNamesTheVariable) {
  testing::ScopedEnv port("SERAPH_SERVER_PORT", "http");
  EXPECT_THAT(load_config({}, config_),
              ElementsAre("server.port (from SERAPH_SERVER_PORT): must be an integer, got 'http'"));
}

TEST_F(LoadConfigTest, EnvironmentNamesFollowTheKeyPath) {
  testing::ScopedEnv bytes("SERAPH_SERVER_MAX_BODY_BYTES", "2048");
  testing::ScopedEnv access("SERAPH_LOG_ACCESS_LOG", "false");
  EXPECT_THAT(load_config({}, config_), IsEmpty());
  EXPECT_EQ(config_.server.max_body_bytes, 2048);
  EXPECT_FALSE(config_.log.access_log);
}

TEST_F(LoadConfigTest, RelativeRepositoryIsTakenFromTheConfigFilesDirectory) {
  file_ = dir_ / "etc" / "seraph.yaml";
  EXPECT_THAT(load("models:\n  repository: ../models\n"), IsEmpty());
  EXPECT_EQ(config_.models.repository, dir_ / "etc" / "../models");
}

TEST_F(LoadConfigTest, DefaultRepositoryIsNextToTheConfigFile) {
  EXPECT_THAT(load("log:\n  level: warn\n"), IsEmpty());
  EXPECT_EQ(config_.models.repository, dir_ / "models");
}

TEST_F(LoadConfigTest, RelativeRepositoryFromTheEnvironmentIsTakenFromTheWorkingDirectory) {
  testing::ScopedEnv repository("SERAPH_MODELS_REPOSITORY", "from-env");
  EXPECT_THAT(load("log:\n  level: warn\n"), IsEmpty());
  EXPECT_EQ(config_.models.repository, std::filesystem::absolute("from-env"));
}

TEST_F(LoadConfigTest, AbsoluteRepositoryIsKept) {
  EXPECT_THAT(load("models:\n  repository: /srv/models\n"), IsEmpty());
  EXPECT_EQ(config_.models.repository, std::filesystem::path("/srv/models"));
}

// --- Deployments, routing and the registry ------------------------------------------------------

TEST_F(LoadConfigTest, ReadsDeploymentsWithTheirVariantsAndFaults) {
  ASSERT_THAT(load(R"(deployments:
  - name: sentiment
    sticky_header: X-User-Id
    variants:
      - {model: sentiment, version: 1, weight: 90}
      - {name: canary, model: sentiment, version: 2, weight: 10, fault: {abort_percent: 5, abort_status: 500}}
  - name: sentiment
    environment: staging
    variants:
      - {model: sentiment, version: 2, weight: 1}
)"),
              IsEmpty());
  ASSERT_EQ(config_.deployments.size(), 2u);
  const DeploymentRecord& production = config_.deployments[0];
  EXPECT_EQ(production.environment, "production");  // the default environment
  EXPECT_EQ(production.sticky_header, "X-User-Id");
  ASSERT_EQ(production.variants.size(), 2u);
  EXPECT_EQ(production.variants[0].name, "baseline");  // the first variant's default role and name
  EXPECT_EQ(production.variants[1].role, "candidate");
  EXPECT_EQ(production.variants[1].name, "canary");
  EXPECT_EQ(production.variants[1].fault.abort_percent, 5);
  EXPECT_EQ(production.variants[1].fault.abort_status, 500);
  EXPECT_EQ(config_.deployments[1].environment, "staging");
}

TEST_F(LoadConfigTest, AnInvalidDeploymentIsNamedWithTheProblem) {
  EXPECT_THAT(load("deployments:\n  - name: s\n    variants:\n      - {model: m, version: 1, weight: 0}\n"),
              ElementsAre(HasSubstr("deployments[0] (s): at least one baseline or candidate variant needs a weight above 0")));
  EXPECT_THAT(load("deployments:\n  - name: s\n    environment: qa\n    variants:\n      - {model: m, version: 1, weight: 1}\n"),
              ElementsAre(HasSubstr("unknown environment 'qa'")));
  EXPECT_THAT(load("deployments:\n  - name: s\n    variants:\n      - {model: m, version: one, weight: 1}\n"),
              ElementsAre(HasSubstr("deployments[0].variants[0].version: has the wrong type"), HasSubstr("version must be a positive")));
  EXPECT_THAT(load("deployments: {name: s}\n"), ElementsAre(HasSubstr("deployments: must be a list")));
}

// Found by config_fuzz: `v["model"]` on a scalar variant threw yaml-cpp's BadSubscript out of
// load_config, and the server died with std::terminate instead of naming the problem.
TEST_F(LoadConfigTest, AVariantThatIsNotAMappingIsAnErrorNotACrash) {
  EXPECT_THAT(load("deployments:\n  - name: s\n    variants:\n      - baseline\n"),
              Contains(HasSubstr("deployments[0].variants[0]: must be a mapping")));
}

// Found by config_fuzz, the same way: shapes no reader checks (a scalar fault, a list as a key) are
// problems in the file, named with their line and column.
TEST_F(LoadConfigTest, AShapeNoReaderExpectsIsAnErrorWithItsPosition) {
  EXPECT_THAT(load("deployments:\n  - name: s\n    variants:\n      - {model: m, version: 1, weight: 1, fault: slow}\n"),
              ElementsAre(HasSubstr("line 4, column 50: operator[] call on a scalar")));
  EXPECT_THAT(load("server: {[a]: 1}\n"), ElementsAre(HasSubstr("line 1, column 10: bad conversion")));
}

TEST_F(LoadConfigTest, EnvironmentsAreAListAndTheDefaultMustBeOneOfThem) {
  EXPECT_THAT(load("routing:\n  environments: [dev, prod]\n  default_environment: prod\n"), IsEmpty());
  EXPECT_THAT(config_.routing.environments, ElementsAre("dev", "prod"));
  EXPECT_THAT(load("routing:\n  environments: [dev, prod]\n"), ElementsAre(HasSubstr("routing.default_environment")));
  testing::ScopedEnv env("SERAPH_ROUTING_ENVIRONMENTS", "a,b,production");
  EXPECT_THAT(load(""), IsEmpty());
  EXPECT_THAT(config_.routing.environments, ElementsAre("a", "b", "production"));
}

TEST_F(LoadConfigTest, ARelativeRegistryFileIsNextToTheConfigAndAPostgresUrlIsKept) {
  EXPECT_THAT(load("registry:\n  location: state/reg.db\n"), IsEmpty());
  EXPECT_EQ(config_.registry.location, (dir_ / "state/reg.db").string());
  EXPECT_THAT(load("registry:\n  location: postgres://seraph@db:5432/seraph\n"), IsEmpty());
  EXPECT_EQ(config_.registry.location, "postgres://seraph@db:5432/seraph");
}

TEST_F(LoadConfigTest, AGuardThatMayBeSwitchedOffIsSwitchedOffByItsSection) {
  EXPECT_THAT(load("guards:\n  fault_injection:\n    enabled: false\n"), IsEmpty());
  EXPECT_FALSE(config_.guards.enabled.at("fault_injection"));
  testing::ScopedEnv on("SERAPH_GUARDS_FAULT_INJECTION_ENABLED", "true");
  EXPECT_THAT(load("guards:\n  fault_injection:\n    enabled: false\n"), IsEmpty());
  EXPECT_TRUE(config_.guards.enabled.at("fault_injection")) << "the environment overrides the file";
}

TEST_F(LoadConfigTest, AGuardThePipelineNeedsOrThatDoesNotExistIsAnUnknownKey) {
  EXPECT_THAT(load("guards:\n  route:\n    enabled: false\n"), ElementsAre("guards.route.enabled: unknown key"));
  EXPECT_THAT(load("guards:\n  teleport:\n    enabled: true\n"), ElementsAre("guards.teleport.enabled: unknown key"));
}

TEST_F(LoadConfigTest, ReadsRemoteBackendsAndVariantsThatNameThem) {
  const Errors errors = load(R"(
backends:
  - name: triton-a
    endpoints: ["127.0.0.1:8001", "10.0.0.2:8001"]
    connect_timeout_ms: 200
    request_timeout_ms: 9000
    max_connections: 8
    max_pending: 100
    health_check: {interval_ms: 500, timeout_ms: 250, path: /v2/models/resnet/ready, unhealthy_threshold: 3}
    outlier: {consecutive_failures: 4, base_ejection_ms: 1000, max_ejection_percent: 30}
deployments:
  - name: resnet
    variants:
      - {name: baseline, model: resnet, version: 2, weight: 100, backend: triton-a}
)");
  EXPECT_THAT(errors, IsEmpty());
  ASSERT_EQ(config_.backends.size(), 1u);
  const RemoteBackendConfig& b = config_.backends[0];
  EXPECT_EQ(b.name, "triton-a");
  EXPECT_THAT(b.endpoints, ElementsAre("127.0.0.1:8001", "10.0.0.2:8001"));
  EXPECT_EQ(b.connect_timeout_ms, 200);
  EXPECT_EQ(b.request_timeout_ms, 9000);
  EXPECT_EQ(b.max_connections, 8);
  EXPECT_EQ(b.max_pending, 100);
  EXPECT_EQ(b.health_check.interval_ms, 500);
  EXPECT_EQ(b.health_check.timeout_ms, 250);
  EXPECT_EQ(b.health_check.path, "/v2/models/resnet/ready");
  EXPECT_EQ(b.health_check.unhealthy_threshold, 3);
  EXPECT_EQ(b.health_check.healthy_threshold, 1);
  EXPECT_EQ(b.outlier.consecutive_failures, 4);
  EXPECT_EQ(b.outlier.base_ejection_ms, 1000);
  EXPECT_EQ(b.outlier.max_ejection_percent, 30);
  ASSERT_EQ(config_.deployments.size(), 1u);
  EXPECT_EQ(config_.deployments[0].variants[0].backend, "triton-a");
}

TEST_F(LoadConfigTest, BackendErrorsNameTheKeyPath) {
  EXPECT_THAT(
      load(R"(
backends:
  - name: a
    endpoints: ["127.0.0.1"]
    max_pending: 0
    outlier: {max_ejection_percent: 150}
  - {name: a, endpoints: ["h:1"], health_check: {interval_ms: fast}}
)"),
      ElementsAre("backends[0].endpoints[0]: '127.0.0.1' is not host:port",
                  "backends[0].max_pending: must be between 1 and 10000000, got 0",
                  "backends[0].outlier.max_ejection_percent: must be between 0 and 100, got 150",
                  "backends[1].health_check.interval_ms: has the wrong type", "backends[1].name: 'a' is used twice"));
}

TEST_F(LoadConfigTest, AVariantNamingAnUnknownBackendIsAnError) {
  EXPECT_THAT(
      load(R"(
deployments:
  - name: resnet
    variants:
      - {name: baseline, model: resnet, version: 1, weight: 100, backend: nowhere}
)"),
      ElementsAre(HasSubstr("deployments[0] (resnet): variants[0].backend 'nowhere' is not a configured backend")));
}

}  // namespace
}  // namespace seraph
