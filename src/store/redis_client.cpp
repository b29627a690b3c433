// RedisClient: hiredis's asynchronous API on an Asio io_context run by the client's own thread.
// hiredis says through its event hooks when it wants to read or write; an Asio stream_descriptor
// waits for that readiness on hiredis's socket (hiredis keeps owning the fd) and calls back into it.
// Every hiredis call happens on the client's thread, so the Driver needs no lock.
#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include "store/redis_client.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/clock.h"

namespace seraph {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr std::chrono::milliseconds kFirstBackoff{50};
constexpr std::chrono::milliseconds kMaxBackoff{2000};

RedisReply to_reply(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) out.elements.push_back(to_reply(*reply.element[i]));
      break;
    default: out.type = RedisReply::Type::kNil;
  }
  return out;
}

// The socket of one hiredis connection and what hiredis asked to wait for on it. Shared with the
// pending waits, so it outlives the hiredis context: after hiredis's cleanup hook, `context` is null
// and late wake-ups do nothing.
class Socket : public std::enable_shared_from_this<Socket> {
 public:
  Socket(asio::io_context& io, redisAsyncContext* context) : context_(context), descriptor_(io, context->c.fd) {}
  ~Socket() { release(); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  redisAsyncContext* context() const { return context_; }

  void attach() {
    context_->ev.data = this;
    context_->ev.addRead = [](void* self) { static_cast<Socket*>(self)->want(kRead); };
    context_->ev.delRead = [](void* self) { static_cast<Socket*>(self)->interest_[kRead].wanted = false; };
    context_->ev.addWrite = [](void* self) { static_cast<Socket*>(self)->want(kWrite); };
    context_->ev.delWrite = [](void* self) { static_cast<Socket*>(self)->interest_[kWrite].wanted = false; };
    context_->ev.cleanup = [](void* self) { static_cast<Socket*>(self)->release(); };
  }

 private:
  enum Direction { kRead, kWrite };
  struct Interest {
    bool wanted = false;   // hiredis asked for it and has not taken it back
    bool waiting = false;  // an async_wait is outstanding
  };

  void want(Direction direction) {
    Interest& interest = interest_[direction];
    interest.wanted = true;
    if (interest.waiting) return;
    interest.waiting = true;
    descriptor_.async_wait(
        direction == kRead ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
        [self = shared_from_this(), direction](const error_code& ec) { self->on_ready(direction, ec); });
  }

  void on_ready(Direction direction, const error_code& ec) {
    Interest& interest = interest_[direction];
    interest.waiting = false;
    if (!context_ || ec == asio::error::operation_aborted || !interest.wanted) return;
    // On any other error too: hiredis's read or write meets the socket's error and tears down.
    if (direction == kRead) {
      redisAsyncHandleRead(context_);
    } else {
      redisAsyncHandleWrite(context_);
    }
    // hiredis may have freed the context meanwhile (the cleanup hook ran), or still want more.
    if (context_ && interest.wanted) want(direction);
  }

  // hiredis is freeing the context and will close the fd: stop watching it, never close it.
  void release() {
    context_ = nullptr;
    interest_[kRead].wanted = interest_[kWrite].wanted = false;
    if (descriptor_.is_open()) descriptor_.release();
  }

  redisAsyncContext* context_;
  asio::posix::stream_descriptor descriptor_;
  Interest interest_[2];
};

}  // namespace

