#include "guards/circuit_breaker_guard.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "models/model_version.h"
#include "resilience/circuit_breakers.h"

namespace seraph {

CircuitBreaker& CircuitBreakerGuard::breaker_of(const ModelVersion& version) {
  // Each I/O thread remembers the breaker of the versions it served, so the common case builds no
  // name and takes no shared lock. A version's address may be reused by another version after an
  // unload: the entry is checked against the version's name and number.
  struct Entry {
    uint64_t directory;
    const ModelVersion* version;
    bool operator==(const Entry&) const = default;
  };
  struct EntryHash {
    size_t operator()(const Entry& e) const { return std::hash<const void*>()(e.version) ^ e.directory; }
  };
  struct Cached {
    std::string model;
    int64_t number;
    CircuitBreaker* breaker;
  };
  constexpr size_t kMaxCached = 1024;  // a bound: beyond it, start again
  thread_local std::unordered_map<Entry, Cached, EntryHash> cache;
  const Entry key{breakers_.id(), &version};
  if (auto it = cache.find(key); it != cache.end()) {
    const Cached& c = it->second;
    if (c.number == version.version() && c.model == version.model()) return *c.breaker;
  }
  if (cache.size() >= kMaxCached) cache.clear();
  CircuitBreaker& breaker = breakers_.get(fmt::format("model:{}:{}", version.model(), version.version()));
  cache[key] = {version.model(), version.version(), &breaker};
  return breaker;
}

RequestVerdict CircuitBreakerGuard::on_request(Exchange& exchange) {
  if (!exchange.version) return RequestVerdict::kContinue;
  CircuitBreaker& breaker = breaker_of(*exchange.version);
  const TimePoint now = Clock::now();
  CircuitBreaker::Permit permit = breaker.try_acquire(now);
  if (!permit) {
    const auto wait_ms =
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(permit.retry_at - now).count());
    exchange.status =
        unavailable(fmt::format("model '{}' version {} is failing or slow: its circuit breaker is open and lets "
                                "requests through again in {} ms",
                                exchange.version->model(), exchange.version->version(), wait_ms))
            .with_cause(FailureCause::kCircuitOpen);
    exchange.response_headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, (wait_ms + 999) / 1000)));
    return RequestVerdict::kRespond;
  }
  exchange.circuit_breaker = {&breaker, permit, now};
  return RequestVerdict::kContinue;
}

ResponseVerdict CircuitBreakerGuard::on_response(Exchange& exchange) {
  auto& call = exchange.circuit_breaker;
  if (!call.breaker) return ResponseVerdict::kPass;
  const bool failed = !exchange.status.is_ok() && http_status_of(exchange.status.code()) >= 500;
  const TimePoint now = Clock::now();
  call.breaker->record(call.permit, now, now - call.started, failed);
  call = {};
  return ResponseVerdict::kPass;
}

}  // namespace seraph
