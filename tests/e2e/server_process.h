#pragma once
// Runs the real seraph binary as a child process for end-to-end tests.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace seraph::test {

class ServerProcess {
 public:
  // Starts `seraph serve -c config` with extra environment variables, waits until it logs the
  // port it listens on and, when `wait_ready`, until /readyz answers 200.
  ServerProcess(const std::filesystem::path& config, std::vector<std::pair<std::string, std::string>> env = {},
                bool wait_ready = true);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits for the exit; returns the exit status (or 128 + signal when killed),
  // or -2 when it had to be killed after `timeout`.
  int stop(int signal, std::chrono::seconds timeout = std::chrono::seconds(20));
  // Everything the server wrote to stderr (its log) and stdout (the access log) so far.
  std::string log();
  std::string access_log();

  // Called with the end of the log of each server that exits (stopped, killed or gone), so a test
  // binary can show what the servers of a failed test said (see failure_recap.cpp).
  using ExitReporter = std::function<void(pid_t pid, const std::string& log_tail)>;
  static void report_exits_to(ExitReporter reporter);

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::filesystem::path stderr_file_;
  std::filesystem::path stdout_file_;
};

// Runs the binary with `args` to completion; returns the exit status and what it printed.
struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};
CommandResult run_seraph(const std::vector<std::string>& args);

std::filesystem::path seraph_binary();
std::filesystem::path make_temp_dir(const std::string& prefix);
void write_file(const std::filesystem::path& path, const std::string& content);
std::string read_file(const std::filesystem::path& path);

}  // namespace seraph::test
