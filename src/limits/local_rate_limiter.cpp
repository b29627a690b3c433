// LocalRateLimiter: GCRA on sharded hash maps, in integer nanoseconds of the steady clock.
#include "limits/local_rate_limiter.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <boost/container/small_vector.hpp>

namespace seraph {
namespace {

using std::chrono::nanoseconds;

// What one rule says about one key at `now`.
struct Evaluation {
  size_t shard = 0;
  GcraRule gcra{};
  int64_t* stored = nullptr;  // the key's TAT in its shard, when it has one
  int64_t tat = 0;            // the TAT now, no earlier than now
  int64_t new_tat = 0;        // after charging the cost
  bool cost_exceeds_burst = false;
  int64_t retry_after = 0;  // > 0 when refused for now
  bool refused() const { return cost_exceeds_burst || retry_after > 0; }
};

// A refusal for good outweighs one for a while; between those, the longer wait decides.
bool refuses_harder(const Evaluation& a, const Evaluation& b) {
  if (a.cost_exceeds_burst != b.cost_exceeds_burst) return a.cost_exceeds_burst;
  return a.retry_after > b.retry_after;
}

int64_t units_that_fit(const GcraRule& gcra, int64_t now, int64_t tat) {
  return std::max<int64_t>(0, (now + gcra.tolerance() - tat) / gcra.interval);
}

std::chrono::milliseconds ceil_ms(int64_t ns) { return std::chrono::ceil<std::chrono::milliseconds>(nanoseconds(ns)); }

// The top bits of a multiplicative mix: the map inside the shard uses the hash's low bits.
size_t shard_of(size_t hash) { return static_cast<size_t>((uint64_t{hash} * 0x9E3779B97F4A7C15ULL) >> 58); }

}  // namespace

LocalRateLimiter::LocalRateLimiter(size_t max_keys)
    : keys_per_shard_(std::max<size_t>(1, (max_keys + kShards - 1) / kShards)) {
  static_assert(kShards == 64, "shard_of takes the hash's top 6 bits");
}

RateDecision LocalRateLimiter::check(std::span<const RateCheck> checks, int64_t cost, TimePoint now) {
  if (cost < 0) throw std::invalid_argument("a rate limit cost cannot be negative");
  RateDecision decision;
  if (checks.empty()) return decision;
  const int64_t now_ns = std::chrono::duration_cast<nanoseconds>(now.time_since_epoch()).count();

  // The state's keys, "rule:key" like the Redis limiter's; reused, so no allocation once warm.
  thread_local std::vector<std::string> keys;
  keys.resize(checks.size());
  boost::container::small_vector<Evaluation, 4> evaluations(checks.size());
  boost::container::small_vector<size_t, 4> shard_order;
  for (size_t i = 0; i < checks.size(); ++i) {
    keys[i].assign(checks[i].rule->name).append(1, ':').append(checks[i].key);
    evaluations[i].shard = shard_of(KeyHash{}(keys[i]));
    evaluations[i].gcra = gcra_rule<nanoseconds>(*checks[i].rule);
    shard_order.push_back(evaluations[i].shard);
  }
  // Locked in shard order, so two checks over the same shards never wait on each other in a cycle.
  std::sort(shard_order.begin(), shard_order.end());
  shard_order.erase(std::unique(shard_order.begin(), shard_order.end()), shard_order.end());
  boost::container::small_vector<std::unique_lock<std::mutex>, 4> locks;
  for (size_t shard : shard_order) locks.emplace_back(shards_[shard].mutex);

  size_t decider = checks.size();
  for (size_t i = 0; i < checks.size(); ++i) {
    Evaluation& e = evaluations[i];
    auto& tats = shards_[e.shard].tats;
    const auto found = tats.find(std::string_view(keys[i]));
    if (found != tats.end()) e.stored = &found->second;
    e.tat = e.stored ? std::max(*e.stored, now_ns) : now_ns;
    e.cost_exceeds_burst = cost > e.gcra.burst;
    if (!e.cost_exceeds_burst) {
      e.new_tat = e.tat + cost * e.gcra.interval;
      e.retry_after = std::max<int64_t>(0, e.new_tat - e.gcra.tolerance() - now_ns);
    }
    if (e.refused() && (decider == checks.size() || refuses_harder(e, evaluations[decider]))) decider = i;
  }
  if (decider < checks.size()) {  // refused: nothing is charged
    const Evaluation& e = evaluations[decider];
    decision.allowed = false;
    decision.cost_exceeds_burst = e.cost_exceeds_burst;
    decision.limit = checks[decider].rule->limit;
    decision.remaining = units_that_fit(e.gcra, now_ns, e.tat);
    decision.retry_after = ceil_ms(e.retry_after);
    decision.reset_after = ceil_ms(e.tat - now_ns);
    decision.rule = checks[decider].rule->name;
    return decision;
  }

  int64_t least_remaining = 0;
  for (size_t i = 0; i < checks.size(); ++i) {
    Evaluation& e = evaluations[i];
    Shard& shard = shards_[e.shard];
    if (e.stored) {
      // Still valid: make_room never erases a key of this check, and rehashing keeps elements in place.
      *e.stored = e.new_tat;
    } else if (e.new_tat > now_ns) {  // a cost of 0 on a new key leaves it at full allowance: nothing to keep
      if (shard.tats.size() >= keys_per_shard_) make_room(shard, now_ns, std::span(keys.data(), checks.size()));
      shard.tats.emplace(keys[i], e.new_tat);
    }
    const int64_t remaining = units_that_fit(e.gcra, now_ns, e.new_tat);
    if (decider == checks.size() || remaining < least_remaining) {
      decider = i;
      least_remaining = remaining;
    }
  }
  const Evaluation& e = evaluations[decider];
  decision.limit = checks[decider].rule->limit;
  decision.remaining = least_remaining;
  decision.reset_after = ceil_ms(e.new_tat - now_ns);
  decision.rule = checks[decider].rule->name;
  return decision;
}

void LocalRateLimiter::make_room(Shard& shard, int64_t now, std::span<const std::string> keep) {
  const auto kept = [&](const std::string& key) { return std::find(keep.begin(), keep.end(), key) != keep.end(); };
  const size_t before = shard.tats.size();
  std::erase_if(shard.tats, [&](const auto& entry) { return entry.second <= now && !kept(entry.first); });
  if (shard.tats.size() < before) return;
  auto earliest = shard.tats.end();
  for (auto it = shard.tats.begin(); it != shard.tats.end(); ++it) {
    if ((earliest == shard.tats.end() || it->second < earliest->second) && !kept(it->first)) earliest = it;
  }
  if (earliest != shard.tats.end()) shard.tats.erase(earliest);
}

size_t LocalRateLimiter::key_count() const {
  size_t count = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    count += shard.tats.size();
  }
  return count;
}

}  // namespace seraph
