#include "server/connection.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cstdint>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

#include "api/json_writer.h"
#include "server/tls_context.h"

namespace seraph {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
// How long a closing TLS connection waits for the peer's close_notify after sending its own.
constexpr auto kTlsShutdownLimit = std::chrono::seconds(1);

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

bool is_disconnect(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

}  // namespace

template <class Stream>
Stream Connection<Stream>::open_stream(asio::ip::tcp::socket socket, asio::ssl::context* tls) {
  if constexpr (kTls) {
    return Stream(std::move(socket), *tls);
  } else {
    return socket;
  }
}

template <class Stream>
asio::ip::tcp::socket& Connection<Stream>::socket() {
  if constexpr (kTls) {
    return stream_.next_layer();
  } else {
    return stream_;
  }
}

template <class Stream>
Connection<Stream>::Connection(asio::ip::tcp::socket accepted, std::shared_ptr<asio::ssl::context> tls,
                               HttpServer::Shared& shared, std::atomic<int64_t>& requests_in_progress)
    : tls_(std::move(tls)),
      stream_(open_stream(std::move(accepted), tls_.get())),
      // Sockets are opened on an I/O thread's io_context: its executor answers "on this thread?".
      loop_(
          static_cast<asio::io_context&>(asio::query(stream_.get_executor(), asio::execution::context)).get_executor()),
      shared_(shared),
      requests_in_progress_(requests_in_progress),
      parser_(kHeaderLimit, static_cast<size_t>(shared.config.max_body_bytes)),
      buffer_(kReadChunk),
      timer_(stream_.get_executor()) {
  error_code ignored;
  socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  // Read once: guards key rate limits and allow lists on it. A peer gone already leaves it empty,
  // and its first read fails.
  error_code peer_error;
  if (auto peer = socket().remote_endpoint(peer_error); !peer_error) peer_address_ = peer.address().to_string();
  std::lock_guard lock(shared_.connections_mutex);
  shared_.connections.insert(this);
}

template <class Stream>
Connection<Stream>::~Connection() {
  std::lock_guard lock(shared_.connections_mutex);
  shared_.connections.erase(this);
}

template <class Stream>
void Connection<Stream>::close_if_idle() {
  post([self = this->shared_from_this()] {
    if (self->waiting_for_request_ && self->begin_ == self->end_ && !self->parser_.got_some()) self->close();
  });
}

// --- the timer ---------------------------------------------------------------------------------------

template <class Stream>
void Connection<Stream>::arm_timer() {
  const TimePoint next = std::min({limit_, deadline_, run_at_});
  if (next == TimePoint::max() || next >= timer_at_) return;  // a wait that ends sooner re-arms for the rest
  timer_at_ = next;
  timer_.expires_at(next);
  timer_.async_wait([self = this->shared_from_this()](error_code ec) {
    if (ec) return;  // replaced by an earlier wait, or closed
    self->timer_at_ = TimePoint::max();
    self->on_timer();
  });
}

template <class Stream>
void Connection<Stream>::on_timer() {
  const TimePoint now = Clock::now();
  if (deadline_ <= now) {
    deadline_ = TimePoint::max();
    auto expired = std::move(expired_);
    expired_ = nullptr;
    if (expired) expired();
  }
  if (run_at_ <= now) {
    run_at_ = TimePoint::max();
    auto run = std::move(run_);
    run_ = nullptr;
    if (run) run();
  }
  if (limit_ <= now) return close();
  arm_timer();
}

template <class Stream>
void Connection<Stream>::set_deadline(TimePoint deadline, std::function<void()> expired) {
  deadline_ = deadline;
  expired_ = std::move(expired);
  arm_timer();
}

template <class Stream>
void Connection<Stream>::run_at(TimePoint when, std::function<void()> run) {
  run_at_ = when;
  run_ = std::move(run);
  arm_timer();
}

template <class Stream>
void Connection<Stream>::post(std::function<void()> run) {
  asio::post(loop_, std::move(run));
}

// --- reading -----------------------------------------------------------------------------------------

template <class Stream>
void Connection<Stream>::start() {
  if constexpr (kTls) {
    handshake();
  } else {
    read_request();
  }
}

template <class Stream>
void Connection<Stream>::handshake() {
  if constexpr (kTls) {
    // A client that connects and never finishes the handshake is closed like one that never sends
    // its headers (the same deadline covers both); a graceful stop closes it too (nothing of a
    // request has arrived).
    waiting_for_request_ = true;
    set_limit(coarse_now() + std::chrono::milliseconds(shared_.config.header_timeout_ms));
    stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](error_code ec) {
      self->waiting_for_request_ = false;
      if (ec) {
        // Closed by the timer unless the server is draining (which is not the client's failure).
        if (!(self->closed_ && self->shared_.draining.load(std::memory_order_acquire))) {
          self->shared_.tls->handshake_failed(ec, self->closed_, self->peer_address_);
        }
        return self->close();
      }
      self->client_subject_ = verified_client_subject(self->stream_.native_handle());
      self->read_request();
    });
  }
}

