#pragma once
// One JSON line per answered request. Each thread appends to its own buffer (its own uncontended
// lock, no shared one); a background thread writes the buffers out every 50 ms, so a request never
// waits on a syscall, the terminal or the disk. A thread that ends marks its buffer ended; the next
// flush writes out what it holds and frees it. If the output cannot keep up, lines beyond a bound
// are dropped and counted rather than slowing requests down.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "observe/request_observer.h"

namespace seraph {

struct AccessRecord {
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  std::string_view model;    // empty when the request named no model
  int64_t version = 0;       // 0 when no version served it
  unsigned status = 0;
  double latency_ms = 0;
  std::string_view deployment = {};  // when a deployment's variant served it
  std::string_view environment = {};
  std::string_view variant = {};
  TimePoint finished = Clock::now();  // when it was answered: the line's time
};

class AccessLog final : public RequestObserver {
 public:
  // Writes to `fd` (standard output by default) when enabled; does nothing otherwise.
  explicit AccessLog(bool enabled, int fd = 1);
  ~AccessLog() override;  // writes out everything recorded
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void record(const AccessRecord& record);
  // Logs every request but the probes and scrapes (health, metrics), which would drown the rest.
  void on_finished(const FinishedRequest& request) override;
  // Writes out every thread's buffer now.
  void flush();
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Thread buffers held: one per thread that recorded and has not ended since the last flush.
  size_t buffer_count() const;

 private:
  struct ThreadBuffer {
    std::mutex mutex;
    // The lines are the first `used` bytes; the string's size beyond them is room for the next
    // line, written through a pointer without the string filling it in first.
    std::string lines;
    size_t used = 0;
    // The lines being written out: flush swaps the two, so each keeps its room from one flush to
    // the next. Only flush (one at a time) touches it.
    std::string spare;
    bool ended = false;  // its thread is gone: no more lines will come
  };
  ThreadBuffer& local_buffer();
  void run_flusher();

  const bool enabled_;
  const int fd_;
  const uint64_t instance_;  // tells thread-local caches of different logs apart
  mutable std::mutex buffers_mutex_;  // taken once per thread, when it first records, and by flush
  // Shared with the thread's own handle, which marks it ended when the thread exits (even after
  // this log is gone).
  std::vector<std::shared_ptr<ThreadBuffer>> buffers_;
  std::mutex flush_mutex_;    // one writer at a time, so lines never interleave
  std::atomic<uint64_t> dropped_{0};
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread flusher_;
};

// Sets up the process logger (JSON lines on stderr) at the given level.
void configure_logging(std::string_view level);

}  // namespace seraph
