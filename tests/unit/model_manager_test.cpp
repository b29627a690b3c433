// ModelManager over a scratch repository assembled from the demo models, with broken and ignored
// entries next to the good ones.
#include "models/input_validation.h"
#include "models/model_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <future>
#include <mutex>
#include <span>
#include <vector>

#include "test_support.h"

namespace seraph {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

void copy_demo_version(const std::string& demo, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(testing::demo_models() / demo, to, fs::copy_options::recursive);
}

// sentiment: versions 1 and 2, plus "latest" and "01" (not version numbers, ignored);
// cancer: version 1, and version 2 whose model.yaml is invalid;
// broken: only an invalid version; ".hidden": not a valid model name, ignored.
class ModelManagerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new testing::TempDir;
    const fs::path root = repo_->path();
    copy_demo_version("sentiment/1", root / "sentiment/1");
    copy_demo_version("sentiment/2", root / "sentiment/2");
    copy_demo_version("sentiment/2", root / "sentiment/latest");
    copy_demo_version("sentiment/2", root / "sentiment/01");
    copy_demo_version("cancer/1", root / "cancer/1");
    testing::write_file(root / "cancer/2/model.yaml", "runtime: xgboost\ninputs: []\n");
    testing::write_file(root / "broken/1/model.yaml", "runtime: [oops\n");
    copy_demo_version("cancer/1", root / ".hidden/1");
    registry_ = new MetricsRegistry;
    manager_ = new ModelManager(root, LifecycleOptions{}, *registry_);
    manager_->load_all();
  }
  static void TearDownTestSuite() {
    delete manager_;
    delete registry_;
    delete repo_;
  }

  static std::shared_ptr<ModelVersion> find(std::string_view model, std::optional<int64_t> version, Status& status) {
    return manager_->find(model, version, status);
  }

  static testing::TempDir* repo_;
  static MetricsRegistry* registry_;
  static ModelManager* manager_;
};
testing::TempDir* ModelManagerTest::repo_ = nullptr;
MetricsRegistry* ModelManagerTest::registry_ = nullptr;
ModelManager* ModelManagerTest::manager_ = nullptr;

TEST_F(ModelManagerTest, FindsTheHighestReadyVersionWhenNoneIsAsked) {
  Status status;
  auto version = find("sentiment", std::nullopt, status);
  ASSERT_NE(version, nullptr) << status.message();
  EXPECT_EQ(version->version(), 2);
  EXPECT_EQ(version->state(), ModelState::kReady);
}

TEST_F(ModelManagerTest, SkipsABrokenHigherVersionWhenNoneIsAsked) {
  Status status;
  auto version = find("cancer", std::nullopt, status);
  ASSERT_NE(version, nullptr) << status.message();
  EXPECT_EQ(version->version(), 1);
}

TEST_F(ModelManagerTest, FindsAnExplicitVersion) {
  Status status;
  auto version = find("sentiment", 1, status);
  ASSERT_NE(version, nullptr) << status.message();
  EXPECT_EQ(version->version(), 1);
  EXPECT_EQ(version->model(), "sentiment");
}

TEST_F(ModelManagerTest, UnknownModelIsNotFound) {
  Status status;
  EXPECT_EQ(find("nope", std::nullopt, status), nullptr);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "unknown model 'nope'");
}

TEST_F(ModelManagerTest, UnknownVersionIsNotFound) {
  Status status;
  EXPECT_EQ(find("sentiment", 7, status), nullptr);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "unknown version 7 of model 'sentiment'");
}

TEST_F(ModelManagerTest, BrokenVersionIsUnavailableWithTheReason) {
  Status status;
  EXPECT_EQ(find("cancer", 2, status), nullptr);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("model 'cancer' version 2 is not ready (UNAVAILABLE: "));
  EXPECT_THAT(status.message(), HasSubstr("artifact: is required"));
}

TEST_F(ModelManagerTest, ModelWithNoReadyVersionIsUnavailable) {
  Status status;
  EXPECT_EQ(find("broken", std::nullopt, status), nullptr);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "model 'broken' has no ready version");
}

TEST_F(ModelManagerTest, SnapshotListsBrokenVersionsAsUnavailable) {
  auto table = manager_->snapshot();
  ASSERT_TRUE(table->contains("cancer"));
  const auto& versions = table->at("cancer").versions;
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0]->state(), ModelState::kReady);
  EXPECT_EQ(versions[1]->version(), 2);
  EXPECT_EQ(versions[1]->state(), ModelState::kUnavailable);
  EXPECT_STREQ(state_name(versions[1]->state()), "UNAVAILABLE");
  EXPECT_THAT(versions[1]->reason(), HasSubstr("model.yaml: artifact: is required"));
}

