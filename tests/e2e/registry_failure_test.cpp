// A registry whose database fails: the real SQLite file of a real server, damaged from outside
// (a table dropped or renamed, a row that no longer parses). "Could not look" is never taken for
// "absent": start-up refuses rather than overwrite, admin reads answer 503 with the failure named,
// and a change is written whole or not at all.
#include <gtest/gtest.h>

#include <csignal>
#include <regex>

#include "control/sql_connection.h"
#include "delivery_env.h"
#include "e2e_env.h"
#include "server_process.h"

namespace seraph::test {
namespace {

// The SQLite registry a delivery_config() server keeps next to its config file.
std::unique_ptr<SqlConnection> registry_of(const std::filesystem::path& config) {
  return open_sqlite_connection((config.parent_path() / "seraph-registry.db").string());
}

// A running server on kSentimentV1, and a second connection to its registry's file.
struct ServedRegistry {
  std::filesystem::path config = delivery_config(kSentimentV1);
  ServerProcess server{config};
  uint16_t port = server.port();
  std::unique_ptr<SqlConnection> db = registry_of(config);
};

std::string stored_variants(SqlConnection& db) {
  return db.execute("SELECT variants FROM deployments WHERE name = 'sentiment' AND environment = 'production'")
      .at(0)
      .at(0)
      .value_or("");
}

void expect_registry_failure(uint16_t port, const std::string& path) {
  const auto answer = admin(port, "GET", path, "", 503);
  ASSERT_TRUE(answer.IsObject() && answer.HasMember("error")) << path;
  EXPECT_NE(std::string(answer["error"].GetString()).find("the registry failed"), std::string::npos)
      << path << ": " << answer["error"].GetString();
}

// seraph_control_errors_total summed over the operations matching `operation` (a regex).
double control_errors(uint16_t port, const std::string& operation) {
  const std::string text = HttpClient(port).get("/metrics").body;
  const std::regex series("\nseraph_control_errors_total\\{operation=\"" + operation + "\"\\} ([0-9.e+]+)");
  double total = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), series); it != std::sregex_iterator(); ++it) {
    total += std::stod((*it)[1]);
  }
  return total;
}

// Waits up to `seconds` for at least one control error of `operation`; returns the count.
double wait_for_control_error(uint16_t port, const std::string& operation, int seconds = 30) {
  double errors = 0;
  eventually([&] { return (errors = control_errors(port, operation)) >= 1; }, seconds);
  return errors;
}

TEST(RegistryFailure, StartUpRefusesToOverwriteAStoredDeploymentItCannotRead) {
  const auto config = delivery_config(kSentimentV1);
  {
    ServerProcess server(config);
    admin(server.port(), "PUT", "/admin/v1/deployments/sentiment",
          R"({"variants": [{"name": "baseline", "model": "sentiment", "version": 2, "weight": 100}]})", 200);
    ASSERT_EQ(server.stop(SIGTERM), 0);
  }
  const auto db = registry_of(config);
  db->execute("UPDATE deployments SET variants = 'damaged' WHERE name = 'sentiment'");

  try {
    ServerProcess server(config);
    FAIL() << "the server started over a deployment it could not read";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("exited with status 2"), std::string::npos) << what;
    EXPECT_NE(what.find("cannot start the control plane"), std::string::npos) << what;
    EXPECT_NE(what.find("get_deployment"), std::string::npos) << what;
  }
  EXPECT_EQ(stored_variants(*db), "damaged");  // the admin's deployment, not the config's
}

TEST(RegistryFailure, AdminReadsOfALostRegistryAnswer503NamingTheFailureNot404OrEmptyLists) {
  ServedRegistry served;
  const uint16_t port = served.port;
  admin(port, "POST", "/admin/v1/models/sentiment/versions", R"({"version": 1})", 201);
  for (const char* table :
       {"feedback", "experiment_assignments", "events", "experiments", "rollouts", "deployments", "model_versions"}) {
    served.db->execute(std::string("DROP TABLE ") + table);
  }

  for (const char* path :
       {"/admin/v1/models", "/admin/v1/models/sentiment/versions", "/admin/v1/models/sentiment/versions/1",
        "/admin/v1/deployments", "/admin/v1/deployments/sentiment", "/admin/v1/rollouts", "/admin/v1/rollouts/1",
        "/admin/v1/experiments", "/admin/v1/experiments/1", "/admin/v1/events"}) {
    expect_registry_failure(port, path);
  }
  EXPECT_EQ(HttpClient(port).get("/healthz").status, 200u);  // and the server still serves
}

TEST(RegistryFailure, ArchivingAVersionTheRegistryCannotReadAnswers503AndArchivesNothing) {
  ServedRegistry served;
  const uint16_t port = served.port;
  admin(port, "POST", "/admin/v1/models/sentiment/versions", R"({"version": 1, "tags": ["a"]})", 201);
  served.db->execute("UPDATE model_versions SET tags = 'damaged'");

  admin(port, "POST", "/admin/v1/models/sentiment/versions/1/archive", "", 503);

  served.db->execute(R"(UPDATE model_versions SET tags = '["a"]')");
  EXPECT_FALSE(admin(port, "GET", "/admin/v1/models/sentiment/versions/1", "", 200)["archived"].GetBool());
  EXPECT_EQ(admin(port, "GET", "/admin/v1/events?subject=model/sentiment/1", "", 200)["events"].Size(), 1u);
}

