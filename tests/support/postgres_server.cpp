#include "postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <postgresql/libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "child_process.h"

namespace seraph::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const fs::path kBinaries = "/usr/lib/postgresql/15/bin";
constexpr int kPortAttempts = 5;

struct ConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};

}  // namespace

PostgresServer::PostgresServer(std::chrono::seconds deadline) : deadline_(Clock::now() + deadline) {
  std::string pattern = (fs::temp_directory_path() / "seraph-pg-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw system_error("mkdtemp " + pattern);
  root_ = pattern;
  try {
    server_uid_ = geteuid();
    server_gid_ = getegid();
    if (server_uid_ == 0) {
      const passwd* user = getpwnam("postgres");
      if (!user) throw std::runtime_error("running as root, and there is no postgres user to run PostgreSQL as");
      server_uid_ = user->pw_uid;
      server_gid_ = user->pw_gid;
      if (chown(root_.c_str(), server_uid_, server_gid_) != 0) throw system_error("chown " + root_.string());
    }
    run_to_completion({(kBinaries / "initdb").string(), "--pgdata=" + (root_ / "data").string(), "--username=postgres",
                       "--auth=trust", "--encoding=UTF8", "--locale=C"});
    bool started = false;
    for (int attempt = 0; attempt < kPortAttempts && !started; ++attempt) started = start_server();
    if (!started)
      throw std::runtime_error("PostgreSQL found no free port in " + std::to_string(kPortAttempts) + " tries");
    create_database("seraph_test");
  } catch (...) {
    stop();
    std::error_code ignored;
    fs::remove_all(root_, ignored);
    throw;
  }
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

std::string PostgresServer::fresh_database_url() {
  const std::string name = "seraph_test_" + std::to_string(++databases_created_);
  create_database(name);
  return database_url(name);
}

std::string PostgresServer::database_url(const std::string& database) const {
  return "postgres://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

pid_t PostgresServer::spawn(const std::vector<std::string>& args, bool die_with_parent) {
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const std::string log_path = (root_ / "server.log").string();
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw system_error("open " + log_path);
  const bool switch_user = geteuid() != server_uid_;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0) {
      child_failed("cannot redirect stdin/stdout/stderr\n");
    }
    if (switch_user && (setgroups(0, nullptr) != 0 || setgid(server_gid_) != 0 || setuid(server_uid_) != 0)) {
      child_failed("cannot switch to the postgres user\n");
    }
    // After setuid, which clears it. The check closes the race with a parent that died before it.
    if (die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || getppid() != parent)) {
      child_failed("the test process is gone\n");
    }
    if (chdir(root_.c_str()) != 0) child_failed("cannot enter the temp dir\n");
    execv(argv[0], argv.data());
    child_failed("cannot execute a PostgreSQL binary\n");
  }
  close(log_fd);
  if (pid < 0) throw system_error("fork");
  return pid;
}

void PostgresServer::run_to_completion(const std::vector<std::string>& args) {
  const pid_t pid = spawn(args, false);
  const auto status = wait_until(pid, deadline_);
  if (!status) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    throw std::runtime_error(args[0] + " did not finish in time; log:\n" + log());
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    throw std::runtime_error(args[0] + " failed (wait status " + std::to_string(*status) + "); log:\n" + log());
  }
}

bool PostgresServer::start_server() {
  port_ = free_port();
  const size_t log_start = log().size();
  server_pid_ =
      spawn({(kBinaries / "postgres").string(), "-D", (root_ / "data").string(), "-p", std::to_string(port_), "-c",
             "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + root_.string(), "-c", "fsync=on"},
            true);
  const std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=postgres connect_timeout=2";
  while (Clock::now() < deadline_) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return true;
    if (wait_until(server_pid_, Clock::now())) {
      server_pid_ = -1;
      if (log().find("Address already in use", log_start) != std::string::npos) return false;
      throw std::runtime_error("PostgreSQL exited at start; log:\n" + log());
    }
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("PostgreSQL accepted no connection on port " + std::to_string(port_) + " in time; log:\n" +
                           log());
}

void PostgresServer::create_database(const std::string& name) {
  const std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=postgres connect_timeout=5";
  const std::unique_ptr<PGconn, ConnectionCloser> connection(PQconnectdb(conninfo.c_str()));
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to the test PostgreSQL: " + std::string(PQerrorMessage(connection.get())));
  }
  const std::unique_ptr<PGresult, ResultClearer> result(PQexec(connection.get(), ("CREATE DATABASE " + name).c_str()));
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    throw std::runtime_error("cannot create database " + name + ": " + PQerrorMessage(connection.get()));
  }
}

void PostgresServer::stop() noexcept {
  if (server_pid_ <= 0) return;
  // Immediate shutdown: the data directory is removed next, so the shutdown checkpoint (seconds
  // of fsync after many CREATE DATABASE) would be wasted.
  kill(server_pid_, SIGQUIT);
  if (!wait_until(server_pid_, Clock::now() + 10s)) {
    kill(server_pid_, SIGKILL);
    waitpid(server_pid_, nullptr, 0);
  }
  server_pid_ = -1;
}

std::string PostgresServer::log() const {
  std::ifstream in(root_ / "server.log");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace seraph::testing
