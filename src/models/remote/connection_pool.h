#pragma once
// Keep-alive connections to one endpoint, at most `max_connections` open at once (idle or busy),
// and the backend-wide bound on requests pending. Used from the backend's own thread, except the
// pending bound, which execute() checks on the caller's thread so that a full backend refuses at once.
#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "models/remote/http_connection.h"

namespace seraph {

class EndpointPool {
 public:
  explicit EndpointPool(int max_connections) : max_connections_(max_connections) {}

  struct Lease {
    std::shared_ptr<HttpConnection> connection;
    bool fresh = false;  // not connected yet: the caller connects it
  };
  // The most recently used idle connection, else a new one while under the bound; nullopt when
  // every connection is busy.
  std::optional<Lease> acquire(boost::asio::io_context& io);
  // Gives a leased connection back: kept for the next call when `reusable`, closed otherwise.
  void release(std::shared_ptr<HttpConnection> connection, bool reusable);
  // Closes the idle connections (the endpoint went unhealthy or was ejected: they may be dead).
  void close_idle();

  int open() const { return open_; }
  int idle() const { return static_cast<int>(idle_.size()); }

 private:
  const int max_connections_;
  int open_ = 0;
  std::vector<std::shared_ptr<HttpConnection>> idle_;
};

class PendingBound {
 public:
  explicit PendingBound(int max_pending) : max_pending_(max_pending) {}
  bool try_admit() {
    if (pending_.fetch_add(1, std::memory_order_acq_rel) < max_pending_) return true;
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
  void release() { pending_.fetch_sub(1, std::memory_order_acq_rel); }
  int pending() const { return pending_.load(std::memory_order_acquire); }
  int max() const { return max_pending_; }

 private:
  const int max_pending_;
  std::atomic<int> pending_{0};
};

}  // namespace seraph
