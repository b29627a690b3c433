// Authentication and roles on every endpoint, with the real binary: API keys made by the command
// line and the admin API, 401 and 403 as a client sees them, revocation reaching a second replica
// that shares the registry, no credential in the logs, and a key's admission priority.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>

#include "e2e_env.h"
#include "server_process.h"
#include "typed_models.h"

namespace seraph::test {
namespace {

using namespace std::chrono_literals;

const std::string kAuthOn = "guards:\n  auth:\n    enabled: true\n";

// `seraph api-key create` against the registry `config` names; returns the key it printed.
std::string create_key(const std::filesystem::path& config, const std::vector<std::string>& options) {
  std::vector<std::string> args{"api-key", "create", "-c", config.string()};
  args.insert(args.end(), options.begin(), options.end());
  const CommandResult result = run_seraph(args);
  EXPECT_EQ(result.status, 0) << result.output;
  std::smatch key;
  if (!std::regex_search(result.output, key, std::regex("sk_[0-9a-f]{16}_[0-9a-f]{64}"))) return "";
  return key.str();
}

std::string id_of(const std::string& key) { return key.substr(3, 16); }

Response with_key(HttpClient& client, const std::string& method, const std::string& target, const std::string& key,
                  const std::string& body = "") {
  return client.request(method, target, body, {{"Content-Type", "application/json"}, {"X-API-Key", key}});
}

class Auth : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = write_config(shared_repository(), kAuthOn + "control:\n  tick_interval_ms: 200\n");
    admin_key_ = create_key(config_, {"--name", "ops", "--role", "admin"});
    ASSERT_FALSE(admin_key_.empty());
    server_ = std::make_unique<ServerProcess>(config_);
  }

  std::filesystem::path config_;
  std::string admin_key_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(Auth, ProbesStayOpenAndEverythingElseNeedsACredential) {
  HttpClient client(server_->port());
  for (const char* probe : {"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"}) {
    EXPECT_EQ(client.get(probe).status, 200u) << probe;
  }
  for (const char* path : {"/models", "/metrics", "/v2", "/v2/models/sentiment", "/admin/v1/events", "/no/such/path"}) {
    Response r = client.get(path);
    EXPECT_EQ(r.status, 401u) << path;
    EXPECT_EQ(r.header("www-authenticate"), R"(Bearer realm="seraph")") << path;
    EXPECT_TRUE(r.json().HasMember("error")) << path;
  }
  Response predict = client.post("/predict", R"({"text":"good"})");
  EXPECT_EQ(predict.status, 401u);
  EXPECT_EQ(with_key(client, "GET", "/no/such/path", admin_key_).status, 404u) << "a caller with a key learns what is not there";
}

TEST_F(Auth, RolesDecideWhatAKeyMayCall) {
  HttpClient client(server_->port());
  Response created = with_key(client, "POST", "/admin/v1/api-keys", admin_key_,
                              R"({"name": "checkout", "roles": ["predictor"], "deployments": ["sentiment"]})");
  ASSERT_EQ(created.status, 201u) << created.body;
  const std::string predictor = created.json()["key"].GetString();
  EXPECT_FALSE(created.json()["api_key"].HasMember("secret_sha256")) << "the hash is never shown";

  EXPECT_EQ(with_key(client, "POST", "/predict", predictor, R"({"text":"good"})").status, 200u);
  EXPECT_EQ(with_key(client, "POST", "/v2/models/sentiment/infer", predictor,
                     R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["good"]}]})").status,
            200u);
  Response wrong_role = with_key(client, "GET", "/models", predictor);
  EXPECT_EQ(wrong_role.status, 403u);
  EXPECT_NE(wrong_role.body.find("reader"), std::string::npos) << wrong_role.body;
  EXPECT_EQ(with_key(client, "GET", "/admin/v1/events", predictor).status, 403u);
  EXPECT_EQ(with_key(client, "POST", "/v2/repository/models/sentiment/unload", predictor).status, 403u);
  Response other_deployment = with_key(client, "POST", "/predict?model=mlp", predictor, R"({"text":"good"})");
  EXPECT_EQ(other_deployment.status, 403u) << "the key may call only sentiment";
  EXPECT_NE(other_deployment.body.find("'mlp'"), std::string::npos) << other_deployment.body;

  const std::string reader = create_key(config_, {"--name", "dashboard", "--role", "reader"});
  EXPECT_TRUE(eventually([&] { return with_key(client, "GET", "/models", reader).status == 200u; }, 5))
      << "a key the command line made reaches the running server on its next tick";
  EXPECT_EQ(with_key(client, "POST", "/predict", reader, R"({"text":"good"})").status, 403u);
  EXPECT_EQ(with_key(client, "GET", "/models", admin_key_).status, 200u) << "admin implies reader";
}