template <class Stream>
void Connection<Stream>::read_request() {
  if (shared_.draining.load(std::memory_order_acquire) && begin_ == end_) return close();
  waiting_for_request_ = true;
  parser_.reset();
  // A new connection gets the header timeout (with TLS, the handshake's, which its first request's
  // headers share: a slow client gets no second allowance); a kept-alive one may idle for longer.
  if (!(kTls && first_request_)) {
    set_limit(coarse_now() + std::chrono::milliseconds(first_request_ ? shared_.config.header_timeout_ms
                                                                      : shared_.config.idle_timeout_ms));
  }
  if (begin_ < end_) return parse();  // a pipelined request is already here
  read_more();
}

template <class Stream>
void Connection<Stream>::read_more() {
  if (begin_ == end_) begin_ = end_ = 0;
  if (end_ == buffer_.size()) {  // the parser takes all it is given, so this holds a pipelined tail only
    std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(begin_), buffer_.begin() + static_cast<std::ptrdiff_t>(end_),
              buffer_.begin());
    end_ -= begin_;
    begin_ = 0;
  }
  stream_.async_read_some(asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
                          [self = this->shared_from_this()](error_code ec, size_t n) {
                            if (ec) {
                              self->waiting_for_request_ = false;
                              if (is_disconnect(ec) || !self->parser_.got_some()) return self->close();
                              return self->reject_and_close(400, "malformed HTTP request: " + ec.message());
                            }
                            self->end_ += n;
                            self->parse();
                          });
}

template <class Stream>
void Connection<Stream>::parse() {
  size_t consumed = 0;
  const bool continue_wanted = parser_.expects_continue();
  const auto result = parser_.feed(buffer_.data() + begin_, end_ - begin_, consumed);
  begin_ += consumed;
  if (result == RequestParser::Result::kError) {
    waiting_for_request_ = false;
    return reject_and_close(parser_.error_status(), parser_.error_message());
  }
  if (result == RequestParser::Result::kNeedMore) {
    if (!continue_wanted && parser_.expects_continue()) {
      // The client holds its body back until told to go on.
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                               [self = this->shared_from_this()](error_code ec, size_t) {
                                 if (ec) return self->close();
                                 self->read_more();
                               });
    }
    return read_more();
  }
  waiting_for_request_ = false;
  first_request_ = false;
  limit_ = TimePoint::max();  // the request's own deadline governs while it is answered
  keep_alive_ = parser_.keep_alive() && !shared_.draining.load(std::memory_order_acquire);
  head_only_ = parser_.head();
  http10_ = parser_.http10();
  answering_ = true;
  requests_in_progress_.fetch_add(1, std::memory_order_acq_rel);
  auto self = this->shared_from_this();
  shared_.router.handle(parser_.method(), parser_.target(), parser_.body(), parser_.take_headers(), peer_address_,
                        client_subject_, self, self);
}

// --- writing -----------------------------------------------------------------------------------------

template <class Stream>
void Connection<Stream>::send(HttpResponse response) { write(std::move(response)); }

