// The admin API: model versions with metadata and lineage, deployments, the event log, and the
// clear 4xx every bad admin request gets.
#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "delivery_env.h"
#include "e2e_env.h"
#include "server_process.h"

namespace seraph::test {
namespace {

TEST(Admin, RegistersModelVersionsWithMetadataLineageAndTheArtifactsDigest) {
  ServerProcess server(delivery_config(kSentimentV1));
  const uint16_t port = server.port();
  auto v1 = admin(port, "POST", "/admin/v1/models/sentiment/versions",
                  R"({"version": 1, "description": "words only", "tags": ["baseline"], "metrics": {"accuracy": 0.747}})", 201);
  EXPECT_STREQ(v1["runtime"].GetString(), "fasttext");  // from the repository's model.yaml
  EXPECT_EQ(std::string(v1["artifact_sha256"].GetString()).size(), 64u);
  EXPECT_GT(v1["created_ms"].GetInt64(), 0);
  auto v2 = admin(port, "POST", "/admin/v1/models/sentiment/versions",
                  R"({"version": 2, "description": "adds bigrams", "parent_version": 1, "metrics": {"accuracy": 0.851}})", 201);
  EXPECT_EQ(v2["parent_version"].GetInt64(), 1);
  EXPECT_NE(std::string(v2["artifact_sha256"].GetString()), v1["artifact_sha256"].GetString());

  auto one = admin(port, "GET", "/admin/v1/models/sentiment/versions/2", "", 200);
  EXPECT_STREQ(one["description"].GetString(), "adds bigrams");
  EXPECT_DOUBLE_EQ(one["metrics"]["accuracy"].GetDouble(), 0.851);
  EXPECT_EQ(admin(port, "GET", "/admin/v1/models/sentiment/versions", "", 200)["versions"].Size(), 2u);
  EXPECT_EQ(admin(port, "GET", "/admin/v1/models", "", 200)["versions"].Size(), 2u);
  EXPECT_TRUE(admin(port, "POST", "/admin/v1/models/sentiment/versions/1/archive", "", 200)["archived"].GetBool());

  admin(port, "POST", "/admin/v1/models/sentiment/versions", R"({"version": 1})", 409);
  admin(port, "POST", "/admin/v1/models/sentiment/versions", R"({"version": 3, "artifact_sha256": "abc"})", 400);
  admin(port, "POST", "/admin/v1/models/sentiment/versions", R"({"version": 3, "artifact_sha256": ")" + std::string(64, '0') + R"("})", 400);
  admin(port, "POST", "/admin/v1/models/sentiment/versions", R"({"version": "2"})", 400);
  admin(port, "POST", "/admin/v1/models/sentiment/versions", R"({"version": 9, "tags": "x"})", 400);
  admin(port, "POST", "/admin/v1/models/sentiment/versions", R"({"version": 9, "metrics": {"a": "b"}})", 400);
  admin(port, "GET", "/admin/v1/models/sentiment/versions/7", "", 404);
  admin(port, "POST", "/admin/v1/models/sentiment/versions/7/archive", "", 404);

  // Every change is in the event log.
  auto log = admin(port, "GET", "/admin/v1/events?subject=model/sentiment/1", "", 200);
  ASSERT_EQ(log["events"].Size(), 2u);
  EXPECT_STREQ(log["events"][0]["kind"].GetString(), "model_version.registered");
  EXPECT_STREQ(log["events"][1]["kind"].GetString(), "model_version.archived");
  EXPECT_STREQ(log["events"][1]["actor"].GetString(), "admin");
}

TEST(Admin, DeploymentsAreCreatedAndReplacedAndTakeEffectAtOnce) {
  ServerProcess server(delivery_config(kSentimentV1));
  const uint16_t port = server.port();
  auto created = admin(port, "PUT", "/admin/v1/deployments/reviews?environment=staging",
                       R"({"sticky_header": "X-User-Id", "variants": [{"name": "v2", "model": "sentiment", "version": 2, "weight": 1}]})", 200);
  EXPECT_STREQ(created["environment"].GetString(), "staging");
  Response r = HttpClient(port).post("/predict?model=reviews", R"({"text":"ok"})",
                                     {{"Content-Type", "application/json"}, {"X-Environment", "staging"}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("x-variant"), "v2");
  EXPECT_EQ(HttpClient(port).post("/predict?model=reviews", R"({"text":"ok"})").status, 404u);  // not in production

  auto live = admin(port, "GET", "/admin/v1/deployments/reviews?environment=staging", "", 200);
  EXPECT_EQ(live["traffic"][0]["requests"].GetInt64(), 1);
  EXPECT_EQ(admin(port, "GET", "/admin/v1/deployments", "", 200)["deployments"].Size(), 2u);
  auto log = admin(port, "GET", "/admin/v1/events?subject=deployment/staging/reviews", "", 200);
  EXPECT_STREQ(log["events"][0]["kind"].GetString(), "deployment.created");
}

TEST(Admin, BadAdminRequestsGetAClear4xx) {
  ServerProcess server(delivery_config(kSentimentV1));
  const uint16_t port = server.port();
  const std::string deployment = "/admin/v1/deployments/sentiment";
  admin(port, "PUT", deployment, R"({"variants": []})", 400);
  admin(port, "PUT", deployment, R"({"variants": [{"model": "sentiment", "version": 1, "weight": 0}]})", 400);
  admin(port, "PUT", deployment, R"({"variants": [{"model": "nothing", "version": 1, "weight": 1}]})", 404);
  admin(port, "PUT", deployment, R"({"variants": [{"model": "sentiment", "version": 1, "weight": "heavy"}]})", 400);
  admin(port, "PUT", deployment, R"({"variants": [{"model": "sentiment", "version": 1, "weight": 1, "role": "boss"}]})", 400);
  admin(port, "PUT", deployment, R"({"sticky_header": 5, "variants": []})", 400);
  admin(port, "PUT", deployment, R"({})", 400);
  admin(port, "PUT", deployment + "?environment=qa", R"({"variants": []})", 400);
  admin(port, "PUT", "/admin/v1/deployments/bad%20name", R"({"variants": [{"model": "sentiment", "version": 1, "weight": 1}]})", 400);
  admin(port, "DELETE", deployment, "", 405);
  admin(port, "GET", "/admin/v1/deployments/nothing", "", 404);
  admin(port, "GET", "/admin/v1/nothing", "", 404);
  admin(port, "GET", "/admin/v2/rollouts", "", 404);
  admin(port, "GET", "/admin/v1/events?limit=0", "", 400);
  admin(port, "GET", "/admin/v1/events?after=x", "", 400);
  admin(port, "GET", "/admin/v1/rollouts/abc", "", 404);
  admin(port, "GET", "/admin/v1/experiments/12", "", 404);
  admin(port, "POST", "/admin/v1/experiments", R"({"deployment": "sentiment", "name": "x", "arms": [{"model": "sentiment", "version": 1, "weight": 1}]})", 400);
  // The registry is untouched by all of it.
  EXPECT_EQ(admin(port, "GET", deployment, "", 200)["deployment"]["variants"].Size(), 1u);
}

TEST(Admin, AMisspeltKeyInAnAdminBodyIsA400NamingTheKeysThereAre) {
  ServerProcess server(delivery_config(kSentimentV1));
  const uint16_t port = server.port();
  const std::string deployment = "/admin/v1/deployments/sentiment";
  auto error_of = [&](const std::string& method, const std::string& path, const std::string& body) {
    return std::string(admin(port, method, path, body, 400)["error"].GetString());
  };
  EXPECT_EQ(error_of("PUT", deployment, R"({"variants": [{"model": "sentiment", "version": 1, "wieght": 1}]})"),
            "variants[0].wieght: unknown key (use name, model, version, weight, role, backend, fault)");
  EXPECT_EQ(error_of("PUT", deployment, R"({"sticky-header": "X-User-Id", "variants": []})"),
            "sticky-header: unknown key (use name, environment, sticky_header, variants, priority, fault, fallback, "
            "updated_ms)");
  EXPECT_EQ(error_of("PUT", deployment + "/fault", R"({"abort_pct": 5})"),
            "fault.abort_pct: unknown key (use delay_ms, delay_percent, abort_percent, abort_status)");
  // The environment is the query's (production by default): a body that names another is not
  // quietly applied to production.
  EXPECT_EQ(error_of("PUT", deployment,
                     R"({"environment": "staging", "variants": [{"model": "sentiment", "version": 2, "weight": 1}]})"),
            "environment is 'staging' in the body, but the request is for 'production' (choose it with "
            "?environment=)");

  const std::string rollout = R"({"deployment": "sentiment", "candidate": {"model": "sentiment", "version": 2})";
  EXPECT_EQ(error_of("POST", "/admin/v1/rollouts", rollout + R"(, "step_min_msec": 1000})"),
            "step_min_msec: unknown key (use deployment, environment, strategy, candidate, steps, step_min_ms, "
            "step_min_requests, keep_previous_ms, analysis)");
  EXPECT_EQ(error_of("POST", "/admin/v1/rollouts", rollout + R"(, "analysis": {"latency_tolerence": 1}})"),
            "analysis.latency_tolerence: unknown key (use alpha, latency_tolerance, latency_slack_ms, min_requests, "
            "min_shadow_agreement, min_shadow_comparisons, min_success_rate, max_p99_ms)");
  EXPECT_EQ(error_of("POST", "/admin/v1/rollouts",
                     R"({"deployment": "sentiment", "candidate": {"model": "sentiment", "versoin": 2}})"),
            "candidate.versoin: unknown key (use model, version)");
  EXPECT_EQ(error_of("POST", "/admin/v1/models/sentiment/versions", R"({"version": 1, "parent": 1})"),
            "parent: unknown key (use version, description, runtime, artifact_sha256, parent_version, tags, metrics)");
  EXPECT_EQ(error_of("POST", "/admin/v1/api-keys", R"({"name": "ci", "role": ["admin"]})"),
            "role: unknown key (use name, roles, deployments, tenant, priority, expires_ms)");
  // An arm's role is its place in the list; one given would have been overwritten.
  EXPECT_EQ(error_of("POST", "/admin/v1/experiments",
                     R"({"name": "x", "deployment": "sentiment", "arms": [{"model": "sentiment", "version": 1,
                         "weight": 1, "role": "shadow"}]})"),
            "arms[0].role: unknown key (use name, model, version, weight, backend, fault)");
  EXPECT_EQ(error_of("POST", "/admin/v1/experiments",
                     R"({"name": "x", "deployment": "sentiment", "duration": 1000, "arms": []})"),
            "duration: unknown key (use name, deployment, environment, duration_ms, max_requests, arms)");

