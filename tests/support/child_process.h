#pragma once
// What the test servers (PostgreSQL, Redis) share to run a real server as a child process: a free
// port to give it, waiting for it to exit with a deadline, and failing between fork and exec.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace seraph::testing {

inline std::runtime_error system_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// A port nothing listens on now. Another process may take it before the server binds it: the
// servers notice and try another.
inline uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw system_error("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  if (!ok) {
    const auto error = system_error("cannot find a free port");
    close(fd);
    throw error;
  }
  close(fd);
  return ntohs(address.sin_port);
}

// The wait status of `pid`, or nullopt when it is still running at `deadline`.
inline std::optional<int> wait_until(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    int status = 0;
    const pid_t waited = waitpid(pid, &status, WNOHANG);
    if (waited == pid) return status;
    if (waited < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Stops the child `pid` with SIGSTOP and returns once every thread of it has stopped: kill() returns
// before the signal takes effect, and a child still running could answer one more request. Throws
// when it has not stopped by `deadline`.
inline void stop_child(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  if (::kill(pid, SIGSTOP) != 0) throw system_error("SIGSTOP");
  while (true) {
    int status = 0;
    const pid_t waited = waitpid(pid, &status, WUNTRACED | WNOHANG);
    if (waited == pid && WIFSTOPPED(status)) return;
    if (waited < 0) throw system_error("waiting for the child to stop");
    if (waited == pid) throw std::runtime_error("the child exited instead of stopping");
    if (std::chrono::steady_clock::now() >= deadline) throw std::runtime_error("the child did not stop in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Between fork and exec only async-signal-safe calls: no std::string, no allocation.
[[noreturn]] inline void child_failed(const char* what) {
  const ssize_t ignored = write(STDERR_FILENO, what, std::strlen(what));
  (void)ignored;
  _exit(127);
}

}  // namespace seraph::testing
