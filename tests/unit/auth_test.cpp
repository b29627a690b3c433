// Authentication and authorisation: API keys as the registry and the key table keep them, the
// auth guard in the endpoint stage, and the access guard in the inference stage.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "control/api_keys.h"
#include "core/principal.h"
#include "core/snapshot.h"
#include "guard_fixture.h"
#include "guards/access_guard.h"
#include "guards/auth_guard.h"
#include "auth/jwt_key_store.h"
#include "jwt_signer.h"
#include "test_support.h"

namespace seraph {
namespace {

using testing::make_exchange;
using testing::response_header;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- roles and snapshots -----------------------------------------------------------------------------

TEST(Roles, AdminImpliesEveryRoleAndOthersOnlyThemselves) {
  const RoleSet reader = static_cast<RoleSet>(Role::kReader);
  EXPECT_TRUE(grants(reader, Role::kReader));
  EXPECT_FALSE(grants(reader, Role::kPredictor));
  EXPECT_FALSE(grants(reader, Role::kAdmin));
  EXPECT_TRUE(grants(0, Role::kNone)) << "a route any caller may call asks for no role";
  const RoleSet admin = static_cast<RoleSet>(Role::kAdmin);
  for (Role r : {Role::kReader, Role::kPredictor, Role::kAdmin}) EXPECT_TRUE(grants(admin, r));
  EXPECT_EQ(role_list(reader | static_cast<RoleSet>(Role::kPredictor)), "reader,predictor");
  EXPECT_EQ(parse_role("predictor"), Role::kPredictor);
  EXPECT_FALSE(parse_role("root"));
}

TEST(SnapshotTest, ReadersSeeWhatWasPublishedLast) {
  Snapshot<int> value(std::make_shared<const int>(1));
  EXPECT_EQ(value.read(), 1);
  value.publish(std::make_shared<const int>(2));
  EXPECT_EQ(value.read(), 2);
  Snapshot<int> other(std::make_shared<const int>(7));
  EXPECT_EQ(other.read(), 7) << "a thread's copy of one snapshot never passes for another's";
  EXPECT_EQ(value.read(), 2);
}

TEST(SnapshotTest, ReadersOnOtherThreadsSeeAPublishedValue) {
  Snapshot<int> value(std::make_shared<const int>(0));
  std::atomic<bool> seen{false};
  std::thread reader([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (value.read() != 42 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    seen = value.read() == 42;
  });
  value.publish(std::make_shared<const int>(42));
  reader.join();
  EXPECT_TRUE(seen);
}

// --- API keys ----------------------------------------------------------------------------------------

class ApiKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    registry_ = Registry::open((dir_.path() / "registry.db").string(), error);
    ASSERT_TRUE(registry_) << error;
  }

  std::string create(ApiKeyRequest request, ApiKeys& keys) {
    std::string key;
    ApiKeyRecord record;
    const Status s = keys.create(request, "test", key, record);
    EXPECT_TRUE(s.is_ok()) << s.message();
    return key;
  }