class RedisClient::Driver {
 public:
  explicit Driver(RedisOptions options)
      : options_(std::move(options)), endpoint_(options_.host + ":" + std::to_string(options_.port)) {
    asio::post(io_, [this] { connect(); });
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Driver() {
    asio::post(io_, [this] { shutdown(); });
    thread_.join();
  }

  void command(std::vector<std::string> args, Callback done) {
    commands_.fetch_add(1, std::memory_order_relaxed);
    // Counts what is posted and what hiredis still waits for (timed-out commands included): the
    // bound on both queues.
    if (outstanding_.fetch_add(1, std::memory_order_relaxed) >= options_.max_pending) {
      outstanding_.fetch_sub(1, std::memory_order_relaxed);
      overloaded_.fetch_add(1, std::memory_order_relaxed);
      asio::post(io_, [this, done = std::move(done)] {
        done(unavailable("too many Redis commands in flight (" + std::to_string(options_.max_pending) + ")"), {});
      });
      return;
    }
    // The deadline counts from the caller's call, not from when the client's thread gets to it.
    const TimePoint deadline = Clock::now() + options_.command_timeout;
    asio::post(io_, [this, args = std::move(args), done = std::move(done), deadline]() mutable {
      issue(std::move(args), std::move(done), deadline);
    });
  }

  bool connected() const { return connected_.load(std::memory_order_acquire); }

  RedisClientStats stats() const {
    return {.commands = commands_.load(std::memory_order_relaxed),
            .error_replies = error_replies_.load(std::memory_order_relaxed),
            .timeouts = timeouts_.load(std::memory_order_relaxed),
            .disconnected = disconnected_.load(std::memory_order_relaxed),
            .overloaded = overloaded_.load(std::memory_order_relaxed),
            .reconnects = reconnects_.load(std::memory_order_relaxed)};
  }

 private:
  enum class State { kConnecting, kReady, kBackingOff, kStopped };
  struct Pending {
    Callback done;
    TimePoint deadline;
  };

  void connect() {
    state_ = State::kConnecting;
    redisAsyncContext* context = redisAsyncConnect(options_.host.c_str(), options_.port);
    if (!context) return connection_lost("cannot allocate a hiredis context");
    if (context->err) {
      const std::string error = context->errstr;
      redisAsyncFree(context);
      return connection_lost(error);
    }
    try {
      socket_ = std::make_shared<Socket>(io_, context);
    } catch (const std::exception& error) {
      redisAsyncFree(context);
      return connection_lost(std::string("cannot watch the socket: ") + error.what());
    }
    socket_->attach();
    context->data = this;
    redisAsyncSetDisconnectCallback(context, [](const redisAsyncContext* context, int status) {
      static_cast<Driver*>(context->data)->connection_lost(context->err ? context->errstr : "connection closed");
    });
    // Watches for the first write readiness: connect(2) has finished, one way or the other.
    redisAsyncSetConnectCallback(context, [](const redisAsyncContext* context, int status) {
      auto* driver = static_cast<Driver*>(context->data);
      if (status != REDIS_OK) return driver->connection_lost(context->errstr ? context->errstr : "cannot connect");
      driver->start_handshake(const_cast<redisAsyncContext*>(context));
    });
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait([this, socket = socket_](const error_code& ec) {
      if (ec || socket != socket_ || state_ != State::kConnecting) return;
      redisAsyncContext* context = socket->context();
      connection_lost("not connected within " + std::to_string(options_.connect_timeout.count()) + " ms");
      if (context) redisAsyncFree(context);
    });
  }

  // Called from inside hiredis's connect handling, which goes on using the context afterwards: a
  // failure here is left to the connect timeout, which frees the context from outside hiredis.
  void start_handshake(redisAsyncContext* context) {
    handshake_replies_left_ = 0;
    if (!options_.password.empty()) {
      if (redisAsyncCommand(context, &Driver::on_handshake_reply, nullptr, "AUTH %b", options_.password.data(),
                            options_.password.size()) != REDIS_OK) {
        return;
      }
      ++handshake_replies_left_;
    }
    if (options_.database != 0) {
      if (redisAsyncCommand(context, &Driver::on_handshake_reply, nullptr, "SELECT %d", options_.database) !=
          REDIS_OK) {
        return;
      }
      ++handshake_replies_left_;
    }
    if (handshake_replies_left_ == 0) become_ready();
  }

  static void on_handshake_reply(redisAsyncContext* context, void* reply_pointer, void*) {
    auto* driver = static_cast<Driver*>(context->data);
    const auto* reply = static_cast<const redisReply*>(reply_pointer);
    // No reply: the connection is gone, and the disconnect callback or the connect timeout said so.
    if (!reply || driver->state_ != State::kConnecting) return;
    if (reply->type == REDIS_REPLY_ERROR) {
      driver->connection_lost("AUTH or SELECT refused: " + std::string(reply->str, reply->len));
      redisAsyncDisconnect(context);  // hiredis closes once this callback returns
      return;
    }
    if (--driver->handshake_replies_left_ == 0) driver->become_ready();
  }

  void become_ready() {
    state_ = State::kReady;
    connect_timer_.cancel();
    backoff_ = kFirstBackoff;
    if (ever_connected_) reconnects_.fetch_add(1, std::memory_order_relaxed);
    ever_connected_ = true;
    outage_logged_ = false;
    connected_.store(true, std::memory_order_release);
    spdlog::info(R"({{"msg":"connected to Redis","redis":"{}"}})", endpoint_);
  }

  // The connection failed or closed: try again after the backoff. hiredis fails the commands that
  // were waiting on it (their callbacks get no reply) before or right after this.
  void connection_lost(const std::string& reason) {
    if (state_ != State::kConnecting && state_ != State::kReady) return;  // already known, or stopping
    state_ = State::kBackingOff;
    connected_.store(false, std::memory_order_release);
    connect_timer_.cancel();
    if (!outage_logged_) {
      spdlog::warn(R"({{"msg":"Redis unavailable: reconnecting with backoff","redis":"{}","error":"{}"}})", endpoint_,
                   reason);
      outage_logged_ = true;
    }
    backoff_timer_.expires_after(backoff_);
    backoff_timer_.async_wait([this](const error_code& ec) {
      if (!ec && state_ == State::kBackingOff) connect();
    });
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  }

  void issue(std::vector<std::string> args, Callback done, TimePoint deadline) {
    const auto fail = [&](std::atomic<uint64_t>* counter, Status status) {
      outstanding_.fetch_sub(1, std::memory_order_relaxed);
      if (counter) counter->fetch_add(1, std::memory_order_relaxed);
      done(std::move(status), {});
    };
    if (args.empty()) return fail(nullptr, invalid_argument("a Redis command needs at least its name"));
    if (state_ != State::kReady)
      return fail(&disconnected_, unavailable("Redis at " + endpoint_ + " is not connected"));
    if (Clock::now() >= deadline) return fail(&timeouts_, timed_out());
    std::vector<const char*> argv(args.size());
    std::vector<size_t> lengths(args.size());
    for (size_t i = 0; i < args.size(); ++i) {
      argv[i] = args[i].data();
      lengths[i] = args[i].size();
    }
    const uint64_t sequence = next_sequence_++;
    // The sequence number, not a pointer, is hiredis's privdata: a reply after the timeout finds
    // nothing in pending_ and is dropped.
    if (redisAsyncCommandArgv(socket_->context(), &Driver::on_reply, reinterpret_cast<void*>(sequence),
                              static_cast<int>(args.size()), argv.data(), lengths.data()) != REDIS_OK) {
      return fail(&disconnected_, unavailable("the connection to Redis at " + endpoint_ + " is closing"));
    }
    pending_.emplace(sequence, Pending{std::move(done), deadline});
    arm_timeout();
  }

  static void on_reply(redisAsyncContext* context, void* reply_pointer, void* privdata) {
    auto* driver = static_cast<Driver*>(context->data);
    driver->outstanding_.fetch_sub(1, std::memory_order_relaxed);
    const auto found = driver->pending_.find(reinterpret_cast<uint64_t>(privdata));
    if (found == driver->pending_.end()) return;  // timed out already
    Callback done = std::move(found->second.done);
    driver->pending_.erase(found);
    const auto* reply = static_cast<const redisReply*>(reply_pointer);
    if (!reply) {
      driver->disconnected_.fetch_add(1, std::memory_order_relaxed);
      return done(unavailable("the connection to Redis at " + driver->endpoint_ + " was lost before the reply"), {});
    }
    if (reply->type == REDIS_REPLY_ERROR) driver->error_replies_.fetch_add(1, std::memory_order_relaxed);
    done(Status::ok(), to_reply(*reply));
  }

  Status timed_out() const {
    return unavailable("no reply from Redis at " + endpoint_ + " within " +
                       std::to_string(options_.command_timeout.count()) + " ms");
  }

  // One timer for all commands, set for the oldest one's deadline. Deadlines are taken on the
  // callers' threads, so they are in sequence order up to a few microseconds; a command later in
  // the order but due a little earlier fails at the next expiry.
  void arm_timeout() {
    if (timeout_armed_ || pending_.empty() || state_ == State::kStopped) return;
    timeout_armed_ = true;
    timeout_timer_.expires_at(pending_.begin()->second.deadline);
    timeout_timer_.async_wait([this](const error_code&) {
      timeout_armed_ = false;
      if (state_ == State::kStopped) return;
      const TimePoint now = Clock::now();
      while (!pending_.empty() && pending_.begin()->second.deadline <= now) {
        auto expired = pending_.extract(pending_.begin());
        timeouts_.fetch_add(1, std::memory_order_relaxed);
        expired.mapped().done(timed_out(), {});
      }
      arm_timeout();
    });
  }

  void shutdown() {
    state_ = State::kStopped;
    connected_.store(false, std::memory_order_release);
    connect_timer_.cancel();
    backoff_timer_.cancel();
    timeout_timer_.cancel();
    // Calls every waiting command's callback with no reply, and the cleanup hook.
    if (socket_ && socket_->context()) redisAsyncFree(socket_->context());
    while (!pending_.empty()) {
      auto left = pending_.extract(pending_.begin());
      left.mapped().done(unavailable("the Redis client is shutting down"), {});
    }
    work_.reset();  // run() returns once the aborted waits have completed
  }

  const RedisOptions options_;
  const std::string endpoint_;  // host:port, for messages
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  asio::steady_timer connect_timer_{io_};
  asio::steady_timer backoff_timer_{io_};
  asio::steady_timer timeout_timer_{io_};

  // Touched on the client's thread only.
  State state_ = State::kBackingOff;
  std::shared_ptr<Socket> socket_;  // kept until the next connect(): hiredis calls its hooks until freed
  int handshake_replies_left_ = 0;
  std::chrono::milliseconds backoff_ = kFirstBackoff;
  bool ever_connected_ = false;
  bool outage_logged_ = false;  // one warning per outage, not one per attempt
  bool timeout_armed_ = false;
  uint64_t next_sequence_ = 1;
  std::map<uint64_t, Pending> pending_;  // by sequence number, so the oldest is first

  std::atomic<size_t> outstanding_{0};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> commands_{0}, error_replies_{0}, timeouts_{0}, disconnected_{0}, overloaded_{0}, reconnects_{0};
  std::thread thread_;  // last: started once everything it uses exists
};

RedisClient::RedisClient(RedisOptions options) : driver_(std::make_unique<Driver>(std::move(options))) {}
RedisClient::~RedisClient() = default;

void RedisClient::command(std::vector<std::string> args, Callback done) {
  driver_->command(std::move(args), std::move(done));
}

bool RedisClient::connected() const { return driver_->connected(); }
RedisClientStats RedisClient::stats() const { return driver_->stats(); }

}  // namespace seraph
