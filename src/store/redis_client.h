#pragma once
// An asynchronous Redis client for the per-request path (rate limits, the response cache): one
// connection driven by its own thread, so a slow or dead Redis never blocks an I/O thread. Every
// command gets its answer or an error by the command timeout; commands are never queued while
// disconnected, and the number in flight is bounded. The header stays free of Asio and hiredis.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace seraph {

struct RedisOptions {
  std::string host = "127.0.0.1";  // a name is resolved at each connect, blocking only the client's own thread
  int port = 6379;
  std::string password;                            // AUTH after connecting when not empty
  int database = 0;                                // SELECT after connecting when not 0
  std::chrono::milliseconds connect_timeout{200};  // connecting, AUTH and SELECT together
  std::chrono::milliseconds command_timeout{50};   // each command's reply must arrive by then
  // Commands in flight, timed-out ones still waiting for their reply included: past it, commands
  // fail at once (kUnavailable).
  size_t max_pending = 10000;
};

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;               // kInteger
  std::string text;                  // kString, kStatus, kError
  std::vector<RedisReply> elements;  // kArray
};

// Counts since construction, for metrics.
struct RedisClientStats {
  uint64_t commands = 0;       // command() calls
  uint64_t error_replies = 0;  // answered with a Redis error (an OK status with Type::kError)
  uint64_t timeouts = 0;       // no reply by the command timeout
  uint64_t disconnected = 0;   // not connected when issued, or the connection was lost mid-command
  uint64_t overloaded = 0;     // refused because max_pending commands were in flight
  uint64_t reconnects = 0;     // connections established after the first one
};

class RedisClient {
 public:
  // Starts the client's thread and connects in the background; reconnects by itself with capped
  // exponential backoff (50 ms doubling to 2 s) after a failure or a disconnect.
  explicit RedisClient(RedisOptions options);
  // Completes every pending command with kUnavailable and joins the thread. Not to be called from
  // a `done` callback, nor while another thread may still call command().
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  using Callback = std::function<void(Status, RedisReply)>;
  // Sends one command (its arguments, binary-safe). Callable from any thread. `done` is called
  // exactly once, on the client's thread, by the command timeout at the latest: kUnavailable when
  // not connected, over max_pending, timed out or disconnected mid-command; a Redis error reply is
  // an OK status with Type::kError (the caller decides). A reply that arrives after its command
  // timed out is dropped.
  void command(std::vector<std::string> args, Callback done);

  // Connected, authenticated and on the configured database.
  bool connected() const;
  RedisClientStats stats() const;

 private:
  class Driver;  // runs on the client's thread: the hiredis context, its socket and the timers
  std::unique_ptr<Driver> driver_;
};

}  // namespace seraph
