#include "redis_server.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "child_process.h"

namespace seraph::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const char* const kRedisServer = "/usr/bin/redis-server";
constexpr int kPortAttempts = 5;

struct ContextFreer {
  void operator()(redisContext* context) const { redisFree(context); }
};
struct ReplyFreer {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};

}  // namespace

RedisServer::RedisServer(std::vector<std::string> extra_args, std::chrono::seconds deadline)
    : extra_args_(std::move(extra_args)), deadline_(deadline) {
  std::string pattern = (fs::temp_directory_path() / "seraph-redis-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw system_error("mkdtemp " + pattern);
  root_ = pattern;
  try {
    bool started = false;
    for (int attempt = 0; attempt < kPortAttempts && !started; ++attempt) {
      port_ = free_port();
      started = start();
    }
    if (!started) throw std::runtime_error("Redis found no free port in " + std::to_string(kPortAttempts) + " tries");
  } catch (...) {
    stop();
    std::error_code ignored;
    fs::remove_all(root_, ignored);
    throw;
  }
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

void RedisServer::kill() {
  if (server_pid_ <= 0) return;
  ::kill(server_pid_, SIGKILL);
  waitpid(server_pid_, nullptr, 0);
  server_pid_ = -1;
}

void RedisServer::restart() {
  kill();
  if (!start())
    throw std::runtime_error("Redis cannot listen on port " + std::to_string(port_) + " again; log:\n" + log());
}

bool RedisServer::start() {
  std::vector<std::string> args = {
      kRedisServer, "--port", std::to_string(port_), "--bind",      "127.0.0.1", "--save", "", "--appendonly",
      "no",         "--dir",  root_.string(),        "--daemonize", "no"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log_path = (root_ / "server.log").string();
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw system_error("open " + log_path);
  const size_t log_start = log().size();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0) {
      child_failed("cannot redirect stdin/stdout/stderr\n");
    }
    // The check closes the race with a parent that died before it.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) child_failed("the test process is gone\n");
    execv(argv[0], argv.data());
    child_failed("cannot execute redis-server\n");
  }
  close(log_fd);
  if (pid < 0) throw system_error("fork");
  server_pid_ = pid;

  const auto deadline = Clock::now() + deadline_;
  while (Clock::now() < deadline) {
    if (answers_ping()) return true;
    if (wait_until(server_pid_, Clock::now())) {
      server_pid_ = -1;
      if (log().find("Address already in use", log_start) != std::string::npos) return false;
      throw std::runtime_error("Redis exited at start; log:\n" + log());
    }
    std::this_thread::sleep_for(10ms);
  }
  throw std::runtime_error("Redis did not answer PING on port " + std::to_string(port_) + " in time; log:\n" + log());
}

// Any reply counts, an error too: a server with a password answers PING with NOAUTH.
bool RedisServer::answers_ping() const {
  const std::unique_ptr<redisContext, ContextFreer> context(redisConnectWithTimeout("127.0.0.1", port_, {1, 0}));
  if (!context || context->err) return false;
  if (redisSetTimeout(context.get(), {1, 0}) != REDIS_OK) return false;
  const std::unique_ptr<redisReply, ReplyFreer> reply(static_cast<redisReply*>(redisCommand(context.get(), "PING")));
  return reply != nullptr;
}

void RedisServer::stop() noexcept {
  if (server_pid_ <= 0) return;
  // No persistence to flush: SIGTERM only to let it close its connections in order.
  ::kill(server_pid_, SIGTERM);
  if (!wait_until(server_pid_, Clock::now() + 10s)) {
    ::kill(server_pid_, SIGKILL);
    waitpid(server_pid_, nullptr, 0);
  }
  server_pid_ = -1;
}

std::string RedisServer::log() const {
  std::ifstream in(root_ / "server.log");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace seraph::testing
