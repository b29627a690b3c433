#pragma once
// One client connection: reads requests one at a time (our RequestParser over a reused buffer), hands
// each to the API router, writes the answer with a head written by hand, and enforces the header,
// idle, body and write limits. It is the exchange's I/O loop: its one timer serves the idle limit,
// the request's deadline and an exchange's wait, and is re-armed only when the earliest of them
// moves earlier, so a request answered at once costs no timer operation.
// It is a template over its stream, a TCP socket or TLS over one, so that the stream is chosen once
// per connection and plain HTTP pays nothing for TLS being possible.
#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/http.h"
#include "guards/exchange.h"
#include "server/http_server.h"
#include "server/request_parser.h"

namespace seraph {

template <class Stream>
class Connection final : public Responder,
                         public ExchangeLoop,
                         public OpenConnection,
                         public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, boost::asio::ip::tcp::socket>;

  // `requests_in_progress`: the accepting I/O thread's count, which this connection keeps.
  // `tls`: the context a TLS connection keeps for its life (null for plain HTTP).
  Connection(boost::asio::ip::tcp::socket accepted, std::shared_ptr<boost::asio::ssl::context> tls,
             HttpServer::Shared& shared, std::atomic<int64_t>& requests_in_progress);
  ~Connection() override;

  // Plain HTTP reads its first request at once; TLS shakes hands first, within the header timeout.
  void start();
  // OpenConnection: for a graceful stop. Callable from any thread.
  std::shared_ptr<OpenConnection> lock() override { return this->weak_from_this().lock(); }
  void close_if_idle() override;

  // Responder: on this connection's thread.
  void send(HttpResponse response) override;
  // ExchangeLoop: this connection's thread and its timer.
  bool on_loop_thread() const override { return loop_.running_in_this_thread(); }
  void post(std::function<void()> run) override;
  void run_at(TimePoint when, std::function<void()> run) override;
  void set_deadline(TimePoint deadline, std::function<void()> expired) override;

 private:
  static Stream open_stream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* tls);
  boost::asio::ip::tcp::socket& socket();
  void handshake();
  void read_request();
  void read_more();
  // Parses what the buffer holds; dispatches a complete request, answers a malformed one.
  void parse();
  void write(HttpResponse response);
  void on_write(boost::system::error_code ec, bool last);
  void reject_and_close(unsigned status, std::string_view message);
  void close();
  // After the last answer: TLS says close_notify first, waiting for the peer's reply only briefly.
  void shutdown_and_close();
  // After an early answer (413, 400) the client may still be sending; closing at once would reset
  // the connection and could destroy the answer in flight, so read and discard for a while first.
  void linger_close();
  void discard_input();

  // The one timer: wakes at the earliest of the limits below and acts on those that are due.
  void arm_timer();
  void on_timer();
  void set_limit(TimePoint when) {
    limit_ = when;
    arm_timer();
  }

  const std::shared_ptr<boost::asio::ssl::context> tls_;  // before stream_, which uses it
  Stream stream_;
  boost::asio::io_context::executor_type loop_;  // the I/O thread's, which stream_ runs on
  HttpServer::Shared& shared_;
  std::atomic<int64_t>& requests_in_progress_;
  std::string peer_address_;
  std::string client_subject_;  // the verified client certificate's; empty: none (or plain HTTP)
  RequestParser parser_;
  std::vector<char> buffer_;
  size_t begin_ = 0, end_ = 0;       // unparsed bytes in buffer_
  std::string head_;                  // the answer's status line and headers
  std::string body_;                  // the answer's body, kept until written
  boost::asio::steady_timer timer_;
  TimePoint timer_at_ = TimePoint::max();  // when the pending wait ends; max: none pending
  TimePoint limit_ = TimePoint::max();     // header, idle or write limit: close then
  TimePoint deadline_ = TimePoint::max();  // the request's deadline
  std::function<void()> expired_;
  TimePoint run_at_ = TimePoint::max();    // an exchange's wait
  std::function<void()> run_;
  bool first_request_ = true;
  bool keep_alive_ = true;
  bool head_only_ = false;
  bool http10_ = false;
  bool linger_ = false;
  bool answering_ = false;            // a request is being answered
  bool waiting_for_request_ = false;  // a read of the next request is pending
  bool closed_ = false;
};

using PlainConnection = Connection<boost::asio::ip::tcp::socket>;
using TlsConnection = Connection<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

}  // namespace seraph
