#include "guards/cache_guard.h"

#include "control/deployments.h"
#include "guards/guard_chain.h"
#include "models/backend.h"
#include "models/model_version.h"

namespace seraph {
namespace {

using namespace std::chrono_literals;

bool asks_no_cache(const HeaderMap& headers) {
  const std::string_view control = headers.header("cache-control");
  return !control.empty() && control.find("no-cache") != std::string_view::npos;
}

// The version that will serve: the local one routing chose, or the remote variant's.
int64_t serving_version(const Exchange& exchange) {
  if (exchange.version) return exchange.version->version();
  if (exchange.variant) return exchange.variant->record.version;
  return exchange.request->version.value_or(0);
}

std::string_view serving_model(const Exchange& exchange) {
  if (exchange.version) return exchange.version->model();
  if (exchange.variant) return exchange.variant->record.model;
  return exchange.request->model;
}

}  // namespace

CacheGuard::CacheGuard(const CacheSettings& settings, MetricsRegistry& metrics)
    : CacheGuard(settings, metrics,
                 metrics.counter("seraph_cache_requests_total", "Inference requests the response cache saw, by outcome.")) {}

CacheGuard::CacheGuard(const CacheSettings& settings, MetricsRegistry& metrics, Family<Counter>& outcomes)
    : settings_(settings),
      cache_(std::make_shared<ResponseCache>(ResponseCacheOptions{
          static_cast<size_t>(settings.max_bytes), std::chrono::milliseconds(settings.ttl_ms), 16,
          std::chrono::milliseconds(settings.stale_while_revalidate_ms)})),
      hits_(outcomes.get({{"outcome", "hit"}})),
      stale_(outcomes.get({{"outcome", "stale"}})),
      misses_(outcomes.get({{"outcome", "miss"}})),
      bypasses_(outcomes.get({{"outcome", "bypass"}})),
      collapsed_(outcomes.get({{"outcome", "collapsed"}})) {
  Gauge& entries = metrics.gauge("seraph_cache_entries", "Answers in the in-process response cache.").get({});
  Gauge& bytes = metrics.gauge("seraph_cache_bytes", "Bytes the in-process response cache holds.").get({});
  Gauge& evictions = metrics.sampled_counter("seraph_cache_evictions_total",
                                             "Answers evicted from the response cache to stay within its byte budget.")
                         .get({});
  metrics.on_collect([cache = std::weak_ptr<ResponseCache>(cache_), &entries, &bytes, &evictions] {
    if (auto c = cache.lock()) {
      const ResponseCache::Counts counts = c->counts();
      entries.set(static_cast<double>(counts.entries));
      bytes.set(static_cast<double>(counts.bytes));
      evictions.set(static_cast<double>(counts.evictions));
    }
  });
}

std::chrono::milliseconds CacheGuard::ttl_for(std::string_view called) const {
  if (auto it = settings_.deployments.find(called); it != settings_.deployments.end()) {
    if (!it->second.enabled) return 0ms;
    if (it->second.ttl_ms > 0) return std::chrono::milliseconds(it->second.ttl_ms);
  }
  return std::chrono::milliseconds(settings_.ttl_ms);
}

void CacheGuard::serve(Exchange& exchange, const InferResponse& answer, const char* outcome) {
  exchange.response = answer;
  exchange.response.id = exchange.request->id;
  exchange.status = Status::ok();
  exchange.response_headers.emplace_back("X-Cache", outcome);
}

RequestVerdict CacheGuard::on_request(Exchange& exchange) {
  const std::chrono::milliseconds ttl = ttl_for(exchange.request->model);
  if (ttl <= 0ms) return RequestVerdict::kContinue;
  auto& role = exchange.cache;
  role.key = cache_key(exchange.deployment ? std::string_view(exchange.deployment->name) : std::string_view(),
                       serving_model(exchange), serving_version(exchange), *exchange.request,
                       settings_.per_tenant ? std::string_view(exchange.principal.tenant) : std::string_view());
  if (asks_no_cache(exchange.headers)) {
    bypasses_.add();
    role.kind = Exchange::CacheRole::kStore;
    exchange.response_headers.emplace_back("X-Cache", "BYPASS");
    return RequestVerdict::kContinue;
  }
  std::shared_ptr<const CachedAnswer> found;
  switch (cache_->lookup(role.key, Clock::now(), found)) {
    case ResponseCache::Freshness::kFresh:
      hits_.add();
      serve(exchange, found->response, "HIT");
      return RequestVerdict::kRespond;
    case ResponseCache::Freshness::kStale:
      stale_.add();
      refresh_in_background(exchange, ttl);
      serve(exchange, found->response, "STALE");
      return RequestVerdict::kRespond;
    case ResponseCache::Freshness::kMiss:
      break;
  }
  auto ex = exchange.shared_from_this();
  const SingleFlight::Joined joined = flights_->join(role.key, [ex](Status status, std::shared_ptr<const InferResponse> answer) {
    // The leader's answer, from its thread: this request is answered with it, or computes alone.
    ex->loop->dispatch([ex, status = std::move(status), answer = std::move(answer)] {
      if (!status.is_ok() || !answer) {
        ex->cache.kind = Exchange::CacheRole::kStore;
        ex->response_headers.emplace_back("X-Cache", "MISS");
        return GuardChain::resume_request(*ex, Stage::kInference, RequestVerdict::kContinue);
      }
      ex->cache.kind = Exchange::CacheRole::kNone;
      ex->response = *answer;
      ex->response.id = ex->request->id;
      ex->status = Status::ok();
      ex->response_headers.emplace_back("X-Cache", "HIT");
      GuardChain::resume_request(*ex, Stage::kInference, RequestVerdict::kRespond);
    });
  });
  role.ticket = joined.ticket;
  switch (joined.role) {
    case SingleFlight::Role::kWait:
      collapsed_.add();
      role.kind = Exchange::CacheRole::kWait;
      return RequestVerdict::kPause;
    case SingleFlight::Role::kLead:
      role.kind = Exchange::CacheRole::kLead;
      break;
    case SingleFlight::Role::kComputeAlone:
      role.kind = Exchange::CacheRole::kStore;
      break;
  }
  misses_.add();
  exchange.response_headers.emplace_back("X-Cache", "MISS");
  return RequestVerdict::kContinue;
}

ResponseVerdict CacheGuard::on_response(Exchange& exchange) {
  auto& role = exchange.cache;
  // An answer the client got (its deadline did not answer first) is worth keeping.
  const bool keep = exchange.status.is_ok() && !exchange.cancelled();
  switch (role.kind) {
    case Exchange::CacheRole::kNone:
      break;
    case Exchange::CacheRole::kWait:
      // Answered by its deadline while waiting: out of the queue, so the leader's answer finds no one.
      flights_->leave(role.key, role.ticket);
      break;
    case Exchange::CacheRole::kLead:
    case Exchange::CacheRole::kStore: {
      std::shared_ptr<const InferResponse> answer;
      if (keep) {
        cache_->store(role.key, exchange.response, Clock::now(), ttl_for(exchange.request->model));
        answer = std::make_shared<const InferResponse>(exchange.response);
      }
      if (role.kind == Exchange::CacheRole::kLead) {
        flights_->finish(role.key, role.ticket,
                        keep ? Status::ok() : Status(StatusCode::kUnavailable, "the leading request failed"), answer);
      }
      break;
    }
  }
  role.kind = Exchange::CacheRole::kNone;
  return ResponseVerdict::kPass;
}

void CacheGuard::refresh_in_background(Exchange& exchange, std::chrono::milliseconds ttl) {
  // One refresh per key at a time: the flight's leader is the refresh; others keep serving stale.
  const CacheKey& key = exchange.cache.key;
  const SingleFlight::Joined joined = flights_->join(key, [](Status, std::shared_ptr<const InferResponse>) {});
  if (joined.role == SingleFlight::Role::kWait) flights_->leave(key, joined.ticket);
  if (joined.role != SingleFlight::Role::kLead) return;
  if (!exchange.backend) return flights_->finish(key, joined.ticket, unavailable("no backend to refresh from"), nullptr);
  // Bounded by the request's own deadline, though the client is answered (stale) at once.
  exchange.backend->execute(exchange.request, exchange.deadline,
                            [cache = cache_, flights = flights_, key, ticket = joined.ticket, ttl](Status status,
                                                                                                 InferResponse response) {
                              std::shared_ptr<const InferResponse> answer;
                              if (status.is_ok()) {
                                answer = std::make_shared<const InferResponse>(response);
                                cache->store(key, std::move(response), Clock::now(), ttl);
                              }
                              flights->finish(key, ticket, status, answer);
                            });
}

}  // namespace seraph
