#include "resilience/circuit_breakers.h"

#include <atomic>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "observe/metrics.h"

namespace seraph {

struct CircuitBreakers::Table {
  mutable std::mutex mutex;
  std::map<std::string, std::unique_ptr<CircuitBreaker>, std::less<>> breakers;
};

namespace {

uint64_t next_directory_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

CircuitBreakers::CircuitBreakers(const CircuitBreakerSettings& settings, MetricsRegistry& metrics)
    : settings_(settings),
      id_(next_directory_id()),
      table_(std::make_shared<Table>()),
      transitions_(metrics.counter("seraph_circuit_breaker_transitions_total",
                                   "Circuit breaker changes of state, by breaker and the state entered.")) {
  // State and refusals are read from the breakers when scraped: always the state now, and no
  // metric work on the call path.
  auto& state = metrics.gauge("seraph_circuit_breaker_state", "Circuit breaker state: 0 closed, 1 open, 2 half-open.");
  auto& rejected = metrics.sampled_counter("seraph_circuit_breaker_rejected_total",
                                           "Calls refused at once because their circuit breaker was open.");
  metrics.on_collect([table = std::weak_ptr<Table>(table_), &state, &rejected] {
    auto t = table.lock();
    if (!t) return;
    std::lock_guard lock(t->mutex);
    const TimePoint now = Clock::now();
    for (auto& [name, breaker] : t->breakers) {
      const CircuitBreaker::Snapshot s = breaker->snapshot(now);
      state.get({{"breaker", name}}).set(static_cast<double>(s.state));
      rejected.get({{"breaker", name}}).set(static_cast<double>(s.rejected));
    }
  });
}

void CircuitBreakers::set_listener(Listener listener) {
  std::lock_guard lock(listener_mutex_);
  listener_ = std::move(listener);
}

CircuitBreaker& CircuitBreakers::get(std::string_view name, const CircuitBreakerSettings& settings) {
  std::lock_guard lock(table_->mutex);
  auto it = table_->breakers.find(name);
  if (it == table_->breakers.end()) {
    auto breaker = std::make_unique<CircuitBreaker>(
        std::string(name), settings,
        [this](CircuitBreaker& b, BreakerState from, BreakerState to) { changed(b, from, to); });
    it = table_->breakers.emplace(std::string(name), std::move(breaker)).first;
  }
  return *it->second;
}

std::vector<CircuitBreaker*> CircuitBreakers::list() const {
  std::lock_guard lock(table_->mutex);
  std::vector<CircuitBreaker*> all;
  for (const auto& [name, breaker] : table_->breakers) all.push_back(breaker.get());
  return all;
}

Status CircuitBreakers::reset(std::string_view name) {
  CircuitBreaker* breaker = nullptr;
  {
    std::lock_guard lock(table_->mutex);
    auto it = table_->breakers.find(name);
    if (it == table_->breakers.end()) return not_found(fmt::format("no circuit breaker named '{}'", name));
    breaker = it->second.get();
  }
  breaker->reset();  // outside the table's lock: it tells the listener
  return {};
}

void CircuitBreakers::changed(CircuitBreaker& breaker, BreakerState from, BreakerState to) {
  transitions_.get({{"breaker", breaker.name()}, {"to", breaker_state_name(to)}}).add();
  std::lock_guard lock(listener_mutex_);
  if (!listener_) return;
  Change change{breaker.name(), from, to, breaker.snapshot(Clock::now())};
  listener_(change);
}

std::string change_json(const CircuitBreakers::Change& c) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("breaker");
  w.String(c.breaker.data(), static_cast<rapidjson::SizeType>(c.breaker.size()));
  w.Key("from");
  w.String(breaker_state_name(c.from));
  w.Key("to");
  w.String(breaker_state_name(c.to));
  w.Key("calls");
  w.Int(c.snapshot.calls);
  w.Key("failure_rate_percent");
  w.Double(c.snapshot.failure_rate_percent);
  w.Key("slow_rate_percent");
  w.Double(c.snapshot.slow_rate_percent);
  if (c.to == BreakerState::kOpen) {
    w.Key("next_probe_ms");  // Unix time
    w.Int64(to_unix_ms(c.snapshot.open_until));
  }
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace seraph
