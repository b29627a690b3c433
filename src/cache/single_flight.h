#pragma once
// Collapses identical concurrent cache misses into one computation. The first miss for a key leads
// (it computes the answer); identical misses that arrive while it does wait for its answer rather
// than calling the backend again, so a burst of one popular request costs one model call.
//
// Bounds and deadlines:
// - At most `max_waiters_per_key` waiters per key. Past that, join() answers kComputeAlone: the
//   caller computes on its own instead of queueing without bound.
// - A waiter's deadline is kept by its caller (the guard owns the timers): at the deadline it calls
//   leave(). leave() returning true means the waiter was taken out of the queue and will never be
//   called; the caller is released to compute on its own. leave() returning false means the
//   leader's answer is already on its way to the waiter. Either way the waiter runs at most once.
//
// The leader MUST call finish() with its ticket, whatever happens to its request: answered, failed,
// cancelled by its deadline, or dropped while the server drains. A leader that never finishes
// strands its waiters until their own deadlines release them, and every later miss for the key
// queues behind it too. Store the answer in the cache before finish(), so a miss arriving just
// after finds it.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cache/cache_key.h"
#include "core/inference.h"
#include "core/status.h"

namespace seraph {

class SingleFlight {
 public:
  // Called once with the leader's outcome: OK and the response, or the leader's error and null.
  // Called on the thread that calls finish(), outside SingleFlight's locks.
  using Waiter = std::function<void(Status, std::shared_ptr<const InferResponse>)>;

  explicit SingleFlight(size_t max_waiters_per_key = 1024, size_t shards = 16);
  SingleFlight(const SingleFlight&) = delete;
  SingleFlight& operator=(const SingleFlight&) = delete;

  enum class Role {
    kLead,          // compute, then call finish() with the ticket
    kWait,          // `waiter` is queued and will be called once (unless leave() takes it out)
    kComputeAlone,  // the key's queue is full: compute without collapsing; `waiter` was dropped uncalled
  };
  struct Joined {
    Role role;
    uint64_t ticket = 0;  // kLead: for finish(); kWait: for leave()
  };
  Joined join(const CacheKey& key, Waiter waiter);

  // Takes a waiter out of the queue at its deadline. True: it will never be called.
  bool leave(const CacheKey& key, uint64_t ticket);

  // Hands the leader's outcome to every waiter of `key` and ends the flight: the next miss leads.
  // Only the flight's own leader ends it: a ticket that does not lead the key's flight (a second
  // finish, a stale leader) changes nothing.
  void finish(const CacheKey& key, uint64_t leader_ticket, const Status& status,
              std::shared_ptr<const InferResponse> response);

  size_t waiting() const;  // waiters queued, over all keys
  size_t flights() const;  // keys being computed

 private:
  struct Queued {
    uint64_t ticket;
    Waiter waiter;
  };
  struct Flight {
    uint64_t leader;
    std::vector<Queued> waiters;  // in arrival order
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<CacheKey, Flight, CacheKeyHash> flights;  // one per key being computed
    uint64_t next_ticket = 1;
  };
  Shard& shard_of(const CacheKey& key) { return shards_[key.high % shards_.size()]; }

  const size_t max_waiters_per_key_;
  std::vector<Shard> shards_;
};

}  // namespace seraph
