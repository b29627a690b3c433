#include "models/remote/connection_pool.h"

namespace seraph {

std::optional<EndpointPool::Lease> EndpointPool::acquire(boost::asio::io_context& io) {
  if (!idle_.empty()) {
    Lease lease{std::move(idle_.back()), false};
    idle_.pop_back();
    return lease;
  }
  if (open_ >= max_connections_) return std::nullopt;
  ++open_;
  return Lease{std::make_shared<HttpConnection>(io), true};
}

void EndpointPool::release(std::shared_ptr<HttpConnection> connection, bool reusable) {
  if (reusable) {
    connection->reused = true;
    idle_.push_back(std::move(connection));
    return;
  }
  boost::beast::error_code ignored;
  connection->stream.socket().close(ignored);
  --open_;
}

void EndpointPool::close_idle() {
  for (auto& c : idle_) {
    boost::beast::error_code ignored;
    c->stream.socket().close(ignored);
    --open_;
  }
  idle_.clear();
}

}  // namespace seraph
