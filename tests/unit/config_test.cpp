#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "guards/content_rules.h"
#include "resilience/retry_reason.h"
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
                             "SERAPH_CONTROL_TICK_INTERVAL_MS", "SERAPH_GUARDS_FAULT_INJECTION_ENABLED",
                             "SERAPH_GUARDS_CONTENT_ENABLED", "SERAPH_SERVER_TLS_CERT_FILE", "SERAPH_SERVER_TLS_KEY_FILE",
                             "SERAPH_SERVER_TLS_CLIENT_CA_FILE", "SERAPH_SERVER_TLS_REQUIRE_CLIENT_CERTIFICATE",
                             "SERAPH_SERVER_TLS_MIN_VERSION"}) {
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

// --- TLS ---------------------------------------------------------------------------------------------

TEST_F(LoadConfigTest, TlsIsOffByDefault) {
  EXPECT_THAT(load_config({}, config_), IsEmpty());
  EXPECT_FALSE(config_.server.tls.enabled());
  EXPECT_FALSE(config_.server.tls.require_client_certificate);
  EXPECT_EQ(config_.server.tls.min_version, "1.2");
}

TEST_F(LoadConfigTest, TlsFilesAreTakenFromTheConfigFilesDirectory) {
  file_ = dir_ / "etc" / "seraph.yaml";
  for (const char* name : {"server.pem", "server.key", "clients.pem"}) {
    testing::write_file(dir_ / "etc" / "tls" / name, "x");
  }
  EXPECT_THAT(load(R"(server:
  tls:
    cert_file: tls/server.pem
    key_file: tls/server.key
    client_ca_file: tls/clients.pem
    require_client_certificate: true
    min_version: "1.3"
)"),
              IsEmpty());
  EXPECT_TRUE(config_.server.tls.enabled());
  EXPECT_EQ(config_.server.tls.cert_file, dir_ / "etc" / "tls" / "server.pem");
  EXPECT_EQ(config_.server.tls.key_file, dir_ / "etc" / "tls" / "server.key");
  EXPECT_EQ(config_.server.tls.client_ca_file, dir_ / "etc" / "tls" / "clients.pem");
  EXPECT_TRUE(config_.server.tls.require_client_certificate);
  EXPECT_EQ(config_.server.tls.min_version, "1.3");
}

TEST_F(LoadConfigTest, ACertificateWithoutItsKeyOrTheOtherWayRoundIsNamed) {
  testing::write_file(dir_ / "server.pem", "x");
  EXPECT_THAT(load("server:\n  tls:\n    cert_file: server.pem\n"),
              ElementsAre("server.tls.key_file: must be set with server.tls.cert_file"));
  EXPECT_THAT(load("server:\n  tls:\n    key_file: server.pem\n"),
              ElementsAre("server.tls.cert_file: must be set with server.tls.key_file"));
}

TEST_F(LoadConfigTest, AClientCaNeedsACertificateAndRequiringClientCertificatesNeedsACa) {
  testing::write_file(dir_ / "ca.pem", "x");
  EXPECT_THAT(load("server:\n  tls:\n    client_ca_file: ca.pem\n"),
              ElementsAre(HasSubstr("server.tls.client_ca_file: needs server.tls.cert_file")));
  EXPECT_THAT(load("server:\n  tls:\n    require_client_certificate: true\n"),
              ElementsAre(HasSubstr("server.tls.require_client_certificate: needs server.tls.client_ca_file")));
}

TEST_F(LoadConfigTest, ATlsFileThatIsNotThereIsNamed) {
  testing::write_file(dir_ / "server.pem", "x");
  EXPECT_THAT(load("server:\n  tls:\n    cert_file: server.pem\n    key_file: missing.key\n"),
              ElementsAre("server.tls.key_file: no file at " + (dir_ / "missing.key").string()));
}

TEST_F(LoadConfigTest, TlsMinVersionIs12Or13) {
  EXPECT_THAT(load("server:\n  tls:\n    min_version: \"1.1\"\n"),
              ElementsAre(R"(server.tls.min_version: must be "1.2" or "1.3", got '1.1')"));
  EXPECT_THAT(load("server:\n  tls:\n    require_client_certificate: maybe\n"),
              ElementsAre(HasSubstr("server.tls.require_client_certificate: must be true or false")));
}

TEST_F(LoadConfigTest, ReadsClientCertificateGrants) {
  EXPECT_THAT(load(R"(guards:
  auth:
    client_certificates:
      - {subject: checkout, roles: [predictor], deployments: [sentiment], tenant: shop}
      - {subject: "CN=ops,O=Acme", roles: [reader, admin]}
)"),
              IsEmpty());
  const auto& grants = config_.guards.auth.client_certificates;
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[0].subject, "checkout");
  EXPECT_EQ(grants[0].roles, static_cast<RoleSet>(Role::kPredictor));
  EXPECT_THAT(grants[0].deployments, ElementsAre("sentiment"));
  EXPECT_EQ(grants[0].tenant, "shop");
  EXPECT_EQ(grants[1].subject, "CN=ops,O=Acme");
  EXPECT_EQ(grants[1].roles, static_cast<RoleSet>(Role::kReader) | static_cast<RoleSet>(Role::kAdmin));
}