TEST_F(Auth, BadExpiredAndRevokedKeysAre401) {
  HttpClient client(server_->port());
  std::string wrong = admin_key_;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  Response bad = with_key(client, "GET", "/models", wrong);
  EXPECT_EQ(bad.status, 401u);
  EXPECT_EQ(bad.header("www-authenticate"), R"(Bearer realm="seraph", error="invalid_token")");
  EXPECT_EQ(client.get("/models", {{"Authorization", "Basic b3BzOnNlY3JldA=="}}).status, 401u);

  Response expired = with_key(client, "POST", "/admin/v1/api-keys", admin_key_,
                              R"({"name": "old", "roles": ["reader"], "expires_ms": 1000})");
  ASSERT_EQ(expired.status, 201u) << expired.body;
  Response refused = with_key(client, "GET", "/models", expired.json()["key"].GetString());
  EXPECT_EQ(refused.status, 401u);
  EXPECT_NE(refused.body.find("expired"), std::string::npos) << refused.body;

  const std::string reader = create_key(config_, {"--name", "dashboard", "--role", "reader"});
  ASSERT_TRUE(eventually([&] { return with_key(client, "GET", "/models", reader).status == 200u; }, 5));
  EXPECT_EQ(with_key(client, "DELETE", "/admin/v1/api-keys/" + id_of(reader), admin_key_).status, 200u);
  Response revoked = with_key(client, "GET", "/models", reader);
  EXPECT_EQ(revoked.status, 401u) << "revoked at once on the replica that revoked it";
  EXPECT_NE(revoked.body.find("revoked"), std::string::npos) << revoked.body;
  EXPECT_EQ(with_key(client, "DELETE", "/admin/v1/api-keys/0123456789abcdef", admin_key_).status, 404u);
}

TEST_F(Auth, ARevocationReachesAReplicaSharingTheRegistryWithinATick) {
  ServerProcess replica(config_);
  HttpClient here(server_->port()), there(replica.port());
  Response created = with_key(here, "POST", "/admin/v1/api-keys", admin_key_, R"({"name": "svc", "roles": ["reader"]})");
  ASSERT_EQ(created.status, 201u);
  const std::string key = created.json()["key"].GetString();
  ASSERT_TRUE(eventually([&] { return with_key(there, "GET", "/models", key).status == 200u; }, 5));
  ASSERT_EQ(with_key(here, "DELETE", "/admin/v1/api-keys/" + id_of(key), admin_key_).status, 200u);
  const auto revoked_at = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually([&] { return with_key(there, "GET", "/models", key).status == 401u; }, 5));
  EXPECT_LT(std::chrono::steady_clock::now() - revoked_at, 2s) << "the replica refreshes its keys every 200 ms tick";
}

TEST_F(Auth, NoCredentialIsEverLogged) {
  HttpClient client(server_->port());
  std::string wrong = admin_key_;
  wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
  EXPECT_EQ(with_key(client, "GET", "/models", admin_key_).status, 200u);
  EXPECT_EQ(with_key(client, "GET", "/models", wrong).status, 401u);
  EXPECT_EQ(client.get("/models", {{"Authorization", "Bearer " + wrong}}).status, 401u);
  ASSERT_TRUE(eventually([&] { return server_->access_log().find("/models") != std::string::npos; }, 5));
  for (const std::string& log : {server_->access_log(), server_->log()}) {
    EXPECT_EQ(log.find(admin_key_.substr(20)), std::string::npos);
    EXPECT_EQ(log.find(wrong.substr(20)), std::string::npos);
  }
}

