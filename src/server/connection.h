#pragma once
// One client connection: reads requests one at a time, hands each to the API router, writes the
// answer, and enforces the header, idle and body limits.
#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include <array>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "api/http.h"
#include "guards/exchange.h"
#include "server/http_server.h"

namespace seraph {

class Connection final : public Responder, public ExchangeLoop, public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, HttpServer::Shared& shared);
  ~Connection() override;

  void start() { read_request(); }
  // For a graceful stop: closes the connection if it is waiting for a next request with nothing
  // of it received yet; a request in progress finishes first. Callable from any thread.
  void close_if_idle();

  // Responder: on this connection's thread.
  void send(HttpResponse response) override;
  // ExchangeLoop: this connection's thread and its timers.
  void dispatch(std::function<void()> run) override;
  void run_at(TimePoint when, std::function<void()> run) override;
  void set_deadline(TimePoint deadline, std::function<void()> expired) override;

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  void read_request();
  void on_read(boost::beast::error_code ec);
  void write(HttpResponse response);
  void on_write(boost::beast::error_code ec, bool last);
  // Closes the connection unless the operation that follows finishes (and re-arms) in time.
  void close_after(int timeout_ms);
  void reject_and_close(unsigned status, std::string_view message);
  void close();
  // After an early answer (413, 400) the client may still be sending; closing at once would reset
  // the connection and could destroy the answer in flight, so read and discard for a while first.
  void linger_close();
  void discard_input();

  boost::asio::ip::tcp::socket socket_;
  HttpServer::Shared& shared_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer defer_timer_;
  bool first_request_ = true;
  bool keep_alive_ = true;
  bool head_ = false;
  bool linger_ = false;
  bool waiting_for_request_ = false;  // a read of the next request is pending
  std::unique_ptr<std::array<char, 16384>> scratch_;  // only for lingering closes
};

}  // namespace seraph