TEST_F(LoadConfigTest, ReadsTheCircuitBreakerSettings) {
  EXPECT_THAT(load(R"(guards:
  circuit_breaker:
    window: time
    window_size: 30
    window_s: 20
    minimum_calls: 5
    failure_rate_percent: 40
    slow_call_ms: 250
    slow_call_rate_percent: 90
    open_ms: 2000
    half_open_calls: 2
)"),
              IsEmpty());
  const CircuitBreakerSettings& b = config_.guards.circuit_breaker;
  EXPECT_EQ(b.window, CircuitBreakerSettings::Window::kTime);
  EXPECT_EQ(b.window_size, 30);
  EXPECT_EQ(b.window_s, 20);
  EXPECT_EQ(b.minimum_calls, 5);
  EXPECT_EQ(b.failure_rate_percent, 40);
  EXPECT_EQ(b.slow_call_ms, 250);
  EXPECT_EQ(b.slow_call_rate_percent, 90);
  EXPECT_EQ(b.open_ms, 2000);
  EXPECT_EQ(b.half_open_calls, 2);
  EXPECT_THAT(load("guards:\n  circuit_breaker:\n    window: sliding\n    failure_rate_percent: 0\n"),
              ElementsAre("guards.circuit_breaker.window: must be count or time, got 'sliding'",
                          "guards.circuit_breaker.failure_rate_percent: must be between 1 and 100, got 0"));
}