TEST_F(Auth, AKeysPriorityMustBeCriticalNormalOrLowAndIsListed) {
  HttpClient client(server_->port());
  Response urgent = with_key(client, "POST", "/admin/v1/api-keys", admin_key_,
                             R"({"name": "batch", "roles": ["predictor"], "priority": "urgent"})");
  EXPECT_EQ(urgent.status, 400u);
  EXPECT_NE(urgent.body.find("priority must be critical, normal or low"), std::string::npos) << urgent.body;
  Response created = with_key(client, "POST", "/admin/v1/api-keys", admin_key_,
                              R"({"name": "batch", "roles": ["predictor"], "priority": "low"})");
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_STREQ(created.json()["api_key"]["priority"].GetString(), "low");
  Response listed = with_key(client, "GET", "/admin/v1/api-keys", admin_key_);
  ASSERT_EQ(listed.status, 200u);
  const rapidjson::Document listing = listed.json();
  const auto keys = listing["api_keys"].GetArray();
  ASSERT_EQ(keys.Size(), 2u);
  EXPECT_STREQ(keys[0]["priority"].GetString(), "") << "the admin key has none";
  EXPECT_STREQ(keys[1]["priority"].GetString(), "low");
}

// A slow model behind a fixed limit of 2 that low requests may fill only half of, and no queue:
// with one slot held, a low request is shed at once and a critical one is served.
const char* kTwoSlotsHalfForLow = R"(    open_paths: [/metrics]
  admission:
    enabled: true
    min_limit: 2
    initial_limit: 2
    max_limit: 2
    max_queue: 0
    low_share: 0.5
    normal_share: 0.5
)";

TEST(ApiKeyPriority, ALowKeysRequestIsAdmittedAsLowEvenWhenItAsksForCritical) {
  auto repo = make_temp_dir("seraph-key-priority");
  write_slow_model(repo);
  const auto config = write_config(repo, kAuthOn + kTwoSlotsHalfForLow);
  const std::string batch = create_key(config, {"--name", "batch", "--role", "predictor", "--priority", "low"});
  const std::string web = create_key(config, {"--name", "web", "--role", "predictor"});
  ServerProcess server(config);
  const auto as = [](const std::string& key, const std::string& priority) {
    return std::vector<std::pair<std::string, std::string>>{
        {"Content-Type", "application/json"}, {"X-API-Key", key}, {"X-Priority", priority}};
  };

  // The web key holds one slot for about two seconds.
  const std::string hold = slow_request(slow_rounds_for(server.port(), 2000ms, as(web, "normal")));
  Response held;
  std::thread holder([&] { held = HttpClient(server.port()).post("/v2/models/slow/infer", hold, as(web, "normal")); });
  ASSERT_TRUE(eventually([&] { return metric(server.port(), R"(seraph_admission_inflight\{target="slow/1"\})") == 1; }));

  HttpClient client(server.port());
  Response low = client.post("/v2/models/slow/infer", slow_request(1), as(batch, "critical"));
  EXPECT_EQ(low.status, 503u) << "a critical request would have taken the free slot";
  EXPECT_EQ(low.header("x-shed-reason"), "queue_full");
  EXPECT_NE(low.body.find("shed a low priority request"), std::string::npos) << low.body;
  Response critical = client.post("/v2/models/slow/infer", slow_request(1), as(web, "critical"));
  EXPECT_EQ(critical.status, 200u) << "a key without a priority asks for critical and gets it: " << critical.body;
  holder.join();
  EXPECT_EQ(held.status, 200u) << held.body;
  EXPECT_EQ(metric(server.port(), R"(seraph_shed_total\{target="slow/1",priority="low",reason="queue_full"\})"), 1);
  EXPECT_EQ(metric(server.port(), R"(seraph_shed_total\{target="slow/1",priority="critical",reason="queue_full"\})"), 0);
}

TEST(AuthConfig, KeysFromTheConfigFileAreAcceptedByTheirHash) {
  // sk_00000000000000aa_ + 64 x "1": the config holds its id and SHA-256 only.
  const std::string key = "sk_00000000000000aa_" + std::string(64, '1');
  const std::string sha256 = "81a3138116d928b90a23d9ddc978012752f09dc5be2b6769e92a63337e33cb81";
  const auto config = write_config(shared_repository(), kAuthOn + "    keys:\n      - {id: 00000000000000aa, name: demo, sha256: " +
                                                             sha256 + ", roles: [reader]}\n");
  ServerProcess server(config);
  HttpClient client(server.port());
  EXPECT_EQ(with_key(client, "GET", "/models", key).status, 200u);
  EXPECT_EQ(with_key(client, "POST", "/predict", key, R"({"text":"good"})").status, 403u);
}

}  // namespace
}  // namespace seraph::test
