#pragma once
// The HTTP/1.1 client pieces the remote backend is built from: a keep-alive connection to one
// endpoint, connecting with a deadline, and one-shot GETs (health checks, metadata).
#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "models/remote/remote_config.h"

namespace seraph {

struct HttpConnection {
  explicit HttpConnection(boost::asio::io_context& io) : stream(io) {}
  boost::beast::tcp_stream stream;
  boost::beast::flat_buffer buffer;
  bool reused = false;  // served a call before: the server may have closed it meanwhile
};

using RemoteResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Resolves and connects `connection` to `endpoint`, giving up at `deadline`. `done` gets an error
// status (503) that names the endpoint when it could not connect.
void async_connect(std::shared_ptr<HttpConnection> connection, const std::string& endpoint, TimePoint deadline,
                   std::function<void(Status)> done);

// GETs `target` from `endpoint` on a connection of its own, closed afterwards; gives up at `deadline`.
void async_get(boost::asio::io_context& io, const std::string& endpoint, const std::string& target, TimePoint deadline,
               std::function<void(Status, RemoteResponse)> done);

}  // namespace seraph
