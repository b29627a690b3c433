// Out of file descriptors: the server stops accepting without spinning on the failing accept, and
// accepts again once descriptors are free.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_env.h"

namespace seraph::test {
namespace {

// CPU time (user + system) the process `pid` has used, in seconds.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // the command name may hold spaces
  std::string field;
  for (int i = 3; i < 14; ++i) fields >> field;  // fields 3..13: state .. majflt
  long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

size_t open_descriptors(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(Descriptors, OutOfDescriptorsTheServerBacksOffInsteadOfSpinningAndAcceptsAgainLater) {
  ServerProcess server(write_config(shared_repository()), {{"SERAPH_SERVER_IO_THREADS", "1"}});
  const pid_t pid = server.pid();
  // A few descriptors to spare, then none: the clients below take them all.
  const rlim_t limit = open_descriptors(pid) + 4;
  const rlimit low{limit, limit};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &low, nullptr), 0);

  std::vector<int> clients;
  for (int i = 0; i < 32; ++i) {
    const int fd = connect_to(server.port());  // completes in the listen backlog, accepted or not
    ASSERT_GE(fd, 0);
    clients.push_back(fd);
  }
  ASSERT_TRUE(eventually([&] { return open_descriptors(pid) >= limit; })) << "the server never ran out of descriptors";

  // A measurement window, not a wait for a condition: an accept loop that spins uses the whole second.
  const double before = cpu_seconds(pid);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double used = cpu_seconds(pid) - before;
  EXPECT_LT(used, 0.3) << "the server used " << used << " s of CPU in 1 s while out of descriptors";

  for (int fd : clients) ::close(fd);
  EXPECT_TRUE(eventually([&] {
    return raw_exchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2000)
               .find("HTTP/1.1 200") != std::string::npos;
  }));
  EXPECT_NE(server.log().find("accepting connections again"), std::string::npos);
  // One warning per episode, not one per failed accept.
  const std::string log = server.log();
  size_t warnings = 0;
  for (size_t at = log.find("cannot accept connections"); at != std::string::npos;
       at = log.find("cannot accept connections", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u);
}

}  // namespace
}  // namespace seraph::test
