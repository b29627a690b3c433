// The seraph command line and process lifecycle: subcommands, config validation, environment
// overrides, start-up failures, readiness with a broken model, the access log, clean stops.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <thread>

#include "e2e_env.h"

namespace seraph::test {
namespace {

TEST(Cli, VersionPrintsTheVersion) {
  CommandResult r = run_seraph({"version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(^seraph \d+\.\d+\.\d+)"))) << r.output;
}

TEST(Cli, HelpListsTheSubcommands) {
  CommandResult r = run_seraph({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* word : {"serve", "check-config", "version"}) EXPECT_NE(r.output.find(word), std::string::npos) << word;
  CommandResult serve = run_seraph({"serve", "--help"});
  EXPECT_EQ(serve.status, 0);
  EXPECT_NE(serve.output.find("--config"), std::string::npos);
}

TEST(Cli, CheckConfigAcceptsTheQuickstartConfig) {
  CommandResult r = run_seraph({"check-config", std::string(SERAPH_SOURCE_DIR) + "/examples/quickstart.yaml"});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("OK"), std::string::npos);
}

TEST(Cli, CheckConfigNamesEveryBadKeyAndExits2) {
  auto dir = make_temp_dir("seraph-badcfg");
  write_file(dir / "bad.yaml", "server:\n  port: 70000\n  colour: blue\nlog:\n  level: loud\n");
  CommandResult r = run_seraph({"check-config", (dir / "bad.yaml").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("server.port: must be between 0 and 65535"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("server.colour: unknown key"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("log.level: must be one of"), std::string::npos) << r.output;
}

TEST(Cli, CheckConfigReportsUnparsableYaml) {
  auto dir = make_temp_dir("seraph-badyaml");
  write_file(dir / "bad.yaml", "server: [unclosed\n");
  CommandResult r = run_seraph({"check-config", (dir / "bad.yaml").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("bad.yaml"), std::string::npos) << r.output;
}

TEST(Cli, ServeRefusesABadEnvironmentOverride) {
  auto config = write_config(shared_repository());
  EXPECT_THROW(ServerProcess(config, {{"SERAPH_LOG_LEVEL", "loud"}}), std::runtime_error);
}

TEST(Cli, ServeRefusesAMissingRepository) {
  auto config = write_config("/nonexistent/seraph/models");
  try {
    ServerProcess server(config);
    FAIL() << "seraph started without a model repository";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not a directory"), std::string::npos) << e.what();
  }
}

TEST(Cli, EnvironmentOverridesTheConfigFile) {
  auto config = write_config(shared_repository());
  ServerProcess server(config, {{"SERAPH_MODELS_DEFAULT_MODEL", "mlp"}});
  HttpClient client(server.port());
  auto doc = client.post("/predict", R"({"features":[5.1,3.5,1.4,0.2]})").json();
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["model"].GetString(), "mlp");
}

TEST(Cli, SigtermStopsCleanlyWithExitZero) {
  ServerProcess server(write_config(shared_repository()));
  HttpClient client(server.port());
  ASSERT_EQ(client.post("/predict", R"({"text":"ok"})").status, 200u);
  EXPECT_EQ(server.stop(SIGTERM), 0);
  EXPECT_NE(server.log().find(R"("msg":"stopped")"), std::string::npos) << server.log();
}

TEST(Cli, SigintStopsCleanlyWithExitZero) {
  ServerProcess server(write_config(shared_repository()));
  EXPECT_EQ(server.stop(SIGINT), 0);
}

TEST(Cli, AccessLogHasOneJsonLinePerRequest) {
  ServerProcess server(write_config(shared_repository()));
  HttpClient client(server.port());
  ASSERT_EQ(client.post("/predict?model=sentiment&model_version=1", R"({"text":"ok"})",
                        {{"Content-Type", "application/json"}, {"X-Request-Id", "access-log-1"}})
                .status,
            200u);
  ASSERT_EQ(server.stop(SIGTERM), 0);  // flushes the log
  std::string log = server.access_log();
  std::smatch line;
  ASSERT_TRUE(std::regex_search(log, line, std::regex(R"(\{[^\n]*"request_id":"access-log-1"[^\n]*\})"))) << log;
  rapidjson::Document doc;
  doc.Parse(line.str().c_str());
  ASSERT_TRUE(doc.IsObject()) << line.str();
  EXPECT_STREQ(doc["method"].GetString(), "POST");
  EXPECT_STREQ(doc["path"].GetString(), "/predict");
  EXPECT_STREQ(doc["model"].GetString(), "sentiment");
  EXPECT_EQ(doc["version"].GetInt(), 1);
  EXPECT_EQ(doc["status"].GetInt(), 200);
  EXPECT_TRUE(doc["latency_ms"].IsNumber());
  EXPECT_TRUE(doc["time"].IsString());
}

TEST(Cli, ABrokenVersionIsReportedAndKeepsReadyzFalseWhileOthersServe) {
  auto repo = make_temp_dir("seraph-broken");
  std::filesystem::copy(demo_models() / "sentiment", repo / "sentiment", std::filesystem::copy_options::recursive);
  std::filesystem::create_directories(repo / "sentiment" / "3");
  write_file(repo / "sentiment" / "3" / "model.yaml", "runtime: fasttext\nartifact: model.bin\n");
  ServerProcess server(write_config(repo), {}, /*wait_ready=*/false);
  HttpClient client(server.port());
  // Wait for loading to finish: /models lists version 3 and no LOADING version.
  for (int i = 0; i < 500; ++i) {
    const std::string body = client.get("/models").body;
    if (body.find(R"("version":3)") != std::string::npos && body.find("LOADING") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(client.get("/readyz").status, 503u);
  Response models = client.get("/models");
  EXPECT_NE(models.body.find(R"("state":"UNAVAILABLE","reason":)"), std::string::npos) << models.body;
  EXPECT_NE(models.body.find("inputs: is required"), std::string::npos) << models.body;
  // The latest ready version serves; the broken one answers 503.
  EXPECT_EQ(client.post("/predict", R"({"text":"fine"})").json()["model_version"].GetInt(), 2);
  EXPECT_EQ(client.post("/predict?model_version=3", R"({"text":"fine"})").status, 503u);
  Response not_ready = client.get("/v2/models/sentiment/versions/3/ready");
  EXPECT_EQ(not_ready.status, 400u);
  EXPECT_FALSE(not_ready.json()["ready"].GetBool());
  EXPECT_EQ(client.get("/v2/health/ready").status, 400u);
}

}  // namespace
}  // namespace seraph::test

namespace seraph::test {
namespace {

// Timeouts: slow or silent clients are disconnected, so they cannot hold connections forever.
TEST(Timeouts, AClientThatNeverFinishesItsHeadersIsDisconnected) {
  ServerProcess server(write_config(shared_repository()), {{"SERAPH_SERVER_HEADER_TIMEOUT_MS", "300"}});
  const auto start = std::chrono::steady_clock::now();
  std::string answer = raw_exchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n", 5000);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(answer, "");  // closed without an answer
  EXPECT_LT(waited, std::chrono::seconds(3)) << "the connection was not closed by the header timeout";
}

TEST(Timeouts, AnIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  ServerProcess server(write_config(shared_repository()), {{"SERAPH_SERVER_IDLE_TIMEOUT_MS", "300"}});
  const auto start = std::chrono::steady_clock::now();
  std::string answer = raw_exchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 5000);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;  // answered, then closed when idle
  EXPECT_LT(waited, std::chrono::seconds(3));
}

}  // namespace
}  // namespace seraph::test
