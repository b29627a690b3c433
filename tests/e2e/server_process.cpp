#include "server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "http_client.h"

namespace seraph::test {

std::filesystem::path seraph_binary() { return SERAPH_BINARY; }

std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ServerProcess::ServerProcess(const std::filesystem::path& config, std::vector<std::pair<std::string, std::string>> env,
                             bool wait_ready) {
  const auto dir = make_temp_dir("seraph-server");
  stderr_file_ = dir / "stderr.log";
  stdout_file_ = dir / "stdout.log";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int err = open(stderr_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int out = open(stdout_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(err, 2);
    dup2(out, 1);
    setenv("SERAPH_SERVER_PORT", "0", 1);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    const std::string binary = seraph_binary().string();
    execl(binary.c_str(), binary.c_str(), "serve", "-c", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // The server logs {"msg":"listening",...,"port":N,...} once bound.
  const std::regex listening(R"("msg":"listening".*"port":([0-9]+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (port_ == 0) {
    std::smatch m;
    const std::string text = log();
    if (std::regex_search(text, m, listening)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1]));
      break;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      throw std::runtime_error("seraph exited with status " + std::to_string(code) + " before listening: " + text);
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("seraph did not listen in time: " + text);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!wait_ready) return;
  HttpClient client(port_);
  while (client.get("/readyz").status != 200) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("seraph not ready in time: " + log());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

namespace {

ServerProcess::ExitReporter& exit_reporter() {
  static ServerProcess::ExitReporter reporter;
  return reporter;
}

// The last `lines` lines of `text`.
std::string tail(const std::string& text, int lines) {
  size_t start = text.size();
  if (start > 0 && text[start - 1] == '\n') --start;  // the final newline ends the last line
  for (int n = 0; n < lines; ++n) {
    const size_t newline = start == 0 ? std::string::npos : text.rfind('\n', start - 1);
    if (newline == std::string::npos) return text;
    start = newline;
  }
  return text.substr(start + 1);
}

}  // namespace

void ServerProcess::report_exits_to(ExitReporter reporter) { exit_reporter() = std::move(reporter); }

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop(SIGKILL);
}

int ServerProcess::stop(int signal, std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  bool in_time = true;
  while (waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      in_time = false;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (exit_reporter()) exit_reporter()(pid_, tail(log(), 30));
  pid_ = -1;
  if (!in_time) return -2;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

std::string ServerProcess::log() { return read_file(stderr_file_); }
std::string ServerProcess::access_log() { return read_file(stdout_file_); }

CommandResult run_seraph(const std::vector<std::string>& args) {
  std::string command = seraph_binary().string();
  for (const auto& a : args) command += " '" + a + "'";
  command += " 2>&1";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace seraph::test
