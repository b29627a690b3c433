#include "models/batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

namespace seraph {
namespace {

using namespace std::chrono_literals;

// A runtime double that doubles FP32 rows (and upper-cases BYTES rows), records the rows of every
// call, and can be held closed so that requests pile up in the queue deterministically.
class DoublingRuntime final : public Runtime {
 public:
  Status execute(std::span<const Tensor> inputs, std::vector<Tensor>& outputs) override {
    {
      std::unique_lock lock(mutex_);
      entered_ = true;
      entered_cv_.notify_all();
      open_cv_.wait(lock, [this] { return open_; });
      calls_.push_back(inputs[0].shape[0]);
    }
    if (fail_) return internal_error("runtime failure");
    Tensor out = inputs[0];
    out.name = "y";
    if (out.datatype == DataType::kBytes) {
      for (auto& s : out.strings) s = "<" + s + ">";
    } else {
      for (float& v : out.mutable_values<float>()) v *= 2;
    }
    outputs.push_back(std::move(out));
    return {};
  }
  void hold() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void release() {
    std::lock_guard lock(mutex_);
    open_ = true;
    open_cv_.notify_all();
  }
  void wait_until_entered() {
    std::unique_lock lock(mutex_);
    entered_cv_.wait(lock, [this] { return entered_; });
  }
  std::vector<int64_t> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::atomic<bool> fail_{false};