TEST_F(ModelManagerTest, IgnoresDirectoriesThatAreNotVersionNumbers) {
  auto table = manager_->snapshot();
  std::vector<int64_t> numbers;
  for (const auto& v : table->at("sentiment").versions) numbers.push_back(v->version());
  EXPECT_EQ(numbers, (std::vector<int64_t>{1, 2}));
}

TEST_F(ModelManagerTest, IgnoresDirectoriesThatAreNotModelNames) {
  auto table = manager_->snapshot();
  std::vector<std::string> names;
  for (const auto& [name, entry] : *table) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"broken", "cancer", "sentiment"}));
}

TEST_F(ModelManagerTest, IsLoadedButNotAllReadyWhenOneVersionBroke) {
  EXPECT_TRUE(manager_->loaded());
  EXPECT_FALSE(manager_->all_ready());
}

using namespace std::chrono_literals;

struct Answer {
  Status status;
  InferResponse response;
};

// Runs execute() and waits (bounded) for its callback.
std::optional<Answer> infer(ModelVersion& version, InferRequest request) {
  auto promise = std::make_shared<std::promise<Answer>>();
  std::future<Answer> future = promise->get_future();
  version.execute(std::make_shared<const InferRequest>(std::move(request)), TimePoint::max(), [promise](Status s, InferResponse r) {
    promise->set_value({std::move(s), std::move(r)});
  });
  if (future.wait_for(10s) != std::future_status::ready) return std::nullopt;
  return future.get();
}

InferRequest sentiment_request(std::vector<std::string> texts) {
  InferRequest request;
  request.id = "req-1";
  request.model = "sentiment";
  const auto rows = static_cast<int64_t>(texts.size());
  request.inputs.push_back(Tensor{"text", DataType::kBytes, {rows}, {}, std::move(texts)});
  return request;
}

TEST_F(ModelManagerTest, InferRunsTheRequestAndCallsBack) {
  Status status;
  auto version = find("sentiment", 2, status);
  ASSERT_NE(version, nullptr);
  std::optional<Answer> answer = infer(*version, sentiment_request({"great excellent", "terrible awful"}));
  ASSERT_TRUE(answer.has_value()) << "no answer within 10 s";
  ASSERT_TRUE(answer->status.is_ok()) << answer->status.message();
  EXPECT_EQ(answer->response.model, "sentiment");
  EXPECT_EQ(answer->response.version, 2);
  EXPECT_EQ(answer->response.id, "req-1");
  ASSERT_EQ(answer->response.outputs.size(), 2u);
  EXPECT_EQ(answer->response.outputs[0].shape, (Shape{2, 2}));
  EXPECT_EQ(answer->response.outputs[0].strings[0], "positive");
  EXPECT_EQ(answer->response.outputs[0].strings[2], "negative");
}

TEST_F(ModelManagerTest, InferAnswersOnlyTheRequestedOutputs) {
  Status status;
  auto version = find("sentiment", 2, status);
  ASSERT_NE(version, nullptr);
  InferRequest request = sentiment_request({"fine"});
  request.requested_outputs = {"probability"};
  std::optional<Answer> answer = infer(*version, std::move(request));
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->status.is_ok()) << answer->status.message();
  ASSERT_EQ(answer->response.outputs.size(), 1u);
  EXPECT_EQ(answer->response.outputs[0].name, "probability");
}

TEST_F(ModelManagerTest, TheVersionsContractRejectsAnInvalidRequest) {
  Status status;
  auto version = find("sentiment", 2, status);
  ASSERT_NE(version, nullptr);
  InferRequest request = sentiment_request({"fine"});
  request.inputs[0].name = "words";
  auto shared = std::make_shared<const InferRequest>(std::move(request));
  Status invalid = validate_request(version->config(), shared);
  EXPECT_EQ(invalid.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.message(), HasSubstr("missing input 'text'"));
}

TEST_F(ModelManagerTest, InferOnAnUnavailableVersionAnswers503) {
  auto table = manager_->snapshot();
  ModelVersion& broken = *table->at("cancer").versions[1];
  std::optional<Answer> answer = infer(broken, InferRequest{});
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(answer->status.message(), HasSubstr("model 'cancer' version 2 is not ready"));
  EXPECT_THAT(answer->status.message(), HasSubstr("artifact: is required"));
}

