#pragma once
// A real, private Redis server for tests: /usr/bin/redis-server listening on 127.0.0.1 only, on a
// free port, with no persistence (no RDB snapshots, no AOF), its working dir and log in a fresh
// temp dir. It can be killed with SIGKILL (a crash: connections drop, nothing is said) and started
// again on the same port. The destructor stops it and removes the dir; should the test process
// die first, the server gets SIGKILL. Needs no test framework, so every suite can use it. Not
// thread-safe.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace seraph::testing {

class RedisServer {
 public:
  // `extra_args` go to redis-server as they are (e.g. {"--requirepass", "secret"}). Throws
  // std::runtime_error, with the server's log, when it is not answering within `deadline`.
  explicit RedisServer(std::vector<std::string> extra_args = {},
                       std::chrono::seconds deadline = std::chrono::seconds(10));
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  // SIGKILL, and waits until it is gone.
  void kill();
  // Starts it again on the same port, and waits until it answers (throws as the constructor does).
  void restart();

 private:
  // False when the server exited because its port was taken meanwhile (worth another port).
  bool start();
  bool answers_ping() const;
  void stop() noexcept;
  std::string log() const;

  std::vector<std::string> extra_args_;
  std::chrono::seconds deadline_;
  std::filesystem::path root_;  // the temp dir: the working dir and server.log
  pid_t server_pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace seraph::testing