 private:
  std::mutex mutex_;
  std::condition_variable open_cv_, entered_cv_;
  bool open_ = true, entered_ = false;
  std::vector<int64_t> calls_;
};

struct Result {
  Status status;
  std::vector<Tensor> outputs;
};

Tensor rows_of(std::vector<float> values, int64_t width = 2) {
  return Tensor::of<float>("x", DataType::kFp32, {static_cast<int64_t>(values.size()) / width, width}, values);
}

class BatcherTest : public ::testing::Test {
 protected:
  std::shared_future<Result> submit(Batcher& batcher, Tensor input, TimePoint deadline = TimePoint::max()) {
    auto promise = std::make_shared<std::promise<Result>>();
    auto request = std::make_shared<InferRequest>();
    request->inputs.push_back(std::move(input));
    batcher.submit(std::move(request), deadline, [promise](Status s, std::vector<Tensor> out, double) {
      promise->set_value({std::move(s), std::move(out)});
    });
    return promise->get_future().share();
  }
  static Result get(const std::shared_future<Result>& f) {
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    return f.get();
  }
  // A queued request holds the runtime (and a one-instance batcher's only slot) until
  // runtime.release(); its answer is returned.
  std::shared_future<Result> occupy_the_only_slot(Batcher& batcher) {
    runtime.hold();
    auto queued = submit(batcher, rows_of({1, 2}));
    runtime.wait_until_entered();
    return queued;
  }
  static std::shared_ptr<InferRequest> one_row_request() {
    auto request = std::make_shared<InferRequest>();
    request->inputs.push_back(rows_of({3, 4}));
    return request;
  }
  MetricsRegistry registry;
  ModelMetricFamilies families{registry};
  ModelMetrics metrics{families, "m", 1};
  DoublingRuntime runtime;
};

TEST_F(BatcherTest, WithoutBatchingEachRequestRunsAloneAndGetsItsOwnAnswer) {
  Batcher batcher(runtime, {0, 0us, 16, 1}, metrics);
  auto a = submit(batcher, rows_of({1, 2}));
  auto b = submit(batcher, rows_of({3, 4, 5, 6}));
  Result ra = get(a), rb = get(b);
  ASSERT_TRUE(ra.status.is_ok());
  EXPECT_EQ(ra.outputs[0].values<float>()[1], 4);
  EXPECT_EQ(rb.outputs[0].shape, (Shape{2, 2}));
  EXPECT_EQ(rb.outputs[0].values<float>()[3], 12);
  EXPECT_EQ(runtime.calls(), (std::vector<int64_t>{1, 2}));
}

TEST_F(BatcherTest, ConcurrentRequestsMergeIntoOneCallAndSplitBackInOrder) {
  Batcher batcher(runtime, {8, 0us, 64, 1}, metrics);
  runtime.hold();
  auto first = submit(batcher, rows_of({0, 0}));
  runtime.wait_until_entered();  // the first runs alone and blocks; the next five queue up
  std::vector<std::shared_future<Result>> rest;
  for (int i = 1; i <= 5; ++i) rest.push_back(submit(batcher, rows_of({float(i), float(10 * i)})));
  runtime.release();
  ASSERT_TRUE(get(first).status.is_ok());
  for (int i = 1; i <= 5; ++i) {
    Result r = get(rest[i - 1]);
    ASSERT_TRUE(r.status.is_ok()) << r.status.message();
    EXPECT_EQ(r.outputs[0].shape, (Shape{1, 2}));
    EXPECT_EQ(r.outputs[0].values<float>()[0], 2.0f * i);
    EXPECT_EQ(r.outputs[0].values<float>()[1], 20.0f * i);
  }
  EXPECT_EQ(runtime.calls(), (std::vector<int64_t>{1, 5}));
}

TEST_F(BatcherTest, BatchesNeverExceedMaxBatchSizeRows) {
  Batcher batcher(runtime, {4, 0us, 64, 1}, metrics);
  runtime.hold();
  auto first = submit(batcher, rows_of({0, 0}));
  runtime.wait_until_entered();
  std::vector<std::shared_future<Result>> rest;
  for (int i = 0; i < 5; ++i) rest.push_back(submit(batcher, rows_of({1, 1, 2, 2})));  // two rows each
  runtime.release();
  for (auto& f : rest) EXPECT_TRUE(get(f).status.is_ok());
  get(first);
  for (int64_t rows : runtime.calls()) EXPECT_LE(rows, 4);
  EXPECT_EQ(runtime.calls(), (std::vector<int64_t>{1, 4, 4, 2}));
}

TEST_F(BatcherTest, RequestsOfAnotherRowShapeAreNotMerged) {
  Batcher batcher(runtime, {8, 0us, 64, 1}, metrics);
  runtime.hold();
  auto first = submit(batcher, rows_of({0, 0}));
  runtime.wait_until_entered();
  auto narrow = submit(batcher, rows_of({1, 2}, 2));
  auto wide = submit(batcher, rows_of({1, 2, 3}, 3));
  auto narrow2 = submit(batcher, rows_of({3, 4}, 2));
  runtime.release();
  EXPECT_EQ(get(wide).outputs[0].shape, (Shape{1, 3}));
  EXPECT_EQ(get(narrow2).outputs[0].values<float>()[1], 8);
  get(narrow);
  get(first);
  EXPECT_EQ(runtime.calls(), (std::vector<int64_t>{1, 2, 1}));
}

TEST_F(BatcherTest, TextInputsMergeAndSplit) {
  Batcher batcher(runtime, {8, 0us, 64, 1}, metrics);
  runtime.hold();
  auto first = submit(batcher, Tensor{"t", DataType::kBytes, {1}, {}, {"a"}});
  runtime.wait_until_entered();
  auto two = submit(batcher, Tensor{"t", DataType::kBytes, {2}, {}, {"b", "c"}});
  auto one = submit(batcher, Tensor{"t", DataType::kBytes, {1}, {}, {"d"}});
  runtime.release();
  EXPECT_EQ(get(two).outputs[0].strings, (std::vector<std::string>{"<b>", "<c>"}));
  EXPECT_EQ(get(one).outputs[0].strings, (std::vector<std::string>{"<d>"}));
  get(first);
}

TEST_F(BatcherTest, TheFirstRequestWaitsUpToTheQueueDelayForCompany) {
  Batcher batcher(runtime, {8, 200ms, 64, 1}, metrics);
  auto a = submit(batcher, rows_of({1, 1}));
  auto b = submit(batcher, rows_of({2, 2}));
  EXPECT_TRUE(get(a).status.is_ok());
  EXPECT_TRUE(get(b).status.is_ok());
  EXPECT_EQ(runtime.calls(), (std::vector<int64_t>{2}));
}

TEST_F(BatcherTest, AFullQueueAnswers503AtOnce) {
  Batcher batcher(runtime, {0, 0us, 2, 1}, metrics);
  runtime.hold();
  auto running = submit(batcher, rows_of({0, 0}));
  runtime.wait_until_entered();
  auto q1 = submit(batcher, rows_of({1, 1}));
  auto q2 = submit(batcher, rows_of({2, 2}));
  auto refused = submit(batcher, rows_of({3, 3}));
  ASSERT_EQ(refused.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(refused.get().status.code(), StatusCode::kUnavailable);
  runtime.release();
  EXPECT_TRUE(get(q1).status.is_ok());
  EXPECT_TRUE(get(q2).status.is_ok());
  get(running);
}

TEST_F(BatcherTest, ARequestPastItsDeadlineIsAnswered504AndNeverRun) {
  Batcher batcher(runtime, {0, 0us, 16, 1}, metrics);
  runtime.hold();
  auto running = submit(batcher, rows_of({0, 0}));
  runtime.wait_until_entered();
  const TimePoint deadline = Clock::now() + 20ms;
  auto late = submit(batcher, rows_of({1, 1}), deadline);
  std::this_thread::sleep_until(deadline + 1ms);  // the deadline passes while the request waits
  ASSERT_GT(Clock::now(), deadline);
  runtime.release();
  EXPECT_EQ(get(late).status.code(), StatusCode::kDeadlineExceeded);
  get(running);
  EXPECT_EQ(runtime.calls(), (std::vector<int64_t>{1}));
}

TEST_F(BatcherTest, ARuntimeErrorReachesEveryRequestOfTheBatch) {
  Batcher batcher(runtime, {8, 0us, 64, 1}, metrics);
  runtime.hold();
  auto first = submit(batcher, rows_of({0, 0}));
  runtime.wait_until_entered();
  runtime.fail_ = true;
  auto a = submit(batcher, rows_of({1, 1}));
  auto b = submit(batcher, rows_of({2, 2}));
  runtime.release();
  EXPECT_EQ(get(a).status.code(), StatusCode::kInternal);
  EXPECT_EQ(get(b).status.code(), StatusCode::kInternal);
  get(first);
}

TEST_F(BatcherTest, StopRunsWhatIsQueuedThenRefusesNewRequests) {
  Batcher batcher(runtime, {0, 0us, 16, 1}, metrics);
  runtime.hold();
  auto running = submit(batcher, rows_of({0, 0}));
  runtime.wait_until_entered();
  auto queued = submit(batcher, rows_of({1, 1}));
  std::thread stopper([&] { batcher.stop(); });
  runtime.release();
  stopper.join();
  EXPECT_TRUE(get(queued).status.is_ok());
  EXPECT_TRUE(get(running).status.is_ok());
  EXPECT_EQ(get(submit(batcher, rows_of({2, 2}))).status.code(), StatusCode::kUnavailable);
}

TEST_F(BatcherTest, RecordsBatchSizeQueueTimeAndExecutions) {
  Batcher batcher(runtime, {8, 100ms, 64, 1}, metrics);
  auto a = submit(batcher, rows_of({1, 1}));
  auto b = submit(batcher, rows_of({2, 2, 3, 3}));
  get(a);
  get(b);
  const std::string text = registry.render();
  EXPECT_NE(text.find(R"(seraph_model_executions_total{model="m",version="1"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(seraph_model_executed_requests_total{model="m",version="1"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(seraph_model_batch_size_sum{model="m",version="1"} 3)"), std::string::npos);
  EXPECT_NE(text.find(R"(seraph_model_queue_duration_seconds_count{model="m",version="1"} 2)"), std::string::npos);
}

TEST_F(BatcherTest, AnInlineRunAnswersOnTheCallingThread) {
  Batcher batcher(runtime, {0, 0us, 16, 1}, metrics);
  auto request = std::make_shared<InferRequest>();
  request->inputs.push_back(rows_of({1, 2}));
  std::thread::id answered_on;
  Batcher::Done done = [&](Status s, std::vector<Tensor> out, double) {
    answered_on = std::this_thread::get_id();
    EXPECT_TRUE(s.is_ok());
    EXPECT_EQ(out[0].values<float>()[1], 4.0F);
  };
  ASSERT_TRUE(batcher.try_run_inline(*request, done, 0ns));
  EXPECT_EQ(answered_on, std::this_thread::get_id());
  EXPECT_GT(batcher.recent_compute_us(), 0);
}

// `execution: auto` decides on the mean: once a slow spell has sent requests to the execution
// threads, their cheap calls must bring it down again for every thread.
TEST_F(BatcherTest, TheRecentComputeTimeFollowsCallsOnEveryThread) {
  Batcher batcher(runtime, {0, 0us, 16, 1}, metrics);
  auto request = std::make_shared<InferRequest>();
  request->inputs.push_back(rows_of({1, 2}));
  Batcher::Done done = [](Status, std::vector<Tensor>, double) {};
  runtime.hold();
  std::thread slow([&] { ASSERT_TRUE(batcher.try_run_inline(*request, done, 0ns)); });
  runtime.wait_until_entered();
  std::this_thread::sleep_for(50ms);  // the call is slow: it is held this long
  runtime.release();
  slow.join();
  EXPECT_GE(batcher.recent_compute_us(), 50'000);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(submit(batcher, rows_of({1, 2})).get().status.is_ok());
  EXPECT_LT(batcher.recent_compute_us(), 10'000) << "the execution threads' cheap calls count for all";
}

TEST_F(BatcherTest, NoInlineRunWhileInstancesRuntimeCallsAreRunning) {
  Batcher batcher(runtime, {0, 0us, 16, 1}, metrics);
  auto queued = occupy_the_only_slot(batcher);
  auto request = one_row_request();
  bool ran = false;
  Batcher::Done done = [&](Status, std::vector<Tensor>, double) { ran = true; };
  EXPECT_FALSE(batcher.try_run_inline(*request, done, 2ms)) << "one instance: a second concurrent call must queue";
  EXPECT_FALSE(ran);
  runtime.release();
  EXPECT_TRUE(get(queued).status.is_ok());
  EXPECT_TRUE(batcher.try_run_inline(*request, done, 0ns));
  EXPECT_TRUE(ran);
}

TEST_F(BatcherTest, AnInlineRunWaitsWithinItsBudgetForABusySlot) {
  Batcher batcher(runtime, {0, 0us, 16, 1}, metrics);
  auto queued = occupy_the_only_slot(batcher);
  auto request = one_row_request();
  bool ran = false;
  Batcher::Done done = [&](Status s, std::vector<Tensor>, double) { ran = s.is_ok(); };
  std::thread releaser([&] { runtime.release(); });
  EXPECT_TRUE(batcher.try_run_inline(*request, done, 30s)) << "the slot frees long before the budget ends";
  EXPECT_TRUE(ran);
  releaser.join();
  EXPECT_TRUE(get(queued).status.is_ok());
}

TEST_F(BatcherTest, StatisticsChargeEachRequestOfAnExecutionAndCountItsRows) {
  Batcher batcher(runtime, {8, 100ms, 64, 1}, metrics);
  auto a = submit(batcher, rows_of({1, 1}));
  auto b = submit(batcher, rows_of({2, 2, 3, 3}));
  ASSERT_TRUE(get(a).status.is_ok());
  ASSERT_TRUE(get(b).status.is_ok());
  ASSERT_EQ(runtime.calls(), (std::vector<int64_t>{3}));
  const InferenceStatistics& stats = metrics.statistics();
  EXPECT_EQ(stats.execution_count(), 1u);
  EXPECT_EQ(stats.inference_count(), 3u);  // rows, as Triton counts inferences
  EXPECT_EQ(stats.queue().count(), 2u);
  EXPECT_GT(stats.queue().ns(), 0u);
  for (const DurationStat* phase : {&stats.compute_input(), &stats.compute_infer(), &stats.compute_output()}) {
    EXPECT_EQ(phase->count(), 2u);
  }
  EXPECT_GT(stats.compute_infer().ns(), 0u);
}

TEST_F(BatcherTest, StatisticsLeaveFailedExecutionsOut) {
  Batcher batcher(runtime, {0, 0us, 16, 1}, metrics);
  runtime.fail_ = true;
  EXPECT_EQ(get(submit(batcher, rows_of({1, 1}))).status.code(), StatusCode::kInternal);
  const InferenceStatistics& stats = metrics.statistics();
  EXPECT_EQ(stats.queue().count(), 1u);
  EXPECT_EQ(stats.execution_count(), 0u);
  EXPECT_EQ(stats.inference_count(), 0u);
  EXPECT_EQ(stats.compute_infer().count(), 0u);
}

}  // namespace
}  // namespace seraph
