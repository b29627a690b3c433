#pragma once
// The response cache, after routing and validation, so the key names the model version that will
// serve (a canary's answer is never served for the baseline) and only valid requests are looked
// up. A fresh answer is served at once (X-Cache: HIT); identical misses in flight together collapse
// into one backend call (the others wait for its answer); an expired answer may be served for a
// while (X-Cache: STALE) while one call refreshes it. With `store: redis`, answers are also shared
// between replicas through Redis: a local miss asks Redis (the request pauses meanwhile) before the
// backend, and a stored answer goes there too; while Redis is away the guard serves without it. `Cache-Control: no-cache` on a request skips
// the look-up (X-Cache: BYPASS) and stores the fresh answer. Only successful answers are stored,
// and never one the client did not get (its deadline answered first).
#include <memory>

#include "cache/response_cache.h"
#include "cache/single_flight.h"
#include "guards/guard.h"
#include "guards/guard_settings.h"
#include "observe/metrics.h"

namespace seraph {

class RedisClient;

class CacheGuard final : public Guard {
 public:
  // `redis`: required when the settings' store is Redis.
  CacheGuard(const CacheSettings& settings, MetricsRegistry& metrics, RedisClient* redis = nullptr);
  std::string_view name() const override { return "cache"; }
  RequestVerdict on_request(Exchange& exchange) override;
  ResponseVerdict on_response(Exchange& exchange) override;

 private:
  // How long answers of the deployment `called` live; zero: not cached.
  std::chrono::milliseconds ttl_for(std::string_view called) const;
  void serve(Exchange& exchange, const InferResponse& answer, const char* outcome);
  void refresh_in_background(Exchange& exchange, std::chrono::milliseconds ttl);
  // The flight's leader asks Redis; pauses until it answers.
  RequestVerdict look_up_shared(Exchange& exchange);
  void store_shared(const CacheKey& key, const InferResponse& answer, std::chrono::milliseconds ttl);

  const CacheSettings settings_;
  RedisClient* const redis_;  // null: no shared cache
  // Shared with the metrics' collector and with background refreshes, which may outlive a request.
  const std::shared_ptr<ResponseCache> cache_;
  const std::shared_ptr<SingleFlight> flights_ = std::make_shared<SingleFlight>();
  Counter& hits_;
  Counter& stale_;
  Counter& misses_;
  Counter& bypasses_;
  Counter& collapsed_;
  Counter& redis_errors_;
};

}  // namespace seraph
