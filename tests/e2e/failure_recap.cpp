// A recap of every failure, printed once more after GoogleTest's summary: the end of a long run's
// output is what a CI log keeps when it keeps only part. Each failed test is shown with its
// failed assertions and the last lines of the log of every server that exited during it (a
// server killed on purpose says what it was doing; one that crashed says why).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "server_process.h"

namespace seraph::test {
namespace {

constexpr size_t kMaxMessage = 4000;  // characters of one assertion's message

class FailureRecap : public ::testing::EmptyTestEventListener {
 public:
  FailureRecap() {
    ServerProcess::report_exits_to([this](pid_t pid, const std::string& log_tail) {
      std::lock_guard lock(mutex_);
      server_logs_ += "  server " + std::to_string(pid) + " exited; its log ended with:\n" + indent(log_tail);
    });
  }

  void OnTestStart(const ::testing::TestInfo&) override {
    std::lock_guard lock(mutex_);
    failures_.clear();
    server_logs_.clear();
  }

  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::string message = result.message();
    if (message.size() > kMaxMessage) message = message.substr(0, kMaxMessage) + " [...]";
    std::lock_guard lock(mutex_);
    failures_ += "  " + std::string(result.file_name() ? result.file_name() : "?") + ":" +
                 std::to_string(result.line_number()) + "\n" + indent(message);
  }

  void OnTestEnd(const ::testing::TestInfo& test) override {
    if (!test.result()->Failed()) return;
    std::lock_guard lock(mutex_);
    recap_.push_back(std::string(test.test_suite_name()) + "." + test.name() + "\n" + failures_ + server_logs_);
  }

  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    ServerProcess::report_exits_to(nullptr);  // servers destroyed after this outlive the listener
    std::lock_guard lock(mutex_);
    if (recap_.empty()) return;
    std::printf("\n[ recap    ] %zu failed test(s), repeated here with the end of their servers' logs:\n",
                recap_.size());
    for (const std::string& entry : recap_) std::printf("[ FAILED   ] %s", entry.c_str());
    std::fflush(stdout);
  }

 private:
  static std::string indent(const std::string& text) {
    std::string out;
    for (size_t start = 0; start < text.size();) {
      const size_t end = std::min(text.find('\n', start), text.size());
      out += "    " + text.substr(start, end - start) + "\n";
      start = end + 1;
    }
    return out;
  }

  std::mutex mutex_;  // servers may exit on a test's helper threads
  std::string failures_;
  std::string server_logs_;
  std::vector<std::string> recap_;
};

// Registered before main() runs the tests; GoogleTest owns and deletes the listener.
[[maybe_unused]] const bool kRegistered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new FailureRecap);
  return true;
}();

}  // namespace
}  // namespace seraph::test