TEST(RegistryFailure, AVersionIsRegisteredOrArchivedTogetherWithItsEventOrNotAtAll) {
  ServedRegistry served;
  const uint16_t port = served.port;
  admin(port, "POST", "/admin/v1/models/sentiment/versions", R"({"version": 1})", 201);
  served.db->execute("ALTER TABLE events RENAME TO events_elsewhere");

  admin(port, "POST", "/admin/v1/models/sentiment/versions", R"({"version": 2})", 503);
  admin(port, "POST", "/admin/v1/models/sentiment/versions/1/archive", "", 503);

  served.db->execute("ALTER TABLE events_elsewhere RENAME TO events");
  admin(port, "GET", "/admin/v1/models/sentiment/versions/2", "", 404);
  EXPECT_FALSE(admin(port, "GET", "/admin/v1/models/sentiment/versions/1", "", 200)["archived"].GetBool());
}

TEST(RegistryFailure, AnExperimentKeepsRunningUntilItsDeploymentCanBeGivenBack) {
  ServedRegistry served;
  const uint16_t port = served.port;
  const std::string before = stored_variants(*served.db);
  const auto started = admin(port, "POST", "/admin/v1/experiments", R"({"name": "x", "deployment": "sentiment",
      "arms": [{"name": "a", "model": "sentiment", "version": 1, "weight": 1},
               {"name": "b", "model": "sentiment", "version": 2, "weight": 1}]})",
                             201);
  const std::string experiment = "/admin/v1/experiments/" + std::to_string(started["id"].GetInt64());
  const std::string split = stored_variants(*served.db);
  served.db->execute("UPDATE deployments SET variants = 'damaged' WHERE name = 'sentiment'");

  admin(port, "POST", experiment + "/stop", "", 503);
  EXPECT_STREQ(admin(port, "GET", experiment, "", 200)["experiment"]["state"].GetString(), "running");

  served.db->execute("UPDATE deployments SET variants = $1 WHERE name = 'sentiment'", {split});
  EXPECT_STREQ(admin(port, "POST", experiment + "/stop", "", 200)["state"].GetString(), "stopped");
  EXPECT_EQ(stored_variants(*served.db), before);
  EXPECT_EQ(admin(port, "GET", "/admin/v1/deployments/sentiment", "", 200)["experiment_id"].GetInt64(), 0);
}

TEST(RegistryFailure, AssignmentsAnExperimentCannotRecordAreLoggedAndCounted) {
  ServedRegistry served;
  const uint16_t port = served.port;
  admin(port, "POST", "/admin/v1/experiments", R"({"name": "x", "deployment": "sentiment",
      "arms": [{"name": "a", "model": "sentiment", "version": 1, "weight": 1},
               {"name": "b", "model": "sentiment", "version": 2, "weight": 1}]})",
        201);
  served.db->execute("DROP TABLE feedback");
  served.db->execute("DROP TABLE experiment_assignments");

  EXPECT_EQ(HttpClient(port).post("/predict", R"({"text":"good"})", {{"Content-Type", "application/json"}}).status,
            200u);

  EXPECT_GE(wait_for_control_error(port, "experiment\\.record_assignments"), 1);
  EXPECT_NE(served.server.log().find(R"("msg":"control operation failed","operation":"experiment.record_assignments")"),
            std::string::npos);
}

TEST(RegistryFailure, ARolloutDecisionTheRegistryCannotRecordIsLoggedAndCounted) {
  ServedRegistry served;
  const uint16_t port = served.port;
  admin(port, "POST", "/admin/v1/rollouts", R"({"deployment": "sentiment", "candidate": {"version": 3}, "steps": [50],
      "step_min_ms": 600000, "step_min_requests": 20, "analysis": {"min_requests": 20}})",
        201);
  served.db->execute("DROP TABLE rollouts");

  Traffic traffic(port, "/predict", 2, 200);
  traffic.wait();

  EXPECT_GE(wait_for_control_error(port, "rollout\\.[a-z_]+"), 1);
  EXPECT_NE(served.server.log().find(R"("msg":"control operation failed","operation":"rollout.)"), std::string::npos);
}

TEST(RegistryFailure, ARunningRolloutWhoseStoredSpecCannotBeReadIsRolledBackAtStart) {
  const auto config = delivery_config(kSentimentV1);
  int64_t id = 0;
  {
    ServerProcess server(config);
    id = admin(server.port(), "POST", "/admin/v1/rollouts",
               R"({"deployment": "sentiment", "candidate": {"version": 2}, "steps": [50], "step_min_ms": 600000})",
               201)["id"]
             .GetInt64();
    ASSERT_EQ(server.stop(SIGTERM), 0);
  }
  // JSON still (answers inline it), but no longer a spec this server can read.
  registry_of(config)->execute(R"(UPDATE rollouts SET spec_json = '{"steps": "damaged"}')");

  ServerProcess server(config);
  const uint16_t port = server.port();
  const auto answer = admin(port, "GET", "/admin/v1/rollouts/" + std::to_string(id), "", 200);
  const auto& rollout = answer["rollout"];
  EXPECT_STREQ(rollout["state"].GetString(), "rolled_back");
  EXPECT_NE(std::string(rollout["reason"].GetString()).find("stored spec cannot be read"), std::string::npos)
      << rollout["reason"].GetString();
  const auto deployment = admin(port, "GET", "/admin/v1/deployments/sentiment", "", 200);
  ASSERT_EQ(deployment["deployment"]["variants"].Size(), 1u);
  EXPECT_EQ(deployment["deployment"]["variants"][0]["version"].GetInt64(), 1);
  EXPECT_EQ(control_errors(port, "rollout\\.resumed"), 1);
}

}  // namespace
}  // namespace seraph::test
