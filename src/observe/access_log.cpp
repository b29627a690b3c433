#include "observe/access_log.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

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

std::atomic<uint64_t> next_instance{1};

// Which bytes a JSON string in the log escapes: one table lookup per byte.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x7f;
  return table;
}();

// A JSON string of untrusted bytes: quotes, backslashes, control characters and every byte
// outside ASCII are escaped, so a line is valid JSON whatever the client sent. Runs of plain
// characters are copied whole.
void append_json_string(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (!kNeedsEscape[c]) continue;
    out.append(value.data() + run, i - run);
    run = i + 1;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out.append(escaped, sizeof escaped);
    }
  }
  out.append(value.data() + run, value.size() - run);
  out += '"';
}

template <class... Format>
void append_number(std::string& out, auto value, Format... format) {
  char digits[32];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, value, format...).ptr);
}

// "2026-11-23T01:26:15.123Z"; the part up to the seconds is formatted once a second per thread.
void append_time(std::string& out) {
  thread_local std::time_t cached_second = -1;
  thread_local char cached[24];
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t second = static_cast<std::time_t>(ms / 1000);
  if (second != cached_second) {
    std::tm utc{};
    gmtime_r(&second, &utc);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &utc);
    cached_second = second;
  }
  out += cached;
  const auto millis = static_cast<int>(ms % 1000);
  const char fraction[] = {'.', static_cast<char>('0' + millis / 100), static_cast<char>('0' + millis / 10 % 10),
                           static_cast<char>('0' + millis % 10), 'Z'};
  out.append(fraction, sizeof fraction);
}

void write_all(int fd, const std::string& data) {
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
  if (buffer.lines.size() > kMaxBufferedBytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::string& out = buffer.lines;
  out += R"({"time":")";
  append_time(out);
  out += '"';
  auto member = [&out](const char* key, std::string_view value) {
    out += ",\"";
    out += key;
    out += "\":";
    append_json_string(out, value);
  };
  member("request_id", r.request_id);
  member("method", r.method);
  member("path", r.path);
  if (r.model.empty()) {
    out += R"(,"model":null)";
  } else {
    member("model", r.model);
  }
  if (r.version == 0) {
    out += R"(,"version":null)";
  } else {
    out += R"(,"version":)";
    append_number(out, r.version);
  }
  if (!r.deployment.empty()) {
    member("deployment", r.deployment);
    member("environment", r.environment);
    member("variant", r.variant);
  }
  out += R"(,"status":)";
  append_number(out, r.status);
  out += R"(,"latency_ms":)";
  append_number(out, r.latency_ms, std::chars_format::fixed, 3);
  out += "}\n";
}

void AccessLog::on_finished(const FinishedRequest& r) {
  if (r.handler == Handler::kHealth || r.handler == Handler::kV2Health || r.handler == Handler::kMetrics) return;
  record({r.request_id, r.method, r.path, r.model, r.version, r.status, r.seconds * 1000, r.deployment, r.environment,
          r.variant});
}

void AccessLog::flush() {
  std::lock_guard writer(flush_mutex_);
  std::vector<std::shared_ptr<ThreadBuffer>> buffers;
  {
    std::lock_guard lock(buffers_mutex_);
    buffers = buffers_;
  }
  std::string pending;
  bool any_ended = false;
  for (const auto& b : buffers) {
    {
      std::lock_guard lock(b->mutex);
      pending.swap(b->lines);
      any_ended = any_ended || b->ended;
    }
    write_all(fd_, pending);
    pending.clear();
  }
  if (!any_ended) return;
  // An ended buffer is freed once written out; one whose thread wrote again before it ended keeps
  // those lines for the next flush.
  std::lock_guard lock(buffers_mutex_);
  std::erase_if(buffers_, [](const std::shared_ptr<ThreadBuffer>& b) {
    std::lock_guard buffer_lock(b->mutex);
    return b->ended && b->lines.empty();
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
