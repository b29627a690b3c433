#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include "http_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace seraph::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

rapidjson::Document Response::json() const {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError()) doc.SetNull();
  return doc;
}

struct HttpClient::Impl {
  explicit Impl(uint16_t port) : port(port) {}
  void connect() {
    socket = std::make_unique<tcp::socket>(io);
    socket->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    socket->set_option(tcp::no_delay(true));
  }
  asio::io_context io;
  uint16_t port;
  std::unique_ptr<tcp::socket> socket;
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(uint16_t port) : impl_(std::make_unique<Impl>(port)) {}
HttpClient::~HttpClient() = default;

Response HttpClient::get(const std::string& target, std::vector<std::pair<std::string, std::string>> headers) {
  return request("GET", target, "", headers);
}

Response HttpClient::post(const std::string& target, const std::string& body,
                          std::vector<std::pair<std::string, std::string>> headers) {
  return request("POST", target, body, headers);
}

Response HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  // One retry on a fresh connection: the server may have closed an idle keep-alive connection.
  for (int attempt = 0;; ++attempt) {
    try {
      if (!impl_->socket || !impl_->socket->is_open()) impl_->connect();
      http::request<http::string_body> req{http::string_to_verb(method), target, 11};
      req.set(http::field::host, "127.0.0.1");
      for (const auto& [k, v] : headers) req.set(k, v);
      req.body() = body;
      req.prepare_payload();
      // A server may answer early (413) and stop reading; its answer is still there to read.
      boost::system::error_code write_error;
      http::write(*impl_->socket, req, write_error);
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      if (method == "HEAD") parser.skip(true);
      http::read(*impl_->socket, impl_->buffer, parser);
      auto& res = parser.get();
      Response out;
      out.status = res.result_int();
      out.body = res.body();
      for (const auto& field : res) {
        std::string name(field.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(field.value());
      }
      if (!res.keep_alive()) impl_->socket.reset();
      return out;
    } catch (const boost::system::system_error&) {
      impl_->socket.reset();
      impl_->buffer.clear();
      if (attempt == 1) throw;
    }
  }
}

std::string raw_exchange(uint16_t port, const std::string& bytes, int timeout_ms) {
  return raw_exchange_until_close(port, bytes, timeout_ms).answer;
}

RawExchange raw_exchange_until_close(uint16_t port, const std::string& bytes, int timeout_ms) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  asio::write(socket, asio::buffer(bytes));
  RawExchange result;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
    if (n == 0) result.closed_by_server = true;  // end of stream; a timeout is -1 with EAGAIN
    if (n <= 0) break;
    result.answer.append(chunk, static_cast<size_t>(n));
  }
  return result;
}

}  // namespace seraph::test
