#pragma once
// A real, private PostgreSQL server for tests. The constructor initialises a data directory in a
// fresh temp dir and starts the server there: listening on 127.0.0.1 only, on a free port, its
// Unix socket in the same temp dir, trust authentication, fsync on. The destructor stops it and
// removes the directory; should the test process die first, the server gets SIGQUIT and exits.
//
// Under root (initdb refuses root) the server runs as the `postgres` system user. Needs no test
// framework, so every suite can use it. Not thread-safe.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace seraph::testing {

class PostgresServer {
 public:
  // Throws std::runtime_error, with the server's log, when it is not serving within `deadline`.
  explicit PostgresServer(std::chrono::seconds deadline = std::chrono::seconds(30));
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  uint16_t port() const { return port_; }
  // postgres://postgres@127.0.0.1:PORT/seraph_test (created at start).
  std::string url() const { return database_url("seraph_test"); }
  // Creates an empty database of its own and returns its URL, so that tests stay independent.
  std::string fresh_database_url();

 private:
  std::string database_url(const std::string& database) const;
  pid_t spawn(const std::vector<std::string>& args, bool die_with_parent);
  void run_to_completion(const std::vector<std::string>& args);
  // False when the server exited because its port was taken meanwhile (worth another port).
  bool start_server();
  void create_database(const std::string& name);
  void stop() noexcept;
  std::string log() const;

  std::chrono::steady_clock::time_point deadline_;
  std::filesystem::path root_;  // the temp dir: data/, the socket, server.log
  uid_t server_uid_;
  gid_t server_gid_;
  pid_t server_pid_ = -1;
  uint16_t port_ = 0;
  int databases_created_ = 0;
};

}  // namespace seraph::testing
