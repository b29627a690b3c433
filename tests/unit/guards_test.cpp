// Each guard of the chain against the fixture's exchange: request id, deadline, route and
// validation (fault injection: fault_injection_guard_test.cpp); and the table that builds the chain.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "control/api_keys.h"
#include "control/deployments.h"
#include "guard_fixture.h"
#include "guards/deadline_guard.h"
#include "guards/guard_table.h"
#include "guards/request_id_guard.h"
#include "guards/route_guard.h"
#include "guards/validation_guard.h"
#include "models/model_manager.h"
#include "models/remote/remote_backend.h"
#include "resilience/circuit_breakers.h"
#include "test_support.h"

namespace seraph {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::FakeLoop;
using testing::make_exchange;

InferRequest text_request(std::string model, std::optional<int64_t> version = std::nullopt) {
  InferRequest request;
  request.model = std::move(model);
  request.version = version;
  request.inputs.push_back(Tensor{"text", DataType::kBytes, {1}, {}, {"fine"}});
  return request;
}

// --- request id ----------------------------------------------------------------------------------

TEST(RequestIdGuard, KeepsASaneClientIdAndEchoesIt) {
  testing::LoopScope scope;
  auto& loop = scope.loop;
  auto ex = make_exchange(loop, {{"X-Request-Id", "client-42"}});
  RequestIdGuard guard;
  EXPECT_EQ(guard.on_request(*ex), RequestVerdict::kContinue);
  EXPECT_EQ(ex->request_id, "client-42");
  EXPECT_EQ(guard.on_response(*ex), ResponseVerdict::kPass);
  EXPECT_EQ(ex->response_headers, (std::vector<std::pair<std::string, std::string>>{{"X-Request-Id", "client-42"}}));
}

TEST(RequestIdGuard, ReplacesAnUnacceptableIdWithAFreshOne) {
  testing::LoopScope scope;
  auto& loop = scope.loop;
  auto ex = make_exchange(loop, {{"X-Request-Id", "has space"}});
  RequestIdGuard().on_request(*ex);
  EXPECT_EQ(ex->request_id.size(), 32u);
}

// --- deadline ------------------------------------------------------------------------------------

TEST(DeadlineGuard, TheServerTimeoutIsShortenedByTheClientsHeader) {
  testing::LoopScope scope;
  auto& loop = scope.loop;
  auto ex = make_exchange(loop, {{"X-Request-Timeout-Ms", "250"}});
  DeadlineGuard guard(30s);
  EXPECT_EQ(guard.on_request(*ex), RequestVerdict::kContinue);
  EXPECT_EQ(ex->deadline, ex->start + 250ms);
  ASSERT_TRUE(loop->has_deadline());
  EXPECT_EQ(loop->deadline_at(), ex->deadline);
}

TEST(DeadlineGuard, TheV2TimeoutParameterIsInMicroseconds) {
  testing::LoopScope scope;
  auto& loop = scope.loop;
  InferRequest request;
  request.parameters.emplace_back("timeout", int64_t{1500});
  auto ex = make_exchange(loop, {}, request);
  DeadlineGuard(30s).on_request(*ex);
  EXPECT_EQ(ex->deadline, ex->start + 1500us);
}

TEST(DeadlineGuard, AMalformedTimeoutIsAnswered400) {
  for (const char* bad : {"0", "-5", "12x", "07", "3600001"}) {
    testing::LoopScope scope;
  auto& loop = scope.loop;
    auto ex = make_exchange(loop, {{"X-Request-Timeout-Ms", bad}});
    EXPECT_EQ(DeadlineGuard(30s).on_request(*ex), RequestVerdict::kRespond) << bad;
    EXPECT_EQ(ex->status.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(loop->has_deadline());
  }
}

TEST(DeadlineGuard, AtTheDeadlineTheRequestIsAnswered504AndCancelled) {
  testing::LoopScope scope;
  auto& loop = scope.loop;
  std::vector<std::unique_ptr<Guard>> guards;
  guards.push_back(std::make_unique<DeadlineGuard>(30s));
  bool finished = false;
  GuardChain chain(Stage::kInference, std::move(guards), [](Exchange&) {}, [&](Exchange&) { finished = true; });
  auto ex = make_exchange(loop);
  chain.run(*ex);
  ASSERT_FALSE(finished);
  loop->expire_deadline();
  EXPECT_TRUE(finished);
  EXPECT_TRUE(ex->cancelled());
  EXPECT_EQ(ex->status.code(), StatusCode::kDeadlineExceeded);
}

// --- route and validation ----------------------------------------------------------

class RoutingGuardsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sentiment_ = new testing::SentimentVersions; }
  static void TearDownTestSuite() { delete sentiment_; }

