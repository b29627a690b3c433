#include "observe/process_metrics.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace seraph {
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

namespace {

double cpu_seconds() {
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double open_fds() {
  std::error_code ec;
  double count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++count;
  }
  return count;
}

}  // namespace

void register_process_metrics(MetricsRegistry& registry) {
  Gauge& rss = registry.gauge("seraph_process_resident_memory_bytes", "Resident memory size in bytes.").get({});
  Gauge& cpu = registry.sampled_counter("seraph_process_cpu_seconds_total", "User and system CPU time spent, in seconds.").get({});
  Gauge& fds = registry.gauge("seraph_process_open_fds", "Number of open file descriptors.").get({});
  Gauge& start = registry.gauge("seraph_process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.").get({});
  start.set(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  registry.on_collect([&rss, &cpu, &fds] {
    rss.set(resident_bytes());
    cpu.set(cpu_seconds());
    fds.set(open_fds());
  });
}

}  // namespace seraph
