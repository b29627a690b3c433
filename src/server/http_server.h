#pragma once
// HTTP/1.1 with keep-alive on Asio, requests framed by our RFC 9112 parser: one io_context and one
// SO_REUSEPORT acceptor per I/O thread, so connections never migrate between threads and need no
// strands.
#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/router.h"
#include "server/server_settings.h"

namespace seraph {

class TlsContextSource;

// What the server needs of an open connection to stop, whatever its stream.
class OpenConnection {
 public:
  virtual ~OpenConnection() = default;
  // A reference that keeps it alive; null once it is being destroyed.
  virtual std::shared_ptr<OpenConnection> lock() = 0;
  // Closes the connection if it is waiting for a next request with nothing of it received yet;
  // a request in progress finishes first.
  virtual void close_if_idle() = 0;
};

class HttpServer {
 public:
  // `tls`: when not null, the listener speaks only TLS with its current context, and looks for
  // changed certificate files about once a second. It must outlive the server.
  HttpServer(const ServerSettings& config, ApiRouter& router, TlsContextSource* tls = nullptr);
  ~HttpServer();

  // Binds and starts the I/O threads. Throws std::system_error when the address cannot be bound.
  void start();
  uint16_t port() const { return port_; }

  // Graceful stop: stops accepting, closes idle connections, lets every request already being
  // read or answered finish (its answer says Connection: close), up to `drain`; then stops the
  // threads. Returns the number of connections still open when the drain time ran out.
  int64_t stop(std::chrono::milliseconds drain);

  // Shared by connections: the limits they enforce, whether the server drains, which are open.
  struct Shared {
    Shared(const ServerSettings& config, ApiRouter& router, TlsContextSource* tls)
        : config(config), router(router), tls(tls) {}
    const ServerSettings& config;
    ApiRouter& router;
    TlsContextSource* const tls;
    std::atomic<bool> draining{false};
    // Every open connection; locked only when a connection opens or closes, and at stop.
    std::mutex connections_mutex;
    std::unordered_set<OpenConnection*> connections;
  };

 private:
  struct Worker {
    boost::asio::io_context io{1};
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
    // Out of file descriptors, accepting again at once would spin: wait, doubling up to 1 s.
    boost::asio::steady_timer accept_retry{io};
    std::chrono::milliseconds accept_backoff{0};  // 0: accepting normally
    std::thread thread;
    // Requests this thread's connections are reading or answering. Per thread, on a line of its
    // own: a count all threads shared cost two contended updates per request.
    alignas(64) std::atomic<int64_t> requests_in_progress{0};
  };
  int64_t requests_in_progress() const;
  void accept(Worker& worker);
  // After an accept failed for want of descriptors or memory: accepts again after a pause.
  void accept_later(Worker& worker, const boost::system::error_code& ec);
  // On the first worker's thread: swaps in a new TLS context when the files changed, every second.
  void watch_tls_files();

  Shared shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<boost::asio::steady_timer> tls_watch_;  // with TLS: on the first worker's context
  uint16_t port_ = 0;
  bool running_ = false;
};

}  // namespace seraph