  void publish() {
    DeploymentRecord d;
    d.name = "reviews";
    d.environment = "production";
    d.variants = {{"baseline", "sentiment", 1, 100, "baseline", {}}, {"candidate", "sentiment", 2, 0, "candidate", {}}};
    deployments_.publish(d);
  }

  RouteGuard route() { return RouteGuard(sentiment_->models, deployments_); }

  static testing::SentimentVersions* sentiment_;
  MetricsRegistry metrics_;
  Deployments deployments_{metrics_, "production", {"staging", "production"}};
  testing::LoopScope scope_;
  std::shared_ptr<FakeLoop>& loop_ = scope_.loop;
};
testing::SentimentVersions* RoutingGuardsTest::sentiment_ = nullptr;

TEST_F(RoutingGuardsTest, AModelNameRoutesToItsLatestVersionAndLeavesTheRequestAsSent) {
  auto ex = make_exchange(loop_, {}, text_request("sentiment"));
  auto before = ex->request;
  RouteGuard guard = route();
  EXPECT_EQ(guard.on_request(*ex), RequestVerdict::kContinue);
  ASSERT_NE(ex->version, nullptr);
  EXPECT_EQ(ex->version->version(), 2);
  EXPECT_EQ(ex->backend.get(), static_cast<Backend*>(ex->version));
  EXPECT_EQ(ex->request, before);
  EXPECT_EQ(ex->request->model, "sentiment");
  guard.on_response(*ex);
  EXPECT_EQ(ex->response_headers, (std::vector<std::pair<std::string, std::string>>{{"X-Model-Version", "2"}}));
}

TEST_F(RoutingGuardsTest, ADeploymentRoutesToAVariantAndNamesItInTheAnswer) {
  publish();
  auto ex = make_exchange(loop_, {{"X-Canary", "candidate"}}, text_request("reviews"));
  RouteGuard guard = route();
  EXPECT_EQ(guard.on_request(*ex), RequestVerdict::kContinue);
  ASSERT_NE(ex->variant, nullptr);
  EXPECT_EQ(ex->variant->record.name, "candidate");
  EXPECT_EQ(ex->version->version(), 2);
  guard.on_response(*ex);
  EXPECT_THAT(ex->response_headers, ::testing::Contains(std::pair<std::string, std::string>{"X-Variant", "candidate"}));
  EXPECT_THAT(ex->response_headers,
              ::testing::Contains(std::pair<std::string, std::string>{"X-Deployment", "reviews"}));
}

TEST_F(RoutingGuardsTest, AVariantOnARemoteBackendRoutesToItsModelThereWithNoLocalVersion) {
  MetricsRegistry metrics;
  BackendMetricFamilies families(metrics);
  RemoteBackendConfig config;
  config.name = "far";
  config.endpoints = {"127.0.0.1:1"};
  BackendDirectory backends;
  backends.add(std::make_shared<RemoteBackend>(config, families));
  DeploymentRecord d;
  d.name = "reviews";
  d.environment = "production";
  d.variants = {{"baseline", "sentiment", 1, 100, "baseline", {}, "far"}};
  deployments_.publish(d);
  auto ex = make_exchange(loop_, {}, text_request("reviews"));
  RouteGuard guard(sentiment_->models, deployments_, &backends);
  EXPECT_EQ(guard.on_request(*ex), RequestVerdict::kContinue);
  EXPECT_EQ(ex->version, nullptr);
  auto* remote = dynamic_cast<RemoteModel*>(ex->backend.get());
  ASSERT_NE(remote, nullptr);
  EXPECT_EQ(remote->path(), "/v2/models/sentiment/versions/1");
  EXPECT_EQ(serving_contract(*ex), nullptr) << "no endpoint has answered the model's metadata";
  EXPECT_EQ(ValidationGuard().on_request(*ex), RequestVerdict::kContinue) << "the remote checks its own contract";

  // Without the directory (a backend that is not configured) the variant cannot be served.
  auto lost = make_exchange(loop_, {}, text_request("reviews"));
  EXPECT_EQ(route().on_request(*lost), RequestVerdict::kRespond);
  EXPECT_EQ(lost->status.code(), StatusCode::kUnavailable);
}

