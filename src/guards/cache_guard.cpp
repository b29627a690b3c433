#include "guards/cache_guard.h"

#include "cache/answer_codec.h"
#include "control/deployments.h"
#include "guards/guard_chain.h"
#include "models/backend.h"
#include "models/model_version.h"
#include "store/redis_client.h"

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

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Counter& outcome(MetricsRegistry& metrics, const char* name) {
  return metrics.counter("seraph_cache_requests_total", "Inference requests the response cache saw, by outcome.")
      .get({{"outcome", name}});
}

std::string shared_key(const CacheKey& key) { return "seraph:cache:" + key.hex(); }

// A shared entry: its expiry (Unix ms, 8 bytes little-endian), then the answer (cache/answer_codec.h).
// Another replica wrote it: read as hostile. `left`: how long it has to live.
Status decode_shared(std::string_view value, InferResponse& answer, std::chrono::milliseconds& left) {
  if (value.size() < 8) return invalid_argument("a shared cache entry is shorter than its header");
  int64_t expires_ms = 0;
  for (int i = 0; i < 8; ++i) expires_ms |= static_cast<int64_t>(static_cast<uint8_t>(value[i])) << (8 * i);
  left = std::chrono::milliseconds(expires_ms - unix_now_ms());
  return decode_answer(value.substr(8), answer);
}

}  // namespace

CacheGuard::CacheGuard(const CacheSettings& settings, MetricsRegistry& metrics, RedisClient* redis)
    : settings_(settings),
      redis_(settings.store == CacheSettings::Store::kRedis ? redis : nullptr),
      cache_(std::make_shared<ResponseCache>(ResponseCacheOptions{
          static_cast<size_t>(settings.max_bytes), std::chrono::milliseconds(settings.ttl_ms), 16,
          std::chrono::milliseconds(settings.stale_while_revalidate_ms),
          std::chrono::milliseconds(settings.stale_if_error_ms)})),
      hits_(outcome(metrics, "hit")),
      stale_(outcome(metrics, "stale")),
      misses_(outcome(metrics, "miss")),
      bypasses_(outcome(metrics, "bypass")),
      collapsed_(outcome(metrics, "collapsed")),
      redis_errors_(metrics
                        .counter("seraph_cache_redis_errors_total",
                                 "Shared-cache reads and writes Redis failed or did not answer in time (served without it).")
                        .get({})) {
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
    case ResponseCache::Freshness::kExpired:
      // Kept for the fallback guard, should the backend fail this request.
      role.expired = std::shared_ptr<const InferResponse>(found, &found->response);
      break;
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
      // The flight's leader asks the replicas' shared cache before the backend.
      if (redis_) return look_up_shared(exchange);
      break;
    case SingleFlight::Role::kComputeAlone:
      role.kind = Exchange::CacheRole::kStore;
      break;
  }
  misses_.add();
  exchange.response_headers.emplace_back("X-Cache", "MISS");
  return RequestVerdict::kContinue;
}

RequestVerdict CacheGuard::look_up_shared(Exchange& exchange) {
  auto ex = exchange.shared_from_this();
  redis_->command({"GET", shared_key(exchange.cache.key)}, [this, ex](Status status, RedisReply reply) {
    ex->loop->dispatch([this, ex, status = std::move(status), reply = std::move(reply)] {
      auto& role = ex->cache;
      std::shared_ptr<const InferResponse> answer;
      std::chrono::milliseconds left{0};
      if (!status.is_ok() || reply.type == RedisReply::Type::kError) {
        redis_errors_.add();  // served without the shared cache, never refused for it
      } else if (reply.type == RedisReply::Type::kString) {
        InferResponse decoded;
        if (Status s = decode_shared(reply.text, decoded, left); s.is_ok() && left > 0ms) {
          answer = std::make_shared<const InferResponse>(std::move(decoded));
        } else if (!s.is_ok()) {
          redis_errors_.add();
        }
      }
      if (!answer) {
        if (ex->cancelled()) return;  // answered by its deadline meanwhile: its response half ended the flight
        misses_.add();
        ex->response_headers.emplace_back("X-Cache", "MISS");
        return GuardChain::resume_request(*ex, Stage::kInference, RequestVerdict::kContinue);
      }
      cache_->store(role.key, *answer, Clock::now(), left);
      flights_->finish(role.key, role.ticket, Status::ok(), answer);
      if (ex->cancelled()) return;
      hits_.add();
      role.kind = Exchange::CacheRole::kNone;
      serve(*ex, *answer, "HIT");
      GuardChain::resume_request(*ex, Stage::kInference, RequestVerdict::kRespond);
    });
  });
  return RequestVerdict::kPause;
}

void CacheGuard::store_shared(const CacheKey& key, const InferResponse& answer, std::chrono::milliseconds ttl) {
  std::string value;
  const int64_t expires_ms = unix_now_ms() + ttl.count();
  for (int i = 0; i < 8; ++i) value.push_back(static_cast<char>((expires_ms >> (8 * i)) & 0xFF));
  std::string encoded;
  if (Status s = encode_answer(answer, encoded); !s.is_ok()) return redis_errors_.add();  // too big to share
  value += encoded;
  redis_->command({"SET", shared_key(key), std::move(value), "PX", std::to_string(ttl.count())},
                  [errors = &redis_errors_](Status status, RedisReply reply) {
                    if (!status.is_ok() || reply.type == RedisReply::Type::kError) errors->add();
                  });
}

ResponseVerdict CacheGuard::on_response(Exchange& exchange) {
  auto& role = exchange.cache;
  // An answer the client got (its deadline did not answer first) is worth keeping, unless a
  // fallback gave it: that is not this key's answer (another variant's, a stale or default one).
  const bool keep = exchange.status.is_ok() && !exchange.cancelled() && !exchange.fallback.serving;
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
        const std::chrono::milliseconds ttl = ttl_for(exchange.request->model);
        cache_->store(role.key, exchange.response, Clock::now(), ttl);
        if (redis_) store_shared(role.key, exchange.response, ttl);
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
