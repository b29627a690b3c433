#include "cache/response_cache.h"

#include <algorithm>

namespace seraph {
namespace {

// The entry's own structures: the answer, its list node and index slot, the control block.
constexpr size_t kEntryOverhead = sizeof(CachedAnswer) + 128;

size_t tensor_bytes(const Tensor& tensor) {
  size_t bytes = sizeof(Tensor) + tensor.name.size() + tensor.shape.size() * sizeof(int64_t) + tensor.bytes.size();
  for (const std::string& element : tensor.strings) bytes += sizeof(std::string) + element.size();
  return bytes;
}

}  // namespace

size_t estimated_answer_bytes(const InferResponse& response) {
  size_t bytes = kEntryOverhead + response.model.size() + response.id.size();
  for (const Tensor& output : response.outputs) bytes += tensor_bytes(output);
  return bytes;
}

ResponseCache::ResponseCache(ResponseCacheOptions options)
    : options_(options),
      shard_budget_(options.max_bytes / std::max<size_t>(options.shards, 1)),
      shards_(std::max<size_t>(options.shards, 1)) {}

bool ResponseCache::past_stale_window(const CachedAnswer& answer, TimePoint now) const {
  return now >= answer.expires_at + std::max(options_.stale_while_revalidate, options_.stale_if_error);
}

void ResponseCache::erase(Shard& shard, std::list<Entry>::iterator it) {
  shard.bytes -= it->answer->bytes;
  shard.index.erase(it->key);
  shard.recency.erase(it);
}

ResponseCache::Freshness ResponseCache::lookup(const CacheKey& key, TimePoint now,
                                               std::shared_ptr<const CachedAnswer>& out) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  auto found = shard.index.find(key);
  if (found == shard.index.end()) return Freshness::kMiss;
  auto it = found->second;
  if (past_stale_window(*it->answer, now)) {
    erase(shard, it);
    ++shard.expirations;
    return Freshness::kMiss;
  }
  shard.recency.splice(shard.recency.begin(), shard.recency, it);
  out = it->answer;
  if (now < it->answer->expires_at) return Freshness::kFresh;
  return now < it->answer->expires_at + options_.stale_while_revalidate ? Freshness::kStale : Freshness::kExpired;
}

void ResponseCache::store(const CacheKey& key, InferResponse response, TimePoint now, std::chrono::milliseconds ttl) {
  if (ttl <= std::chrono::milliseconds::zero()) return;
  response.id.clear();
  const size_t bytes = estimated_answer_bytes(response);
  Shard& shard = shard_of(key);
  if (bytes > shard_budget_) {
    std::lock_guard lock(shard.mutex);
    ++shard.too_large;
    return;
  }
  // Built outside the lock: the lock covers only the list and index changes.
  auto answer = std::make_shared<const CachedAnswer>(CachedAnswer{std::move(response), now, now + ttl, bytes});
  std::lock_guard lock(shard.mutex);
  if (auto found = shard.index.find(key); found != shard.index.end()) erase(shard, found->second);
  while (shard.bytes + bytes > shard_budget_) {
    auto oldest = std::prev(shard.recency.end());
    ++(past_stale_window(*oldest->answer, now) ? shard.expirations : shard.evictions);
    erase(shard, oldest);
  }
  shard.recency.push_front(Entry{key, std::move(answer)});
  shard.index.emplace(key, shard.recency.begin());
  shard.bytes += bytes;
}

ResponseCache::Counts ResponseCache::counts() const {
  Counts counts;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    counts.entries += shard.index.size();
    counts.bytes += shard.bytes;
    counts.evictions += shard.evictions;
    counts.expirations += shard.expirations;
    counts.too_large += shard.too_large;
  }
  return counts;
}

}  // namespace seraph
