#include "cache/single_flight.h"

#include <algorithm>
#include <utility>

namespace seraph {

SingleFlight::SingleFlight(size_t max_waiters_per_key, size_t shards)
    : max_waiters_per_key_(max_waiters_per_key), shards_(std::max<size_t>(shards, 1)) {}

SingleFlight::Joined SingleFlight::join(const CacheKey& key, Waiter waiter) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  const uint64_t ticket = shard.next_ticket++;
  auto [flight, first] = shard.flights.try_emplace(key);
  if (first) {
    flight->second.leader = ticket;
    return {Role::kLead, ticket};
  }
  std::vector<Queued>& waiters = flight->second.waiters;
  if (waiters.size() >= max_waiters_per_key_) return {Role::kComputeAlone};
  waiters.push_back({ticket, std::move(waiter)});
  return {Role::kWait, ticket};
}

bool SingleFlight::leave(const CacheKey& key, uint64_t ticket) {
  Shard& shard = shard_of(key);
  Waiter left;  // declared before the lock: destroyed after it is released
  std::lock_guard lock(shard.mutex);
  auto flight = shard.flights.find(key);
  if (flight == shard.flights.end()) return false;
  std::vector<Queued>& waiters = flight->second.waiters;
  auto it = std::find_if(waiters.begin(), waiters.end(), [ticket](const Queued& q) { return q.ticket == ticket; });
  if (it == waiters.end()) return false;
  left = std::move(it->waiter);
  waiters.erase(it);
  return true;
}

void SingleFlight::finish(const CacheKey& key, uint64_t leader_ticket, const Status& status,
                          std::shared_ptr<const InferResponse> response) {
  std::vector<Queued> waiters;
  {
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    auto flight = shard.flights.find(key);
    if (flight == shard.flights.end() || flight->second.leader != leader_ticket) return;
    waiters = std::move(flight->second.waiters);
    shard.flights.erase(flight);
  }
  for (Queued& queued : waiters) queued.waiter(status, response);
}

size_t SingleFlight::waiting() const {
  size_t count = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [key, flight] : shard.flights) count += flight.waiters.size();
  }
  return count;
}

size_t SingleFlight::flights() const {
  size_t count = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    count += shard.flights.size();
  }
  return count;
}

}  // namespace seraph
