#pragma once
// What every guard's tests use: an exchange on a fake I/O loop that the test drives by hand, so
// "on the I/O thread", timers and resumption from another thread are all made to happen on cue.
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "guards/exchange.h"
#include "models/model_manager.h"
#include "test_support.h"

namespace seraph::testing {

// The demo sentiment model's versions 1 and 2 in a repository of their own, loaded: what the
// suites of the guards that route requests route them to (one per suite: loading takes a while).
struct SentimentVersions {
  SentimentVersions() {
    for (const char* v : {"1", "2"}) {
      std::filesystem::create_directories(repo.path() / "sentiment" / v);
      std::filesystem::copy(demo_models() / "sentiment" / v, repo.path() / "sentiment" / v,
                            std::filesystem::copy_options::recursive);
    }
    models.load_all();
  }
  TempDir repo;
  MetricsRegistry registry;
  ModelManager models{repo.path(), LifecycleOptions{}, registry};
};

// The test's thread is the loop's thread. Work dispatched from elsewhere waits until run_posted().
class FakeLoop final : public ExchangeLoop {
 public:
  bool on_loop_thread() const override { return std::this_thread::get_id() == owner_; }
  void post(std::function<void()> run) override {
    std::lock_guard lock(mutex_);
    posted_.push_back(std::move(run));
  }
  void run_at(TimePoint when, std::function<void()> run) override { timer_ = {when, std::move(run)}; }
  void set_deadline(TimePoint deadline, std::function<void()> expired) override {
    deadline_ = {deadline, std::move(expired)};
  }

  // Runs what other threads dispatched; returns how many ran.
  size_t run_posted() {
    std::deque<std::function<void()>> posted;
    {
      std::lock_guard lock(mutex_);
      posted.swap(posted_);
    }
    for (auto& run : posted) run();
    return posted.size();
  }
  // Drops what is still pending: a pending wait holds its exchange, which holds the loop (as a
  // connection's timer does until the answer is written), so a test that leaves one must drop it.
  void drop_pending() {
    timer_.reset();
    deadline_.reset();
    std::lock_guard lock(mutex_);
    posted_.clear();
  }
  bool has_timer() const { return timer_.has_value(); }
  TimePoint timer_at() const { return timer_->first; }
  void fire_timer() {
    auto run = std::move(timer_->second);
    timer_.reset();
    run();
  }
  bool has_deadline() const { return deadline_.has_value(); }
  TimePoint deadline_at() const { return deadline_->first; }
  void expire_deadline() {
    auto run = std::move(deadline_->second);
    deadline_.reset();
    run();
  }

 private:
  const std::thread::id owner_ = std::this_thread::get_id();
  std::mutex mutex_;
  std::deque<std::function<void()>> posted_;
  std::optional<std::pair<TimePoint, std::function<void()>>> timer_;
  std::optional<std::pair<TimePoint, std::function<void()>>> deadline_;
};

// A FakeLoop for one test, whose pending waits are dropped when the test ends.
struct LoopScope {
  LoopScope() = default;
  LoopScope(const LoopScope&) = delete;
  LoopScope& operator=(const LoopScope&) = delete;
  ~LoopScope() { loop->drop_pending(); }
  std::shared_ptr<FakeLoop> loop = std::make_shared<FakeLoop>();
};

// A fresh exchange for an inference request with these headers.
inline std::shared_ptr<Exchange> make_exchange(std::shared_ptr<FakeLoop> loop,
                                               std::vector<std::pair<std::string, std::string>> headers = {},
                                               InferRequest request = {}) {
  auto exchange = std::make_shared<Exchange>(std::move(loop), Clock::now());
  for (const auto& [name, value] : headers) exchange->headers.add(name, value);
  exchange->request = std::make_shared<const InferRequest>(std::move(request));
  return exchange;
}

// The value of the answer's header `name` that guards added; empty when none did.
inline std::string response_header(const Exchange& exchange, std::string_view name) {
  for (const auto& [n, v] : exchange.response_headers) {
    if (n == name) return v;
  }
  return "";
}

}  // namespace seraph::testing