TEST_F(RoutingGuardsTest, AnUnknownEnvironmentOrModelIsAnsweredByTheRouteGuard) {
  auto ex = make_exchange(loop_, {{"X-Environment", "qa"}}, text_request("sentiment"));
  EXPECT_EQ(route().on_request(*ex), RequestVerdict::kRespond);
  EXPECT_EQ(ex->status.code(), StatusCode::kInvalidArgument);
  auto ghost = make_exchange(loop_, {}, text_request("ghost"));
  EXPECT_EQ(route().on_request(*ghost), RequestVerdict::kRespond);
  EXPECT_EQ(ghost->status.code(), StatusCode::kNotFound);
}

TEST_F(RoutingGuardsTest, ValidationChecksTheRoutedVersionsContract) {
  InferRequest bad = text_request("sentiment");
  bad.inputs[0].name = "words";
  auto ex = make_exchange(loop_, {}, bad);
  route().on_request(*ex);
  EXPECT_EQ(ValidationGuard().on_request(*ex), RequestVerdict::kRespond);
  EXPECT_EQ(ex->status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(ex->status.message(), HasSubstr("missing input 'text'"));

  auto good = make_exchange(loop_, {}, text_request("sentiment"));
  route().on_request(*good);
  auto before = good->request;
  EXPECT_EQ(ValidationGuard().on_request(*good), RequestVerdict::kContinue);
  EXPECT_EQ(good->request, before) << "a request already in the config's order is shared, not copied";
}

// --- the table -----------------------------------------------------------------------------------

TEST_F(RoutingGuardsTest, TheTableBuildsEachStageInOrderAndLeavesOutSwitchedOffGuards) {
  std::string error;
  auto store = Registry::open((sentiment_->repo.path() / "table-registry.db").string(), error);
  ASSERT_TRUE(store) << error;
  ApiKeys keys(*store);
  GuardSettings settings;
  CircuitBreakers breakers(settings.circuit_breaker, metrics_);
  GuardContext context{sentiment_->models, deployments_, metrics_, settings, keys, 30s};
  context.breakers = &breakers;
  auto names = [](const std::vector<std::unique_ptr<Guard>>& guards) {
    std::vector<std::string_view> out;
    for (const auto& g : guards) out.push_back(g->name());
    return out;
  };
  EXPECT_EQ(names(build_guards(Stage::kEndpoint, context)), (std::vector<std::string_view>{"request_id"}))
      << "auth is off unless the config switches it on";
  EXPECT_EQ(names(build_guards(Stage::kInference, context)),
            (std::vector<std::string_view>{"deadline", "route", "validation", "fallback", "retry", "circuit_breaker",
                                           "fault_injection"}));
  settings.enabled = {{"fault_injection", false}, {"circuit_breaker", false}, {"fallback", false}, {"retry", false}};
  EXPECT_EQ(names(build_guards(Stage::kInference, context)),
            (std::vector<std::string_view>{"deadline", "route", "validation"}));
  // One switch turns on the guards that work together: auth's check of the caller and of what it calls.
  settings.enabled = {{"auth", true}};
  EXPECT_EQ(names(build_guards(Stage::kEndpoint, context)), (std::vector<std::string_view>{"request_id", "auth"}));
  EXPECT_EQ(names(build_guards(Stage::kInference, context)),
            (std::vector<std::string_view>{"deadline", "access", "route", "validation", "fallback", "retry",
                                           "circuit_breaker", "fault_injection"}));
  settings.enabled = {{"content", true}, {"admission", true}};
  EXPECT_EQ(names(build_guards(Stage::kInference, context)),
            (std::vector<std::string_view>{"deadline", "route", "validation", "content", "fallback", "admission",
                                           "retry", "circuit_breaker", "fault_injection"}));
  // Guards the pipeline cannot do without stay whatever the config says.
  settings.enabled = {{"route", false}};
  EXPECT_EQ(names(build_guards(Stage::kInference, context)).size(), 7u);
}

}  // namespace
}  // namespace seraph
