// The admin API: model versions with metadata and lineage, deployments, the event log, and the
// clear 4xx every bad admin request gets.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace seraph::test