// A runtime whose destruction takes until the test releases it (at most 5 s), as freeing a large
// libtorch module does.
struct FreeingGate {
  std::mutex mutex;
  std::condition_variable cv;
  bool freeing = false;
  bool released = false;
};
FreeingGate freeing_gate;

class SlowToFreeRuntime final : public Runtime {
 public:
  ~SlowToFreeRuntime() override {
    std::unique_lock lock(freeing_gate.mutex);
    freeing_gate.freeing = true;
    freeing_gate.cv.notify_all();
    freeing_gate.cv.wait_for(lock, 5s, [] { return freeing_gate.released; });
  }
  Status execute(std::span<const Tensor>, std::vector<Tensor>&) override { return {}; }
};

// try_unload frees the runtime outside the version's lock: a request arriving meanwhile (on an I/O
// thread) is queued at once instead of waiting for the destructor.
TEST(ModelVersionUnload, ARequestArrivingWhileTheRuntimeIsFreedDoesNotWaitForIt) {
  register_runtime("slow_to_free", [](const ModelConfig&, const fs::path&) { return std::make_unique<SlowToFreeRuntime>(); });
  testing::TempDir repo;
  testing::write_file(repo / "m/1/model.yaml", R"(runtime: slow_to_free
artifact: none.bin
inputs:
  - {name: x, datatype: FP32, shape: [-1, 1]}
outputs:
  - {name: y, datatype: FP32, shape: [-1, 1]}
)");
  MetricsRegistry registry;
  ModelManager manager(repo.path(), LifecycleOptions{}, registry);
  manager.load_all();
  Status status;
  auto version = manager.find("m", 1, status);
  ASSERT_NE(version, nullptr) << status.message();
  ASSERT_EQ(version->state(), ModelState::kReady) << version->reason();

  std::promise<Status> unloaded;
  manager.unload_model("m", [&unloaded](Status s) { unloaded.set_value(std::move(s)); });
  {
    std::unique_lock lock(freeing_gate.mutex);
    ASSERT_TRUE(freeing_gate.cv.wait_for(lock, 5s, [] { return freeing_gate.freeing; }));
  }
  InferRequest request;
  request.inputs.push_back(Tensor{"x", DataType::kFp32, {1, 1}, std::vector<std::byte>(sizeof(float)), {}});
  auto answer = std::make_shared<std::promise<Status>>();
  const auto start = std::chrono::steady_clock::now();
  version->execute(std::make_shared<const InferRequest>(std::move(request)), TimePoint::max(),
                   [answer](Status s, InferResponse) { answer->set_value(std::move(s)); });
  const auto took = std::chrono::steady_clock::now() - start;
  {
    std::lock_guard lock(freeing_gate.mutex);
    freeing_gate.released = true;
  }
  freeing_gate.cv.notify_all();

  EXPECT_LT(took, 500ms);
  EXPECT_TRUE(unloaded.get_future().get().is_ok());
  // It waited for the unload to finish, and was then told the version is unloaded.
  EXPECT_EQ(answer->get_future().get().code(), StatusCode::kUnavailable);
  EXPECT_EQ(version->state(), ModelState::kUnavailable);
}

TEST(ModelManager, IsAllReadyWhenEveryVersionLoaded) {
  testing::TempDir repo;
  copy_demo_version("cancer/1", repo / "cancer/1");
  MetricsRegistry registry;
  ModelManager manager(repo.path(), LifecycleOptions{}, registry);
  EXPECT_FALSE(manager.loaded());
  EXPECT_FALSE(manager.all_ready());
  manager.load_all();
  EXPECT_TRUE(manager.loaded());
  EXPECT_TRUE(manager.all_ready());
}

TEST(ModelManager, FindsNothingBeforeLoading) {
  testing::TempDir repo;
  MetricsRegistry registry;
  ModelManager manager(repo.path(), LifecycleOptions{}, registry);
  Status status;
  EXPECT_EQ(manager.find("cancer", std::nullopt, status), nullptr);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
}

TEST(IsValidModelName, AcceptsLettersDigitsUnderscoreDashAndDot) {
  for (const char* name : {"a", "iris-mlp_v2.1", "X9"}) EXPECT_TRUE(is_valid_model_name(name)) << name;
}

TEST(IsValidModelName, RejectsEmptyLeadingDotOtherCharactersAndOverlongNames) {
  for (const std::string& name : {std::string(""), std::string(".hidden"), std::string("a b"), std::string("a/b"),
                                 std::string("caf\xc3\xa9"), std::string(129, 'm')}) {
    EXPECT_FALSE(is_valid_model_name(name)) << name;
  }
}

}  // namespace
}  // namespace seraph