template <class Stream>
void Connection<Stream>::write(HttpResponse r) {
  answering_ = false;
  // The request's waits end with its answer.
  deadline_ = run_at_ = TimePoint::max();
  expired_ = nullptr;
  run_ = nullptr;
  if (shared_.draining.load(std::memory_order_acquire)) keep_alive_ = false;
  // The head is written through a pointer into room sized for it: a dozen appends, each checking
  // the string's capacity, cost more than the copying.
  size_t room = 192 + r.content_type.size();  // the status line and the fixed fields fit in 192
  for (const auto& [name, value] : r.headers) room += name.size() + value.size() + 4;
  head_.resize(room);
  char* at = head_.data();
  auto put = [&at](std::string_view text) {
    std::memcpy(at, text.data(), text.size());
    at += text.size();
  };
  auto put_number = [&at](uint64_t value) { at = std::to_chars(at, at + 20, value).ptr; };
  put("HTTP/1.1 ");
  put_number(r.status);
  put(" ");
  put(reason_phrase(r.status));
  put("\r\nContent-Type: ");
  put(r.content_type);
  put("\r\nContent-Length: ");
  put_number(r.body.size());
  put("\r\n");
  if (!keep_alive_) {
    put("Connection: close\r\n");
  } else if (http10_) {
    put("Connection: keep-alive\r\n");  // HTTP/1.0 closes unless told otherwise
  }
  for (const auto& [name, value] : r.headers) {
    put(name);
    put(": ");
    put(value);
    put("\r\n");
  }
  put("\r\n");
  head_.resize(static_cast<size_t>(at - head_.data()));
  body_ = head_only_ ? std::string() : std::move(r.body);  // HEAD: the length a GET would get, no body
  // A client that stops reading its answer must not hold the connection forever.
  set_limit(coarse_now() + std::chrono::milliseconds(shared_.config.idle_timeout_ms));
  const bool last = !keep_alive_;
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
  asio::async_write(stream_, buffers,
                    [self = this->shared_from_this(), last](error_code ec, size_t) { self->on_write(ec, last); });
}

template <class Stream>
void Connection<Stream>::on_write(error_code ec, bool last) {
  requests_in_progress_.fetch_sub(1, std::memory_order_acq_rel);
  if (ec) return close();
  if (last) return linger_ ? linger_close() : shutdown_and_close();
  read_request();
}

template <class Stream>
void Connection<Stream>::reject_and_close(unsigned status, std::string_view message) {
  // Answer protocol-level errors without involving the router, then close: the stream's framing
  // can no longer be trusted.
  keep_alive_ = false;
  head_only_ = false;
  http10_ = false;
  linger_ = true;
  requests_in_progress_.fetch_add(1, std::memory_order_acq_rel);
  write(HttpResponse{status, error_body(message), "application/json", {}});
}

template <class Stream>
void Connection<Stream>::linger_close() {
  error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  set_limit(Clock::now() + std::chrono::seconds(2));
  discard_input();
}

template <class Stream>
void Connection<Stream>::discard_input() {
  stream_.async_read_some(asio::buffer(buffer_), [self = this->shared_from_this()](error_code ec, size_t) {
    if (ec) return self->close();
    self->discard_input();
  });
}

template <class Stream>
void Connection<Stream>::shutdown_and_close() {
  if constexpr (kTls) {
    if (!closed_) {
      // The timer closes the socket if the peer never answers; that ends the shutdown too.
      set_limit(Clock::now() + kTlsShutdownLimit);
      return stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->close(); });
    }
  }
  close();
}

template <class Stream>
void Connection<Stream>::close() {
  if (!closed_) {
    closed_ = true;
    error_code ignored;
    socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    socket().close(ignored);
  }
  limit_ = TimePoint::max();
  // A request still being answered keeps its deadline: its answer (to a closed socket) releases it.
  if (!answering_) timer_.cancel();
}

template class Connection<asio::ip::tcp::socket>;
template class Connection<asio::ssl::stream<asio::ip::tcp::socket>>;

}  // namespace seraph