TEST_F(LoadConfigTest, ClientCertificateGrantErrorsNameTheKeyPath) {
  EXPECT_THAT(load(R"(guards:
  auth:
    client_certificates:
      - {subject: checkout, roles: [owner]}
      - {roles: [reader]}
      - {subject: checkout, roles: [reader], expires: 3}
)"),
              ElementsAre(
                  "guards.auth.client_certificates[0].roles: 'owner' is not a role (use reader, predictor, admin)",
                  "guards.auth.client_certificates[1].subject: must name the certificate's subject",
                  "guards.auth.client_certificates[2].expires: unknown key (use subject, roles, deployments, tenant)",
                  "guards.auth.client_certificates[2].subject: 'checkout' is listed twice"));
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

TEST_F(LoadConfigTest, AMisspeltKeyInADeploymentOrVariantIsNamedRatherThanLeftAtItsDefault) {
  EXPECT_THAT(load(R"(deployments:
  - name: sentiment
    sticky-header: X-User-Id
    variants:
      - {model: sentiment, version: 1, wieght: 90}
      - {model: sentiment, version: 2, weight: 10, fault: {abort_pct: 5}}
)"),
              ElementsAre("deployments[0].sticky-header: unknown key (use name, environment, sticky_header, variants, "
                          "priority, fault, fallback)",
                          "deployments[0].variants[0].wieght: unknown key (use name, model, version, weight, role, "
                          "backend, fault)",
                          "deployments[0].variants[1].fault.abort_pct: unknown key (use delay_ms, delay_percent, "
                          "abort_percent, abort_status)"));
}

TEST_F(LoadConfigTest, ReadsADeploymentsPriorityFaultAndFallbackChain) {
  ASSERT_THAT(load(R"(deployments:
  - name: sentiment
    priority: critical
    fault: {delay_ms: 20, delay_percent: 10}
    variants:
      - {model: sentiment, version: 1, weight: 90}
      - {model: sentiment, version: 2, weight: 10}
    fallback:
      - variant: baseline
      - stale_cache: true
      - default_answer: {outputs: [{name: label, datatype: BYTES, shape: [1], data: ["unknown"]}, {name: score, datatype: FP32, shape: [1], data: [0.5]}]}
)"),
              IsEmpty());
  const DeploymentPolicy& policy = config_.deployments.at(0).policy;
  EXPECT_EQ(policy.priority, "critical");
  EXPECT_EQ(policy.fault.delay_ms, 20);
  ASSERT_EQ(policy.fallback.size(), 3u);
  EXPECT_EQ(policy.fallback[0].variant, "baseline");
  EXPECT_EQ(policy.fallback[1].kind, FallbackStep::Kind::kStaleCache);
  EXPECT_EQ(policy.fallback[2].answer_json,
            R"({"outputs":[{"name":"label","datatype":"BYTES","shape":[1],"data":["unknown"]},)"
            R"({"name":"score","datatype":"FP32","shape":[1],"data":[0.5]}]})");
  EXPECT_THAT(load("deployments:\n  - name: s\n    variants:\n      - {model: m, version: 1, weight: 1}\n"
                   "    fallback:\n      - {retry: true}\n"),
              ElementsAre("deployments[0].fallback[0].retry: unknown key (use variant, stale_cache, default_answer)"));
  EXPECT_THAT(load("deployments:\n  - name: s\n    variants:\n      - {model: m, version: 1, weight: 1}\n"
                   "    fallback:\n      - variant: other\n"),
              ElementsAre(HasSubstr("fallback[0].variant 'other' is not a served variant")));
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

TEST_F(LoadConfigTest, ReadsAndCompilesEachDeploymentsContentRules) {
  EXPECT_THAT(load(R"(
guards:
  content:
    enabled: true
    deployments:
      sentiment:
        prompt_injection: true
        extra_patterns: ["(?i)reveal your system prompt"]
        deny: ["(?i)\\bcredit card dump\\b"]
        redact_outputs: [email, phone, card]
      iris:
        redact_outputs: [email]
)"),
              IsEmpty());
  EXPECT_TRUE(config_.guards.enabled.at("content"));
  ASSERT_EQ(config_.guards.content.deployments.size(), 2u);
  const ContentRules& sentiment = *config_.guards.content.deployments.at("sentiment");
  EXPECT_TRUE(sentiment.checks_inputs());
  EXPECT_THAT(sentiment.redact_outputs(), ElementsAre(PersonalData::kEmail, PersonalData::kPhone, PersonalData::kCard));
  const RefusalPattern* match = nullptr;
  ASSERT_TRUE(sentiment.find_refusal("a CREDIT CARD DUMP here", match).is_ok());
  ASSERT_NE(match, nullptr);
  EXPECT_EQ(match->name, "deny[0]");
  EXPECT_FALSE(config_.guards.content.deployments.at("iris")->checks_inputs());
}

TEST_F(LoadConfigTest, ContentGuardIsOffByDefault) {
  EXPECT_THAT(load("server:\n  port: 8080\n"), IsEmpty());
  EXPECT_FALSE(config_.guards.enabled.count("content"));
  EXPECT_TRUE(config_.guards.content.deployments.empty());
}

TEST_F(LoadConfigTest, ContentRuleErrorsNameTheKey) {
  const std::string prefix = "guards:\n  content:\n    deployments:\n      sentiment:\n        ";
  EXPECT_THAT(load(prefix + "deny: [\"(oops\"]\n"),
              ElementsAre(HasSubstr("guards.content.deployments.sentiment.deny[0]: '(oops' is not a valid pattern")));
  EXPECT_THAT(load(prefix + "redact_outputs: [email, passport]\n"),
              ElementsAre("guards.content.deployments.sentiment.redact_outputs[1]: unknown kind 'passport' (use email, "
                          "phone, card)"));
  EXPECT_THAT(load(prefix + "prompt_injection: sometimes\n"),
              ElementsAre("guards.content.deployments.sentiment.prompt_injection: has the wrong type"));
  EXPECT_THAT(load(prefix + "deny: \"not a list\"\n"),
              ElementsAre("guards.content.deployments.sentiment.deny: has the wrong type"));
  EXPECT_THAT(load(prefix + "redact: [email]\n"),
              ElementsAre("guards.content.deployments.sentiment.redact: unknown key (use prompt_injection, "
                          "extra_patterns, deny, redact_outputs)"));
  EXPECT_THAT(load("guards:\n  content:\n    deployments: [sentiment]\n"),
              ElementsAre("guards.content.deployments: must be a mapping of deployment names to {prompt_injection, extra_patterns, deny, redact_outputs}"));
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

TEST_F(LoadConfigTest, AMisspeltKeyInABackendIsNamedWithTheKeysThereAre) {
  EXPECT_THAT(
      load(R"(
backends:
  - name: triton
    endpoint: ["127.0.0.1:8001"]
    endpoints: ["127.0.0.1:8001"]
    health_check: {interval: 500}
    outlier: {consecutive_failure: 3}
    fault: {delay: 10}
)"),
      ElementsAre("backends[0].endpoint: unknown key (use name, endpoints, connect_timeout_ms, request_timeout_ms, "
                  "max_connections, max_pending, health_check, outlier, circuit_breaker, fault)",
                  "backends[0].health_check.interval: unknown key (use interval_ms, timeout_ms, path, "
                  "unhealthy_threshold, healthy_threshold)",
                  "backends[0].outlier.consecutive_failure: unknown key (use consecutive_failures, base_ejection_ms, "
                  "max_ejection_ms, max_ejection_percent)",
                  "backends[0].fault.delay: unknown key (use delay_ms, delay_percent, abort_percent, abort_status)"));
}

TEST_F(LoadConfigTest, ABackendsCircuitBreakersTakeTheGuardsSettingsWithItsOwnOverrides) {
  EXPECT_THAT(load(R"(
backends:
  - name: slow-ok
    endpoints: ["127.0.0.1:8001"]
    circuit_breaker: {slow_call_ms: 5000, window: time}
  - name: plain
    endpoints: ["127.0.0.1:8002"]
guards:
  circuit_breaker: {minimum_calls: 7, slow_call_ms: 300}
)"),
              IsEmpty());
  ASSERT_EQ(config_.backends.size(), 2u);
  const CircuitBreakerSettings& overridden = config_.backends[0].circuit_breaker;
  EXPECT_EQ(overridden.slow_call_ms, 5000);
  EXPECT_EQ(overridden.window, CircuitBreakerSettings::Window::kTime);
  EXPECT_EQ(overridden.minimum_calls, 7) << "the rest from guards.circuit_breaker, though it came later";
  EXPECT_EQ(config_.backends[1].circuit_breaker.slow_call_ms, 300);
  EXPECT_THAT(load(R"(
backends:
  - name: a
    endpoints: ["127.0.0.1:8001"]
    circuit_breaker: {enabled: false, open_ms: 0, probes: 3}
)"),
              ElementsAre(
                  "backends[0].circuit_breaker.enabled: unknown key (any key of guards.circuit_breaker but enabled)",
                  "backends[0].circuit_breaker.open_ms: must be between 1 and 3600000, got 0",
                  "backends[0].circuit_breaker.probes: unknown key (any key of guards.circuit_breaker but enabled)"));
}

TEST_F(LoadConfigTest, ReadsFaultInjectionSettingsAndEachBackendsFault) {
  EXPECT_FALSE(config_.guards.fault_injection.allow_request_headers) << "request headers are ignored by default";
  EXPECT_EQ(config_.guards.fault_injection.max_active, 100);
  EXPECT_THAT(load(R"(
guards:
  fault_injection: {max_active: 5, allow_request_headers: true}
backends:
  - {name: far, endpoints: ["h:1"], fault: {delay_ms: 30, delay_percent: 10, abort_status: 504}}
  - {name: near, endpoints: ["h:2"]}
)"),
              IsEmpty());
  EXPECT_EQ(config_.guards.fault_injection.max_active, 5);
  EXPECT_TRUE(config_.guards.fault_injection.allow_request_headers);
  ASSERT_EQ(config_.guards.fault_injection.backends.size(), 1u);
  const FaultSpec& far = config_.guards.fault_injection.backends.at("far");
  EXPECT_EQ(far.delay_ms, 30);
  EXPECT_EQ(far.delay_percent, 10);
  EXPECT_EQ(far.abort_status, 504);
  EXPECT_THAT(load("backends:\n  - {name: far, endpoints: [\"h:1\"], fault: {abort_status: 418}}\n"),
              ElementsAre("backends[0].fault.abort_status must be 429, 500, 503 or 504, got 418"));
  EXPECT_THAT(load("guards:\n  fault_injection:\n    max_active: -1\n"),
              ElementsAre(HasSubstr("guards.fault_injection.max_active")));
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

// --- guards: auth, JWT, cache, rate limits, Redis ----------------------------------------------------

TEST_F(LoadConfigTest, ReadsTheAuthSectionWithKeysAllowListsAndJwt) {
  testing::write_file(dir_ / "hs.secret", std::string(40, 'k') + "\n");
  testing::write_file(dir_ / "rsa.pem", "not read until the key store loads");
  const Errors errors = load(R"(
guards:
  auth:
    enabled: true
    open_paths: [/metrics]
    keys:
      - {id: 00000000000000aa, name: demo, sha256: )" + std::string(64, 'a') + R"(, roles: [reader, predictor], tenant: acme,
         priority: low}
    deployments:
      fraud: {subjects: [risk-team], tenants: [acme]}
    jwt:
      enabled: true
      issuer: https://id.example
      audiences: [seraph, api]
      clock_skew_s: 10
      roles_claim: scope
      jwks_file: jwks.json
      keys:
        - {kid: h1, alg: HS256, secret_file: hs.secret}
        - {kid: r1, alg: RS256, public_key_file: rsa.pem}
)");
  ASSERT_THAT(errors, IsEmpty());
  const AuthSettings& auth = config_.guards.auth;
  EXPECT_TRUE(config_.guards.enabled.at("auth"));
  EXPECT_EQ(auth.open_paths, (std::vector<std::string>{"/metrics"}));
  ASSERT_EQ(config_.api_keys.size(), 1u);
  EXPECT_EQ(config_.api_keys[0].roles, (std::vector<std::string>{"reader", "predictor"}));
  EXPECT_EQ(config_.api_keys[0].priority, "low");
  EXPECT_EQ(auth.deployments.at("fraud").subjects, (std::vector<std::string>{"risk-team"}));
  EXPECT_TRUE(auth.jwt.enabled);
  EXPECT_EQ(auth.jwt.policy.audiences, (std::vector<std::string>{"seraph", "api"}));
  EXPECT_EQ(auth.jwt.policy.clock_skew, std::chrono::seconds(10));
  EXPECT_EQ(auth.jwt.policy.roles_claim, "scope");
  EXPECT_EQ(auth.jwt.jwks_file, (dir_ / "jwks.json").string()) << "relative to the config file";
  ASSERT_EQ(auth.jwt.keys.size(), 2u);
  EXPECT_EQ(auth.jwt.keys[0].secret, std::string(40, 'k')) << "read from its file, the line break dropped";
  EXPECT_EQ(auth.jwt.keys[1].public_key_file, (dir_ / "rsa.pem").string());
}

TEST_F(LoadConfigTest, AuthMistakesNameTheirKey) {
  EXPECT_THAT(load("guards:\n  auth:\n    keys:\n      - {id: xyz, name: a, sha256: abc, roles: [reader]}\n"),
              ElementsAre(HasSubstr("guards.auth.keys[0]: id must be 16 lowercase hex digits")));
  EXPECT_THAT(load("guards:\n  auth:\n    keys:\n      - {id: 00000000000000aa, name: a, sha256: " + std::string(64, 'a') +
                   ", roles: [reader], priority: urgent}\n"),
              ElementsAre(HasSubstr("guards.auth.keys[0]: priority must be critical, normal or low, got 'urgent'")));
  EXPECT_THAT(load("guards:\n  auth:\n    open_paths: [metrics]\n"), ElementsAre(HasSubstr("guards.auth.open_paths")));
  EXPECT_THAT(load("guards:\n  auth:\n    jwt:\n      keys:\n        - {kid: a, alg: none, secret_env: X}\n"),
              ElementsAre(HasSubstr("guards.auth.jwt.keys[0].alg: must be HS256, RS256 or ES256")));
  EXPECT_THAT(load("guards:\n  auth:\n    jwt:\n      keys:\n        - {kid: a, alg: RS256, secret_env: X}\n"),
              ElementsAre(HasSubstr("RS256 and ES256 take public_key_file")));
  EXPECT_THAT(load("guards:\n  auth:\n    jwt:\n      enabled: true\n"), ElementsAre(HasSubstr("names no keys")));
  EXPECT_THAT(load("guards:\n  auth:\n    deployments:\n      fraud: {}\n"),
              ElementsAre(HasSubstr("guards.auth.deployments.fraud: lists no subjects and no tenants")));
}

TEST_F(LoadConfigTest, ReadsTheCacheSection) {
  ASSERT_THAT(load(R"(
guards:
  cache:
    enabled: true
    max_bytes: 1048576
    ttl_ms: 5000
    stale_while_revalidate_ms: 1000
    stale_if_error_ms: 7000
    per_tenant: true
    deployments:
      fraud: {enabled: false}
      sentiment: {ttl_ms: 200}
)"),
              IsEmpty());
  const CacheSettings& cache = config_.guards.cache;
  EXPECT_EQ(cache.max_bytes, 1048576);
  EXPECT_EQ(cache.ttl_ms, 5000);
  EXPECT_EQ(cache.stale_while_revalidate_ms, 1000);
  EXPECT_EQ(cache.stale_if_error_ms, 7000);
  EXPECT_TRUE(cache.per_tenant);
  EXPECT_FALSE(cache.deployments.at("fraud").enabled);
  EXPECT_EQ(cache.deployments.at("sentiment").ttl_ms, 200);
  EXPECT_THAT(load("guards:\n  cache:\n    deployments:\n      x: {ttl: 5}\n"),
              ElementsAre(HasSubstr("guards.cache.deployments.x.ttl: unknown key")));
}

TEST_F(LoadConfigTest, ReadsRateLimitRulesAndRedis) {
  ASSERT_THAT(load(R"(
redis:
  address: 127.0.0.1:6379
  command_timeout_ms: 20
guards:
  rate_limit:
    enabled: true
    store: redis
    on_redis_failure: open
    rules:
      - {name: per_client, key: client, limit: 100, period_ms: 1000}
      - {name: per_tenant, key: "header:X-Tenant", limit: 1000, period_ms: 60000, burst: 50}
      - {name: rows, key: deployment, limit: 5000, period_ms: 1000, cost: rows, deployments: [dense]}
)"),
              IsEmpty());
  const RateLimitSettings& limits = config_.guards.rate_limit;
  EXPECT_EQ(config_.redis.address, "127.0.0.1:6379");
  EXPECT_EQ(config_.redis.command_timeout_ms, 20);
  EXPECT_EQ(limits.store, RateLimitSettings::Store::kRedis);
  EXPECT_EQ(limits.on_redis_failure, RateLimitSettings::OnRedisFailure::kOpen);
  ASSERT_EQ(limits.rules.size(), 3u);
  EXPECT_EQ(limits.rules[1].key, RateLimitRuleSettings::Key::kHeader);
  EXPECT_EQ(limits.rules[1].header, "X-Tenant");
  EXPECT_EQ(limits.rules[1].rule.burst, 50);
  EXPECT_FALSE(limits.rules[0].per_inference());
  EXPECT_TRUE(limits.rules[2].per_inference());
  EXPECT_TRUE(limits.rules[2].cost_rows);
}

TEST_F(LoadConfigTest, RateLimitMistakesNameTheirKey) {
  EXPECT_THAT(load("guards:\n  rate_limit:\n    store: redis\n"), ElementsAre(HasSubstr("redis needs redis.address")));
  EXPECT_THAT(load("guards:\n  rate_limit:\n    rules:\n      - {name: a, limit: 0, period_ms: 1000}\n"),
              ElementsAre(HasSubstr("guards.rate_limit.rules[0]")));
  EXPECT_THAT(load("guards:\n  rate_limit:\n    rules:\n      - {name: a, limit: 5, key: ip}\n"),
              ElementsAre(HasSubstr("guards.rate_limit.rules[0]: key must be client, subject, tenant, deployment or header:<Name>")));
  EXPECT_THAT(load("guards:\n  rate_limit:\n    rules:\n      - {name: a, limit: 5}\n      - {name: a, limit: 6}\n"),
              ElementsAre(HasSubstr("guards.rate_limit.rules[1].name: 'a' is used twice")));
  EXPECT_THAT(load("guards:\n  rate_limit:\n    rules:\n      - {name: a, limit: 5, key: deployment}\n"
                   "      - {name: b, limit: 5, key: deployment, cost: rows}\n"),
              ElementsAre(HasSubstr("make all per-deployment rules cost rows, or none")));
  EXPECT_THAT(load("redis:\n  address: nowhere\n"), ElementsAre(HasSubstr("redis.address: 'nowhere' is not host:port")));
}

TEST_F(LoadConfigTest, ReadsTheRetrySection) {
  EXPECT_THAT(load(R"(guards:
  retry:
    max_retries: 3
    retry_on: [connect_failure, "503"]
    backoff_base_ms: 10
    backoff_max_ms: 100
    budget_percent: 50
    min_retry_concurrency: 1
    idempotent: false
    non_idempotent_deployments: [ledger, payments]
    hedge: {enabled: true, delay: 40, max_hedges: 2}
)"),
              IsEmpty());
  const RetrySettings& r = config_.guards.retry;
  EXPECT_EQ(r.max_retries, 3);
  EXPECT_EQ(r.retry_on, (1u << static_cast<unsigned>(RetryReason::kConnectFailure)) |
                            (1u << static_cast<unsigned>(RetryReason::k503)));
  EXPECT_EQ(r.backoff_base_ms, 10);
  EXPECT_EQ(r.backoff_max_ms, 100);
  EXPECT_EQ(r.budget_percent, 50);
  EXPECT_EQ(r.min_retry_concurrency, 1);
  EXPECT_FALSE(r.idempotent);
  EXPECT_THAT(r.non_idempotent_deployments, ElementsAre("ledger", "payments"));
  EXPECT_TRUE(r.hedge.enabled);
  EXPECT_EQ(r.hedge.delay_ms, 40);
  EXPECT_EQ(r.hedge.max_hedges, 2);
  EXPECT_THAT(load("guards:\n  retry:\n    hedge:\n      delay: p95\n"), IsEmpty());
  EXPECT_EQ(config_.guards.retry.hedge.delay_ms, 0) << "0: the backend's p95";
}

TEST_F(LoadConfigTest, RetryMistakesAreNamed) {
  EXPECT_THAT(load("guards:\n  retry:\n    retry_on: [503, 500]\n"),
              ElementsAre("guards.retry.retry_on: '500' is not one of connect_failure, reset, 502, 503, 504"));
  EXPECT_THAT(load("guards:\n  retry:\n    hedge:\n      delay: soon\n"),
              ElementsAre("guards.retry.hedge.delay: must be p95 or a number of milliseconds from 1 to 3600000, got 'soon'"));
  EXPECT_THAT(load("guards:\n  retry:\n    backoff_base_ms: 100\n    backoff_max_ms: 50\n"),
              ElementsAre("guards.retry.backoff_max_ms: must be at least backoff_base_ms (100), got 50"));
  EXPECT_THAT(load("guards:\n  retry:\n    attempts: 3\n"), ElementsAre("guards.retry.attempts: unknown key"));
}

TEST_F(LoadConfigTest, AdmissionKeysAreReadAndCheckedTogether) {
  EXPECT_THAT(load("guards:\n  admission:\n    enabled: true\n    min_limit: 2\n    initial_limit: 10\n    max_limit: 50\n"
                   "    tolerance: 2.5\n    smoothing: 0.5\n    long_window: 30\n    headroom: 2\n    max_queue: 7\n"
                   "    max_queue_wait_ms: 250\n    sample_window_ms: 40\n    min_window_samples: 3\n"
                   "    low_share: 0.25\n    normal_share: 0.9\n"),
              IsEmpty());
  const ConcurrencySettings& a = config_.guards.admission;
  EXPECT_TRUE(config_.guards.enabled["admission"]);
  EXPECT_EQ(a.gradient.min_limit, 2);
  EXPECT_EQ(a.gradient.initial_limit, 10);
  EXPECT_EQ(a.gradient.max_limit, 50);
  EXPECT_DOUBLE_EQ(a.gradient.tolerance, 2.5);
  EXPECT_DOUBLE_EQ(a.gradient.smoothing, 0.5);
  EXPECT_EQ(a.gradient.long_window, 30);
  EXPECT_EQ(a.gradient.headroom, 2);
  EXPECT_EQ(a.max_queue, 7);
  EXPECT_EQ(a.max_queue_wait, std::chrono::milliseconds(250));
  EXPECT_EQ(a.sample_window, std::chrono::milliseconds(40));
  EXPECT_EQ(a.min_window_samples, 3);
  EXPECT_DOUBLE_EQ(a.low_share, 0.25);
  EXPECT_DOUBLE_EQ(a.normal_share, 0.9);

  EXPECT_THAT(load("guards:\n  admission:\n    low_share: half\n"),
              ElementsAre("guards.admission.low_share: must be a number, got 'half'"));
  EXPECT_THAT(load("guards:\n  admission:\n    min_limit: 20\n    initial_limit: 10\n"),
              ElementsAre(HasSubstr("min_limit <= initial_limit <= max_limit")));
  EXPECT_THAT(load("guards:\n  admission:\n    low_share: 0.9\n    normal_share: 0.5\n"),
              ElementsAre(HasSubstr("low_share must not exceed normal_share")));
}

}  // namespace
}  // namespace seraph
