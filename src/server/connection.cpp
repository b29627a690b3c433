#include "server/connection.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "api/json_writer.h"

namespace seraph {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {
constexpr size_t kHeaderLimit = 16 * 1024;

Method to_method(http::verb verb) {
  switch (verb) {
    case http::verb::get: return Method::kGet;
    case http::verb::head: return Method::kHead;
    case http::verb::post: return Method::kPost;
    case http::verb::put: return Method::kPut;
    case http::verb::delete_: return Method::kDelete;
    default: return Method::kOther;
  }
}
}  // namespace

Connection::Connection(asio::ip::tcp::socket socket, HttpServer::Shared& shared)
    : socket_(std::move(socket)), shared_(shared), timer_(socket_.get_executor()), defer_timer_(socket_.get_executor()) {
  boost::system::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  std::lock_guard lock(shared_.connections_mutex);
  shared_.connections.insert(this);
}

Connection::~Connection() {
  std::lock_guard lock(shared_.connections_mutex);
  shared_.connections.erase(this);
}

void Connection::close_if_idle() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->waiting_for_request_ && self->buffer_.size() == 0 && !self->parser_->got_some()) self->close();
  });
}

void Connection::close_after(int timeout_ms) {
  timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    if (ec) return;  // cancelled or re-armed: the operation finished first
    if (auto self = weak.lock()) self->close();
  });
}

void Connection::read_request() {
  if (shared_.draining.load(std::memory_order_acquire) && buffer_.size() == 0) return close();
  waiting_for_request_ = true;
  parser_.emplace();
  parser_->body_limit(static_cast<uint64_t>(shared_.config.max_body_bytes));
  parser_->header_limit(kHeaderLimit);
  // A new connection gets the header timeout; a kept-alive one may sit idle for longer.
  close_after(first_request_ ? shared_.config.header_timeout_ms : shared_.config.idle_timeout_ms);
  http::async_read(socket_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
}

void Connection::on_read(beast::error_code ec) {
  waiting_for_request_ = false;
  timer_.cancel();
  if (ec == http::error::body_limit) {
    return reject_and_close(413, "request body exceeds the limit of " + std::to_string(shared_.config.max_body_bytes) + " bytes");
  }
  if (ec == http::error::header_limit) return reject_and_close(431, "request headers are too large");
  if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted || ec == asio::error::eof ||
      ec == asio::error::connection_reset) {
    return close();
  }
  if (ec) {
    if (buffer_.size() == 0 && !parser_->got_some()) return close();
    return reject_and_close(400, "malformed HTTP request: " + ec.message());
  }
  first_request_ = false;
  Request& request = parser_->get();
  keep_alive_ = request.keep_alive() && !shared_.draining.load(std::memory_order_acquire);
  head_ = request.method() == http::verb::head;
  shared_.requests_in_progress.fetch_add(1, std::memory_order_acq_rel);
  const beast::string_view target = request.target();
  // The exchange keeps its own copy of the headers: nothing may read the parser once it is reused.
  HeaderMap headers;
  size_t bytes = 0, fields = 0;
  for (const auto& field : request) {
    bytes += field.name_string().size() + field.value().size();
    ++fields;
  }
  headers.reserve(fields, bytes);
  for (const auto& field : request) {
    headers.add({field.name_string().data(), field.name_string().size()}, {field.value().data(), field.value().size()});
  }
  auto self = shared_from_this();
  shared_.router.handle(to_method(request.method()), {target.data(), target.size()}, request.body(), std::move(headers),
                        self, self);
}

void Connection::send(HttpResponse response) { write(std::move(response)); }

void Connection::dispatch(std::function<void()> run) { asio::dispatch(socket_.get_executor(), std::move(run)); }

void Connection::set_deadline(TimePoint deadline, std::function<void()> expired) {
  // The answer's write re-arms the timer, cancelling this wait; `expired` is then destroyed unrun.
  timer_.expires_at(deadline);
  timer_.async_wait([expired = std::move(expired)](beast::error_code ec) {
    if (!ec) expired();
  });
}

void Connection::run_at(TimePoint when, std::function<void()> run) {
  defer_timer_.expires_at(when);
  defer_timer_.async_wait([run = std::move(run)](beast::error_code ec) {
    if (!ec) run();
  });
}

void Connection::write(HttpResponse r) {
  response_ = {};
  response_.version(11);
  response_.result(r.status);
  response_.set(http::field::content_type, beast::string_view(r.content_type.data(), r.content_type.size()));
  for (auto& [name, value] : r.headers) response_.set(name, value);
  if (shared_.draining.load(std::memory_order_acquire)) keep_alive_ = false;
  response_.keep_alive(keep_alive_);
  if (head_) {
    response_.content_length(r.body.size());  // HEAD: the length of the body a GET would get, no body
  } else {
    response_.body() = std::move(r.body);
    response_.prepare_payload();
  }
  // A client that stops reading its answer must not hold the connection forever. Re-arming the
  // timer also ends the request's deadline wait; a pending injected delay ends with it.
  close_after(shared_.config.idle_timeout_ms);
  defer_timer_.cancel();
  const bool last = !keep_alive_;
  http::async_write(socket_, response_, [self = shared_from_this(), last](beast::error_code ec, size_t) {
    self->on_write(ec, last);
  });
}

void Connection::on_write(beast::error_code ec, bool last) {
  shared_.requests_in_progress.fetch_sub(1, std::memory_order_acq_rel);
  if (ec) return close();
  if (last) return linger_ ? linger_close() : close();
  read_request();
}

void Connection::reject_and_close(unsigned status, std::string_view message) {
  // Answer protocol-level errors without involving the router, then close: the stream's framing
  // can no longer be trusted.
  keep_alive_ = false;
  head_ = false;
  linger_ = true;
  shared_.requests_in_progress.fetch_add(1, std::memory_order_acq_rel);
  write(HttpResponse{status, error_body(message), "application/json", {}});
}

void Connection::linger_close() {
  beast::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  close_after(2000);
  discard_input();
}

void Connection::discard_input() {
  if (!scratch_) scratch_ = std::make_unique<std::array<char, 16384>>();
  socket_.async_read_some(asio::buffer(*scratch_), [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->close();
    self->discard_input();
  });
}

void Connection::close() {
  beast::error_code ignored;
  timer_.cancel();
  defer_timer_.cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);
}

}  // namespace seraph
