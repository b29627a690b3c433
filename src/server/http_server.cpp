#include "server/http_server.h"

#include <algorithm>
#include <cerrno>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/socket_base.hpp>
#include <spdlog/spdlog.h>

#include "server/connection.h"
#include "server/tls_context.h"

namespace seraph {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

HttpServer::HttpServer(const ServerSettings& config, ApiRouter& router, TlsContextSource* tls)
    : shared_{config, router, tls} {}

HttpServer::~HttpServer() {
  if (running_) stop(std::chrono::milliseconds(0));
}

void HttpServer::start() {
  int threads = shared_.config.io_threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  const auto address = asio::ip::make_address(shared_.config.host);
  uint16_t port = static_cast<uint16_t>(shared_.config.port);
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->acceptor = std::make_unique<tcp::acceptor>(worker->io);
    tcp::endpoint endpoint(address, port);
    worker->acceptor->open(endpoint.protocol());
    worker->acceptor->set_option(asio::socket_base::reuse_address(true));
    // Each thread accepts on its own socket; the kernel spreads connections between them.
    int one = 1;
    ::setsockopt(worker->acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    worker->acceptor->bind(endpoint);
    worker->acceptor->listen(asio::socket_base::max_listen_connections);
    port = worker->acceptor->local_endpoint().port();  // port 0: the others join the one chosen
    workers_.push_back(std::move(worker));
  }
  port_ = port;
  if (shared_.tls) {
    tls_watch_ = std::make_unique<asio::steady_timer>(workers_.front()->io);
    watch_tls_files();
  }
  for (auto& worker : workers_) {
    accept(*worker);
    worker->thread = std::thread([w = worker.get()] { w->io.run(); });
  }
  running_ = true;
}

void HttpServer::accept(Worker& worker) {
  worker.acceptor->async_accept([this, &worker](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !worker.acceptor->is_open()) return;
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory) {
      return accept_later(worker, ec);
    }
    if (!ec) {
      if (worker.accept_backoff.count() > 0) {
        spdlog::info(R"({"msg":"accepting connections again"})");
        worker.accept_backoff = std::chrono::milliseconds(0);
      }
      if (shared_.tls) {
        std::make_shared<TlsConnection>(std::move(socket), shared_.tls->current(), shared_, worker.requests_in_progress)
            ->start();
      } else {
        std::make_shared<PlainConnection>(std::move(socket), nullptr, shared_, worker.requests_in_progress)->start();
      }
    }
    accept(worker);
  });
}

void HttpServer::accept_later(Worker& worker, const boost::system::error_code& ec) {
  if (worker.accept_backoff.count() == 0) {  // once per episode, not once per retry
    spdlog::warn(R"({{"msg":"cannot accept connections: retrying with backoff","error":"{}"}})", ec.message());
    worker.accept_backoff = std::chrono::milliseconds(10);
  } else {
    worker.accept_backoff = std::min(worker.accept_backoff * 2, std::chrono::milliseconds(1000));
  }
  worker.accept_retry.expires_after(worker.accept_backoff);
  worker.accept_retry.async_wait([this, &worker](boost::system::error_code wait_ec) {
    if (wait_ec || !worker.acceptor->is_open()) return;  // cancelled: the server is stopping
    accept(worker);
  });
}

void HttpServer::watch_tls_files() {
  tls_watch_->expires_after(std::chrono::seconds(1));
  tls_watch_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // cancelled: the server is stopping
    shared_.tls->reload_if_changed();
    watch_tls_files();
  });
}

int64_t HttpServer::requests_in_progress() const {
  int64_t total = 0;
  for (const auto& worker : workers_) total += worker->requests_in_progress.load(std::memory_order_acquire);
  return total;
}

int64_t HttpServer::stop(std::chrono::milliseconds drain) {
  if (!running_) return 0;
  running_ = false;
  shared_.draining.store(true, std::memory_order_release);
  for (auto& worker : workers_) {
    asio::post(worker->io, [this, w = worker.get()] {
      boost::system::error_code ignored;
      w->acceptor->close(ignored);
      w->accept_retry.cancel();
      if (tls_watch_ && w == workers_.front().get()) tls_watch_->cancel();
    });
  }
  // Connections waiting for a next request close now; the others close after their answer.
  // The references are dropped outside the lock: the last one runs ~Connection, which takes it.
  std::vector<std::shared_ptr<OpenConnection>> open;
  {
    std::lock_guard lock(shared_.connections_mutex);
    for (OpenConnection* c : shared_.connections) {
      if (auto connection = c->lock()) open.push_back(std::move(connection));
    }
  }
  for (auto& connection : open) connection->close_if_idle();
  open.clear();
  auto open_connections = [this] {
    std::lock_guard lock(shared_.connections_mutex);
    return static_cast<int64_t>(shared_.connections.size());
  };
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while ((requests_in_progress() > 0 || open_connections() > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int64_t left = open_connections();
  if (left > 0) {
    spdlog::warn(R"({{"msg":"drain timeout: closing connections still open","connections":{},"requests":{}}})", left,
                 requests_in_progress());
  }
  for (auto& worker : workers_) worker->io.stop();
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  return left;
}

}  // namespace seraph
