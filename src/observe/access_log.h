#pragma once
// One JSON line per answered request, written by spdlog's background thread so the request never
// waits on the terminal or disk.
#include <cstdint>
#include <memory>
#include <string_view>

namespace spdlog { class logger; }

namespace seraph {

struct AccessRecord {
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  std::string_view model;    // empty when the request named no model
  int64_t version = 0;       // 0 when no version served it
  unsigned status = 0;
  double latency_ms = 0;
};

class AccessLog {
 public:
  explicit AccessLog(bool enabled);
  void record(const AccessRecord& record);

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

// Sets up the process logger (JSON lines on stderr) at the given level.
void configure_logging(std::string_view level);

}  // namespace seraph