  // Nothing of it reached the registry: no rollout, experiment or API key, no version registered,
  // the deployment as configured.
  EXPECT_EQ(admin(port, "GET", "/admin/v1/rollouts", "", 200)["rollouts"].Size(), 0u);
  EXPECT_EQ(admin(port, "GET", "/admin/v1/api-keys", "", 200)["api_keys"].Size(), 0u);
  EXPECT_EQ(admin(port, "GET", "/admin/v1/models/sentiment/versions", "", 200)["versions"].Size(), 0u);
  EXPECT_EQ(admin(port, "GET", "/admin/v1/experiments", "", 200)["experiments"].Size(), 0u);
  auto stored = admin(port, "GET", deployment, "", 200);
  ASSERT_EQ(stored["deployment"]["variants"].Size(), 1u);
  EXPECT_EQ(stored["deployment"]["variants"][0]["version"].GetInt64(), 1) << "the staging body never reached production";
  EXPECT_STREQ(stored["deployment"]["sticky_header"].GetString(), "");

  // A deployment as GET answers it, name, environment and updated_ms included, can be sent back.
  rapidjson::StringBuffer sent;
  rapidjson::Writer<rapidjson::StringBuffer> writer(sent);
  stored["deployment"].Accept(writer);
  auto replaced = admin(port, "PUT", deployment, sent.GetString(), 200);
  EXPECT_STREQ(replaced["name"].GetString(), "sentiment");
  EXPECT_EQ(replaced["variants"][0]["version"].GetInt64(), stored["deployment"]["variants"][0]["version"].GetInt64());
}

}  // namespace
}  // namespace seraph::test
