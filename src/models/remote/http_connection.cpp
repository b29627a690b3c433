#include "models/remote/http_connection.h"

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace seraph {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

bool split_host_port(const std::string& endpoint, std::string& host, std::string& port) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == endpoint.size()) return false;
  host = endpoint.substr(0, colon);
  port = endpoint.substr(colon + 1);
  return port.find_first_not_of("0123456789") == std::string::npos;
}

void async_connect(std::shared_ptr<HttpConnection> connection, const std::string& endpoint, TimePoint deadline,
                   std::function<void(Status)> done) {
  std::string host, port;
  if (!split_host_port(endpoint, host, port)) return done(unavailable(fmt::format("bad endpoint '{}'", endpoint)));
  auto resolver = std::make_shared<tcp::resolver>(connection->stream.get_executor());
  resolver->async_resolve(
      host, port,
      [connection, resolver, endpoint, deadline, done = std::move(done)](beast::error_code ec,
                                                                         tcp::resolver::results_type results) {
        if (ec) return done(unavailable(fmt::format("cannot resolve {}: {}", endpoint, ec.message())));
        connection->stream.expires_at(deadline);
        connection->stream.async_connect(
            results, [connection, endpoint, done](beast::error_code ec, const tcp::endpoint&) {
              if (ec == beast::error::timeout)
                return done(unavailable(fmt::format("connecting to {} timed out", endpoint)));
              if (ec) return done(unavailable(fmt::format("cannot connect to {}: {}", endpoint, ec.message())));
              done({});
            });
      });
}

void async_get(boost::asio::io_context& io, const std::string& endpoint, const std::string& target, TimePoint deadline,
               std::function<void(Status, RemoteResponse)> done) {
  auto connection = std::make_shared<HttpConnection>(io);
  async_connect(connection, endpoint, deadline, [connection, endpoint, target, done](Status status) {
    if (!status.is_ok()) return done(std::move(status), {});
    auto request = std::make_shared<http::request<http::empty_body>>(http::verb::get, target, 11);
    request->set(http::field::host, endpoint);
    request->set(http::field::connection, "close");
    http::async_write(
        connection->stream, *request, [connection, request, endpoint, target, done](beast::error_code ec, size_t) {
          if (ec) return done(unavailable(fmt::format("GET {}{} failed: {}", endpoint, target, ec.message())), {});
          auto response = std::make_shared<RemoteResponse>();
          http::async_read(connection->stream, connection->buffer, *response,
                           [connection, response, endpoint, target, done](beast::error_code ec, size_t) {
                             beast::error_code ignored;
                             connection->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                             if (ec)
                               return done(
                                   unavailable(fmt::format("GET {}{} failed: {}", endpoint, target, ec.message())), {});
                             done({}, std::move(*response));
                           });
        });
  });
}

}  // namespace seraph
