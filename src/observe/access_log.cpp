#include "observe/access_log.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <utility>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/json_string.h"
#include "core/thousandths.h"

namespace seraph {

void configure_logging(std::string_view level) {
  auto logger = spdlog::stderr_logger_mt("seraph");
  logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","event":%v})", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(logger);
}

namespace {

constexpr size_t kMaxBufferedBytes = 4 * 1024 * 1024;  // per thread, between two flushes
constexpr auto kFlushInterval = std::chrono::milliseconds(50);
constexpr size_t kKeptRoomBytes = 1024 * 1024;  // per thread and buffer, when fewer lines come

std::atomic<uint64_t> next_instance{1};

// Writes one line through a pointer into space the caller reserved (line_bound()): no capacity
// check per piece, which on a line of some thirty pieces cost more than the formatting.
class LineWriter {
 public:
  explicit LineWriter(char* at) : at_(at) {}
  char* end() const { return at_; }

  void raw(std::string_view text) {
    std::memcpy(at_, text.data(), text.size());
    at_ += text.size();
  }
  // A literal: its length known when compiled, the copy is a few moves rather than a call.
  template <size_t N>
  void raw(const char (&text)[N]) {
    std::memcpy(at_, text, N - 1);
    at_ += N - 1;
  }

  // A JSON string of untrusted bytes: quotes, backslashes, control characters and every byte
  // outside ASCII are escaped, so a line is valid JSON whatever the client sent. At most six
  // bytes out per byte in.
  void json_string(std::string_view value) { at_ = write_json_string(at_, value, JsonBytes::kAscii); }

  template <size_t N>
  void member(const char (&key_and_colon)[N], std::string_view value) {
    raw(key_and_colon);
    json_string(value);
  }

  // A number too long for its space (a latency of 1e300 ms) is written as null.
  template <class... Format>
  void number(auto value, Format... format) {
    const auto [end, error] = std::to_chars(at_, at_ + kNumberBytes, value, format...);
    if (error == std::errc()) {
      at_ = end;
    } else {
      raw("null");
    }
  }

  // Milliseconds to the microsecond: "12.345".
  void thousandths(double value) {
    char text[kNumberBytes];
    if (const size_t size = format_thousandths_fixed(value, text)) {
      raw({text, size});
    } else {
      number(value, std::chars_format::fixed, 3);
    }
  }

  // "2026-11-23T01:26:15.123Z"; the part up to the seconds is formatted once a second per thread.
  void utc_time(TimePoint when) {
    thread_local std::time_t cached_second = -1;
    thread_local char cached[24];
    const auto now = wall_clock_at(when);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t second = static_cast<std::time_t>(ms / 1000);
    if (second != cached_second) {
      std::tm utc{};
      gmtime_r(&second, &utc);
      std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &utc);
      cached_second = second;
    }
    raw(std::string_view(cached, 19));
    const auto millis = static_cast<int>(ms % 1000);
    *at_++ = '.';
    *at_++ = static_cast<char>('0' + millis / 100);
    *at_++ = static_cast<char>('0' + millis / 10 % 10);
    *at_++ = static_cast<char>('0' + millis % 10);
    *at_++ = 'Z';
  }

  static constexpr size_t kNumberBytes = 32;

 private:
  char* at_;
};

// The most bytes a record's line can take: its fixed text, numbers, and six per string byte.
size_t line_bound(const AccessRecord& r) {
  const size_t strings = r.request_id.size() + r.method.size() + r.path.size() + r.model.size() +
                         r.deployment.size() + r.environment.size() + r.variant.size();
  return 256 + 3 * LineWriter::kNumberBytes + 6 * strings;
}

void write_all(int fd, std::string_view data) {
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the reader is gone; nothing useful to do with the lines
    written += static_cast<size_t>(n);
  }
}

}  // namespace

AccessLog::AccessLog(bool enabled, int fd)
    : enabled_(enabled), fd_(fd), instance_(next_instance.fetch_add(1)) {
  if (enabled_) flusher_ = std::thread([this] { run_flusher(); });
}

AccessLog::~AccessLog() {
  if (!enabled_) return;
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  flusher_.join();
  flush();
}