  testing::TempDir dir_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(ApiKeysTest, ACreatedKeyAuthenticatesAsItsNameWithItsRolesDeploymentsAndTenant) {
  ApiKeys keys(*registry_);
  const std::string key = create({"billing", {"predictor"}, {"sentiment"}, "acme", 0, ""}, keys);
  Principal who;
  ASSERT_TRUE(keys.authenticate(key, now_ms(), who).is_ok());
  EXPECT_EQ(who.method, Principal::Method::kApiKey);
  EXPECT_EQ(who.subject, "billing");
  EXPECT_EQ(who.tenant, "acme");
  EXPECT_EQ(who.roles, static_cast<RoleSet>(Role::kPredictor));
  EXPECT_EQ(who.deployments, (std::vector<std::string>{"sentiment"}));
}

TEST_F(ApiKeysTest, TheRegistryKeepsOnlyTheKeysHash) {
  ApiKeys keys(*registry_);
  const std::string key = create({"billing", {"reader"}, {}, "", 0, ""}, keys);
  std::vector<ApiKeyRecord> stored;
  ASSERT_TRUE(registry_->list_api_keys(stored).is_ok());
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(key.find(stored[0].secret_sha256), std::string::npos);
  EXPECT_NE(key.find(stored[0].id), std::string::npos) << "the id is the key's public part";
  EXPECT_EQ(stored[0].secret_sha256.size(), 64u);
}

TEST_F(ApiKeysTest, AWrongSecretAnUnknownIdOrAMalformedKeyIsRefused) {
  ApiKeys keys(*registry_);
  const std::string key = create({"billing", {"reader"}, {}, "", 0, ""}, keys);
  Principal who;
  std::string wrong = key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_EQ(keys.authenticate(wrong, now_ms(), who).message(), "unknown API key");
  std::string other_id = key;
  other_id[3] = other_id[3] == '0' ? '1' : '0';
  EXPECT_EQ(keys.authenticate(other_id, now_ms(), who).message(), "unknown API key");
  for (std::string_view bad : {std::string_view("sk_"), std::string_view("sk_short_key"), std::string_view(key).substr(0, key.size() - 1)}) {
    EXPECT_EQ(keys.authenticate(bad, now_ms(), who).message(), "malformed API key") << bad;
  }
  EXPECT_FALSE(who.authenticated());
}

TEST_F(ApiKeysTest, ARevokedKeyIsRefusedAtOnceHereAndAfterARefreshElsewhere) {
  ApiKeys here(*registry_);
  ApiKeys replica(*registry_);  // another replica sharing the registry
  const std::string key = create({"billing", {"reader"}, {}, "", 0, ""}, here);
  ASSERT_TRUE(replica.refresh().is_ok());
  Principal who;
  ASSERT_TRUE(replica.authenticate(key, now_ms(), who).is_ok());
  std::vector<ApiKeyRecord> stored;
  ASSERT_TRUE(registry_->list_api_keys(stored).is_ok());
  ASSERT_TRUE(here.revoke(stored.at(0).id, "test").is_ok());
  EXPECT_EQ(here.authenticate(key, now_ms(), who).message(), "the API key was revoked");
  EXPECT_TRUE(replica.authenticate(key, now_ms(), who).is_ok()) << "until the replica's next refresh";
  ASSERT_TRUE(replica.refresh().is_ok());
  EXPECT_EQ(replica.authenticate(key, now_ms(), who).message(), "the API key was revoked");
  EXPECT_EQ(here.revoke("0123456789abcdef", "test").code(), StatusCode::kNotFound);
}

TEST_F(ApiKeysTest, AnExpiredKeyIsRefused) {
  ApiKeys keys(*registry_);
  const int64_t expires = now_ms() + 60'000;
  const std::string key = create({"billing", {"reader"}, {}, "", expires, ""}, keys);
  Principal who;
  EXPECT_TRUE(keys.authenticate(key, expires - 1, who).is_ok());
  EXPECT_EQ(keys.authenticate(key, expires, who).message(), "the API key has expired");
}

TEST_F(ApiKeysTest, CreationChecksRolesNamesAndDeployments) {
  ApiKeys keys(*registry_);
  std::string key;
  ApiKeyRecord record;
  EXPECT_EQ(keys.create({"", {"reader"}, {}, "", 0, ""}, "test", key, record).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keys.create({"x", {}, {}, "", 0, ""}, "test", key, record).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keys.create({"x", {"root"}, {}, "", 0, ""}, "test", key, record).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keys.create({"x", {"reader"}, {"../etc"}, "", 0, ""}, "test", key, record).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(key.empty());
}

TEST_F(ApiKeysTest, AKeysPriorityIsItsPrincipalsAndOnlyCriticalNormalOrLowAreAccepted) {
  ApiKeys keys(*registry_);
  const std::string low = create({"batch", {"predictor"}, {}, "", 0, "low"}, keys);
  const std::string plain = create({"web", {"predictor"}, {}, "", 0, ""}, keys);
  Principal who;
  ASSERT_TRUE(keys.authenticate(low, now_ms(), who).is_ok());
  EXPECT_EQ(who.priority, Priority::kLow);
  ASSERT_TRUE(keys.authenticate(plain, now_ms(), who).is_ok());
  EXPECT_EQ(who.priority, std::nullopt);
  std::string key;
  ApiKeyRecord record;
  const Status urgent = keys.create({"x", {"reader"}, {}, "", 0, "urgent"}, "test", key, record);
  EXPECT_EQ(urgent.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(urgent.message(), "priority must be critical, normal or low, got 'urgent'");
}

// --- the auth guard ----------------------------------------------------------------------------------

class AuthGuardTest : public ApiKeysTest {
 protected:
  void SetUp() override {
    ApiKeysTest::SetUp();
    keys_ = std::make_unique<ApiKeys>(*registry_);
    reader_key_ = create({"dashboard", {"reader"}, {}, "", 0, ""}, *keys_);
    admin_key_ = create({"ops", {"admin"}, {}, "", 0, ""}, *keys_);
  }

  AuthGuard guard(AuthSettings settings = {}, const JwtKeyStore* jwt_keys = nullptr) {
    return AuthGuard(std::move(settings), *keys_, jwt_keys, outcomes_);
  }

  std::shared_ptr<Exchange> request(std::string path, Role role, std::vector<std::pair<std::string, std::string>> headers) {
    auto ex = make_exchange(scope_.loop, std::move(headers));
    ex->method = "GET";
    ex->path = std::move(path);
    ex->required_role = role;
    return ex;
  }

  MetricsRegistry metrics_;
  Family<Counter>& outcomes_ = metrics_.counter("seraph_auth_requests_total", "test");
  std::unique_ptr<ApiKeys> keys_;
  std::string reader_key_, admin_key_;
  testing::LoopScope scope_;
};

TEST_F(AuthGuardTest, ARequestWithoutACredentialIs401WithAChallenge) {
  auto g = guard();
  auto ex = request("/models", Role::kReader, {});
  EXPECT_EQ(g.on_request(*ex), RequestVerdict::kRespond);
  EXPECT_EQ(ex->status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(response_header(*ex, "WWW-Authenticate"), R"(Bearer realm="seraph")");
  EXPECT_EQ(outcomes_.get({{"outcome", "missing_credential"}}).value(), 1);
}

TEST_F(AuthGuardTest, AKeyInEitherHeaderNamesTheCaller) {
  auto g = guard();
  for (auto headers : {std::vector<std::pair<std::string, std::string>>{{"X-API-Key", reader_key_}},
                       std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + reader_key_}},
                       std::vector<std::pair<std::string, std::string>>{{"Authorization", "bearer  " + reader_key_}}}) {
    auto ex = request("/models", Role::kReader, headers);
    EXPECT_EQ(g.on_request(*ex), RequestVerdict::kContinue) << headers[0].first;
    EXPECT_EQ(ex->principal.subject, "dashboard");
  }
}

TEST_F(AuthGuardTest, ABadCredentialIs401SayingTheTokenIsInvalidWithoutRepeatingIt) {
  auto g = guard();
  std::string wrong = reader_key_;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  for (const std::string& credential : {wrong, std::string("not-a-key-or-jwt")}) {
    auto ex = request("/models", Role::kReader, {{"X-API-Key", credential}});
    EXPECT_EQ(g.on_request(*ex), RequestVerdict::kRespond);
    EXPECT_EQ(ex->status.code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(ex->status.message().find(credential), std::string::npos);
    EXPECT_EQ(response_header(*ex, "WWW-Authenticate"), R"(Bearer realm="seraph", error="invalid_token")");
  }
  auto basic = request("/models", Role::kReader, {{"Authorization", "Basic dXNlcjpwYXNz"}});
  EXPECT_EQ(g.on_request(*basic), RequestVerdict::kRespond);
  EXPECT_EQ(basic->status.code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthGuardTest, ARoleTheCallerLacksIs403NamingTheRole) {
  auto g = guard();
  auto ex = request("/predict", Role::kPredictor, {{"X-API-Key", reader_key_}});
  EXPECT_EQ(g.on_request(*ex), RequestVerdict::kRespond);
  EXPECT_EQ(ex->status.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(ex->status.message().find("needs the predictor role; this credential has reader"), std::string::npos)
      << ex->status.message();
  EXPECT_EQ(response_header(*ex, "WWW-Authenticate"), "");
}

TEST_F(AuthGuardTest, AdminMayCallEveryRoute) {
  auto g = guard();
  for (Role role : {Role::kReader, Role::kPredictor, Role::kAdmin, Role::kNone}) {
    auto ex = request("/anything", role, {{"X-API-Key", admin_key_}});
    EXPECT_EQ(g.on_request(*ex), RequestVerdict::kContinue);
  }
}

TEST_F(AuthGuardTest, ProbesAndConfiguredPathsAreOpenEverythingElseIsNot) {
  AuthSettings settings;
  settings.open_paths = {"/metrics"};
  auto g = guard(settings);
  for (const char* open : {"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready", "/metrics"}) {
    auto ex = request(open, Role::kReader, {});
    EXPECT_EQ(g.on_request(*ex), RequestVerdict::kContinue) << open;
    EXPECT_FALSE(ex->principal.authenticated());
  }
  auto unknown = request("/no/such/path", Role::kNone, {});
  EXPECT_EQ(g.on_request(*unknown), RequestVerdict::kRespond) << "an unknown path is not a way around auth";
  EXPECT_EQ(unknown->status.code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthGuardTest, AValidJwtNamesItsSubjectTenantAndRoles) {
  const std::string secret(40, 's');
  JwtKeyStore store({{"k1", JwtAlgorithm::kHs256, secret, "", ""}}, "");
  ASSERT_TRUE(store.load().is_ok());
  AuthSettings settings;
  settings.jwt.enabled = true;
  settings.jwt.policy.audiences = {"seraph"};
  auto g = guard(settings, &store);
  const int64_t exp = now_ms() / 1000 + 600;
  const std::string token = testing::hs256_token(
      R"({"alg":"HS256","kid":"k1"})",
      R"({"sub":"alice","tenant":"acme","roles":["predictor","unknown"],"aud":"seraph","exp":)" + std::to_string(exp) + "}",
      secret);
  auto ex = request("/predict", Role::kPredictor, {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(g.on_request(*ex), RequestVerdict::kContinue) << ex->status.message();
  EXPECT_EQ(ex->principal.method, Principal::Method::kJwt);
  EXPECT_EQ(ex->principal.subject, "alice");
  EXPECT_EQ(ex->principal.tenant, "acme");
  EXPECT_EQ(ex->principal.roles, static_cast<RoleSet>(Role::kPredictor)) << "unknown role names grant nothing";

  auto admin_route = request("/admin/v1/events", Role::kAdmin, {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(g.on_request(*admin_route), RequestVerdict::kRespond);
  EXPECT_EQ(admin_route->status.code(), StatusCode::kPermissionDenied);

  const std::string wrong_audience = testing::hs256_token(
      R"({"alg":"HS256","kid":"k1"})", R"({"sub":"alice","aud":"other","exp":)" + std::to_string(exp) + "}", secret);
  auto refused = request("/predict", Role::kPredictor, {{"Authorization", "Bearer " + wrong_audience}});
  EXPECT_EQ(g.on_request(*refused), RequestVerdict::kRespond);
  EXPECT_EQ(refused->status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(response_header(*refused, "WWW-Authenticate"), R"(Bearer realm="seraph", error="invalid_token")");
}

TEST_F(AuthGuardTest, WithoutJwtsConfiguredATokenIsNotACredential) {
  auto g = guard();
  auto ex = request("/models", Role::kReader, {{"Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln"}});
  EXPECT_EQ(g.on_request(*ex), RequestVerdict::kRespond);
  EXPECT_EQ(ex->status.code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthGuardTest, AVerifiedClientCertificateIsItsSubjectWithTheRolesItIsGranted) {
  AuthSettings settings;
  settings.client_certificates = {{"checkout", static_cast<RoleSet>(Role::kPredictor), {"sentiment"}, "shop"}};
  auto g = guard(settings);
  auto ex = request("/predict", Role::kPredictor, {});
  ex->client_certificate_subject = "checkout";
  EXPECT_EQ(g.on_request(*ex), RequestVerdict::kContinue);
  EXPECT_EQ(ex->principal.method, Principal::Method::kClientCertificate);
  EXPECT_EQ(ex->principal.subject, "checkout");
  EXPECT_EQ(ex->principal.tenant, "shop");
  EXPECT_EQ(ex->principal.deployments, std::vector<std::string>{"sentiment"});
  EXPECT_EQ(outcomes_.get({{"outcome", "allowed"}}).value(), 1);
}

TEST_F(AuthGuardTest, AClientCertificateLackingTheRouteRoleIs403) {
  AuthSettings settings;
  settings.client_certificates = {{"checkout", static_cast<RoleSet>(Role::kPredictor), {}, ""}};
  auto g = guard(settings);
  auto ex = request("/models", Role::kReader, {});
  ex->client_certificate_subject = "checkout";
  EXPECT_EQ(g.on_request(*ex), RequestVerdict::kRespond);
  EXPECT_EQ(ex->status.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(ex->status.message().find("needs the reader role; this client certificate has predictor"),
            std::string::npos)
      << ex->status.message();
}

TEST_F(AuthGuardTest, AVerifiedClientCertificateNotListedIs403Not401) {
  auto g = guard();
  auto ex = request("/models", Role::kReader, {});
  ex->client_certificate_subject = "stranger";
  EXPECT_EQ(g.on_request(*ex), RequestVerdict::kRespond);
  EXPECT_EQ(ex->status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ex->status.message(), "this client certificate is not granted any role");
  EXPECT_EQ(response_header(*ex, "WWW-Authenticate"), "");
}

TEST_F(AuthGuardTest, AnApiKeyOnAConnectionWithAClientCertificateNamesTheCaller) {
  AuthSettings settings;
  settings.client_certificates = {{"checkout", static_cast<RoleSet>(Role::kPredictor), {}, ""}};
  auto g = guard(settings);
  auto ex = request("/models", Role::kReader, {{"X-API-Key", reader_key_}});
  ex->client_certificate_subject = "checkout";
  EXPECT_EQ(g.on_request(*ex), RequestVerdict::kContinue);
  EXPECT_EQ(ex->principal.method, Principal::Method::kApiKey);
  EXPECT_EQ(ex->principal.subject, "dashboard");
}

// --- the access guard --------------------------------------------------------------------------------

TEST(AccessGuardTest, AKeyLimitedToDeploymentsCallsOnlyThose) {
  testing::LoopScope scope;
  AccessGuard guard(AuthSettings{});
  InferRequest request;
  request.model = "fraud";
  auto ex = make_exchange(scope.loop, {}, request);
  ex->principal = {Principal::Method::kApiKey, "billing", "", static_cast<RoleSet>(Role::kPredictor), {"sentiment"}, {}};
  EXPECT_EQ(guard.on_request(*ex), RequestVerdict::kRespond);
  EXPECT_EQ(ex->status.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(ex->status.message().find("'fraud'"), std::string::npos);
  request.model = "sentiment";
  auto allowed = make_exchange(scope.loop, {}, request);
  allowed->principal = ex->principal;
  EXPECT_EQ(guard.on_request(*allowed), RequestVerdict::kContinue);
}

TEST(AccessGuardTest, ADeploymentsAllowListAdmitsOnlyItsSubjectsAndTenants) {
  testing::LoopScope scope;
  AuthSettings settings;
  settings.deployments["fraud"] = {{"risk-team"}, {"acme"}};
  AccessGuard guard(settings);
  InferRequest request;
  request.model = "fraud";
  auto verdict_for = [&](std::string subject, std::string tenant) {
    auto ex = make_exchange(scope.loop, {}, request);
    ex->principal = {Principal::Method::kJwt, std::move(subject), std::move(tenant), static_cast<RoleSet>(Role::kPredictor), {}, {}};
    return guard.on_request(*ex);
  };
  EXPECT_EQ(verdict_for("risk-team", ""), RequestVerdict::kContinue);
  EXPECT_EQ(verdict_for("someone", "acme"), RequestVerdict::kContinue);
  EXPECT_EQ(verdict_for("someone", "globex"), RequestVerdict::kRespond);
  EXPECT_EQ(verdict_for("", ""), RequestVerdict::kRespond) << "an empty subject matches no list entry";
  request.model = "sentiment";
  EXPECT_EQ(verdict_for("someone", "globex"), RequestVerdict::kContinue) << "deployments without a list are open";
}

}  // namespace
}  // namespace seraph
