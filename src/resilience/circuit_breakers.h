#pragma once
// The server's circuit breakers by name ("model:sentiment:1", "backend:far:127.0.0.1:9001"),
// created on first use and kept for the server's life (so a pointer to one stays valid), with
// their state as metrics (seraph_circuit_breaker_*), a listing and a reset by name for the admin
// API, and a listener told of every change of state (the server log and the event log).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "resilience/circuit_breaker.h"

namespace seraph {

class MetricsRegistry;
class Counter;
template <class Series>
class Family;

class CircuitBreakers {
 public:
  struct Change {
    std::string breaker;
    BreakerState from = BreakerState::kClosed;
    BreakerState to = BreakerState::kClosed;
    CircuitBreaker::Snapshot snapshot;  // as of the change
  };
  using Listener = std::function<void(const Change&)>;

  CircuitBreakers(const CircuitBreakerSettings& settings, MetricsRegistry& metrics);
  CircuitBreakers(const CircuitBreakers&) = delete;
  CircuitBreakers& operator=(const CircuitBreakers&) = delete;

  // Set once, before traffic; called on the thread whose call changed the state, outside the
  // breaker's lock: it must not block (hand slow work to a queue).
  void set_listener(Listener listener);

  // The breaker named `name`, made with the directory's settings (or `settings`) on first use.
  CircuitBreaker& get(std::string_view name) { return get(name, settings_); }
  CircuitBreaker& get(std::string_view name, const CircuitBreakerSettings& settings);
  // Every breaker, by name.
  std::vector<CircuitBreaker*> list() const;
  // Closes `name`'s circuit with an empty window; kNotFound when no breaker has that name.
  Status reset(std::string_view name);

  // Distinguishes directories for caches that outlive one (tests make several).
  uint64_t id() const { return id_; }
  const CircuitBreakerSettings& settings() const { return settings_; }

 private:
  struct Table;
  void changed(CircuitBreaker& breaker, BreakerState from, BreakerState to);

  const CircuitBreakerSettings settings_;
  const uint64_t id_;
  std::shared_ptr<Table> table_;  // shared with the metrics' collector, which may outlive us
  Family<Counter>& transitions_;
  std::mutex listener_mutex_;
  Listener listener_;
};

// A change as a JSON object: breaker, from, to, the rates, and when the next probe may go.
std::string change_json(const CircuitBreakers::Change& change);

}  // namespace seraph