AccessLog::ThreadBuffer& AccessLog::local_buffer() {
  // The thread's handle on its buffer: when the thread ends, or records to another log, the
  // buffer is marked ended so that the flusher writes its last lines and frees it.
  struct Handle {
    uint64_t owner = 0;
    std::shared_ptr<ThreadBuffer> buffer;
    void release() {
      if (!buffer) return;
      std::lock_guard lock(buffer->mutex);
      buffer->ended = true;
    }
    ~Handle() { release(); }
  };
  thread_local Handle handle;
  if (handle.owner != instance_) {
    handle.release();
    auto buffer = std::make_shared<ThreadBuffer>();
    {
      std::lock_guard lock(buffers_mutex_);
      buffers_.push_back(buffer);
    }
    handle.buffer = std::move(buffer);
    handle.owner = instance_;
  }
  return *handle.buffer;
}

size_t AccessLog::buffer_count() const {
  std::lock_guard lock(buffers_mutex_);
  return buffers_.size();
}

void AccessLog::record(const AccessRecord& r) {
  if (!enabled_) return;
  ThreadBuffer& buffer = local_buffer();
  std::lock_guard lock(buffer.mutex);  // only the flusher ever competes for it
  if (buffer.used > kMaxBufferedBytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::string& out = buffer.lines;
  if (const size_t needed = buffer.used + line_bound(r); out.size() < needed) {
    out.resize(std::max(out.size() * 2, needed));
  }
  LineWriter line(out.data() + buffer.used);
  line.raw(R"({"time":")");
  line.utc_time(r.finished);
  line.raw("\"");
  line.member(R"(,"request_id":)", r.request_id);
  line.member(R"(,"method":)", r.method);
  line.member(R"(,"path":)", r.path);
  if (r.model.empty()) {
    line.raw(R"(,"model":null)");
  } else {
    line.member(R"(,"model":)", r.model);
  }
  if (r.version == 0) {
    line.raw(R"(,"version":null)");
  } else {
    line.raw(R"(,"version":)");
    line.number(r.version);
  }
  if (!r.deployment.empty()) {
    line.member(R"(,"deployment":)", r.deployment);
    line.member(R"(,"environment":)", r.environment);
    line.member(R"(,"variant":)", r.variant);
  }
  line.raw(R"(,"status":)");
  line.number(r.status);
  line.raw(R"(,"latency_ms":)");
  line.thousandths(r.latency_ms);
  line.raw("}\n");
  buffer.used = static_cast<size_t>(line.end() - out.data());
}

void AccessLog::on_finished(const FinishedRequest& r) {
  if (r.handler == Handler::kHealth || r.handler == Handler::kV2Health || r.handler == Handler::kMetrics) return;
  record({r.request_id, r.method, r.path, r.model, r.version, r.status, r.seconds * 1000, r.deployment, r.environment,
          r.variant, r.finished});
}

void AccessLog::flush() {
  std::lock_guard writer(flush_mutex_);
  std::vector<std::shared_ptr<ThreadBuffer>> buffers;
  {
    std::lock_guard lock(buffers_mutex_);
    buffers = buffers_;
  }
  bool any_ended = false;
  for (const auto& b : buffers) {
    size_t used = 0;
    {
      std::lock_guard lock(b->mutex);
      b->lines.swap(b->spare);
      used = std::exchange(b->used, 0);
      any_ended = any_ended || b->ended;
    }
    write_all(fd_, std::string_view(b->spare).substr(0, used));
    // Room a burst grew is given back once the lines are far fewer again.
    if (b->spare.size() > kKeptRoomBytes && b->spare.size() > 4 * used) std::string().swap(b->spare);
  }
  if (!any_ended) return;
  // An ended buffer is freed once written out; one whose thread wrote again before it ended keeps
  // those lines for the next flush.
  std::lock_guard lock(buffers_mutex_);
  std::erase_if(buffers_, [](const std::shared_ptr<ThreadBuffer>& b) {
    std::lock_guard buffer_lock(b->mutex);
    return b->ended && b->used == 0;
  });
}

void AccessLog::run_flusher() {
  std::unique_lock lock(stop_mutex_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, kFlushInterval, [this] { return stopping_; });
    lock.unlock();
    flush();
    lock.lock();
  }
}

}  // namespace seraph
