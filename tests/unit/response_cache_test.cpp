#include "cache/response_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace seraph {
namespace {

using std::chrono::milliseconds;

const TimePoint kT0 = TimePoint(std::chrono::hours(1));

CacheKey key(uint64_t n) { return {n * 0x9e3779b97f4a7c15ULL, n}; }

InferResponse answer(std::string label, size_t padding = 0) {
  InferResponse response;
  response.model = "sentiment";
  response.version = 3;
  response.id = "request-1";
  Tensor output{"label", DataType::kBytes, {1}, {}, {std::move(label)}};
  response.outputs.push_back(std::move(output));
  if (padding > 0)
    response.outputs.push_back(
        Tensor{"padding", DataType::kUint8, {int64_t(padding)}, std::vector<std::byte>(padding), {}});
  return response;
}

// What an answer counts against the budget once stored (without its id).
size_t stored_bytes(InferResponse response) {
  response.id.clear();
  return estimated_answer_bytes(response);
}

std::string label_of(const CachedAnswer& cached) { return cached.response.outputs.at(0).strings.at(0); }

// One shard, so the budget and the LRU order cover every key.
ResponseCache one_shard(size_t max_bytes, milliseconds stale = milliseconds(0)) {
  return ResponseCache(ResponseCacheOptions{max_bytes, milliseconds(60000), 1, stale});
}

TEST(ResponseCache, MissesAKeyNeverStored) {
  ResponseCache cache({});
  std::shared_ptr<const CachedAnswer> out;
  EXPECT_EQ(cache.lookup(key(1), kT0, out), ResponseCache::Freshness::kMiss);
  EXPECT_EQ(out, nullptr);
}

TEST(ResponseCache, HitsWhatWasStored) {
  ResponseCache cache({});
  cache.store(key(1), answer("positive"), kT0, milliseconds(1000));
  std::shared_ptr<const CachedAnswer> out;
  ASSERT_EQ(cache.lookup(key(1), kT0 + milliseconds(999), out), ResponseCache::Freshness::kFresh);
  EXPECT_EQ(label_of(*out), "positive");
  EXPECT_EQ(out->stored_at, kT0);
  EXPECT_EQ(out->expires_at, kT0 + milliseconds(1000));
  EXPECT_EQ(cache.lookup(key(2), kT0, out), ResponseCache::Freshness::kMiss);
}

TEST(ResponseCache, ForgetsTheIdOfTheRequestThatComputedTheAnswer) {
  ResponseCache cache({});
  cache.store(key(1), answer("positive"), kT0);
  std::shared_ptr<const CachedAnswer> out;
  ASSERT_EQ(cache.lookup(key(1), kT0, out), ResponseCache::Freshness::kFresh);
  EXPECT_EQ(out->response.id, "");
}

TEST(ResponseCache, StoreWithoutTtlUsesTheConfiguredOne) {
  ResponseCache cache(ResponseCacheOptions{.ttl = milliseconds(250)});
  cache.store(key(1), answer("positive"), kT0);
  std::shared_ptr<const CachedAnswer> out;
  ASSERT_EQ(cache.lookup(key(1), kT0, out), ResponseCache::Freshness::kFresh);
  EXPECT_EQ(out->expires_at, kT0 + milliseconds(250));
}

TEST(ResponseCache, ReplacesTheAnswerStoredUnderTheSameKey) {
  ResponseCache cache({});
  cache.store(key(1), answer("positive"), kT0);
  cache.store(key(1), answer("negative"), kT0);
  std::shared_ptr<const CachedAnswer> out;
  ASSERT_EQ(cache.lookup(key(1), kT0, out), ResponseCache::Freshness::kFresh);
  EXPECT_EQ(label_of(*out), "negative");
  EXPECT_EQ(cache.counts().entries, 1u);
  EXPECT_EQ(cache.counts().bytes, stored_bytes(answer("negative")));
}

TEST(ResponseCache, ExpiresAfterTheTtl) {
  ResponseCache cache({});
  cache.store(key(1), answer("positive"), kT0, milliseconds(1000));
  std::shared_ptr<const CachedAnswer> out;
  EXPECT_EQ(cache.lookup(key(1), kT0 + milliseconds(1000), out), ResponseCache::Freshness::kMiss);
  EXPECT_EQ(cache.counts().entries, 0u);
  EXPECT_EQ(cache.counts().bytes, 0u);
  EXPECT_EQ(cache.counts().expirations, 1u);
}

TEST(ResponseCache, ServesAnExpiredAnswerAsStaleInsideTheWindow) {
  ResponseCache cache(ResponseCacheOptions{.stale_while_revalidate = milliseconds(500)});
  cache.store(key(1), answer("positive"), kT0, milliseconds(1000));
  std::shared_ptr<const CachedAnswer> out;
  EXPECT_EQ(cache.lookup(key(1), kT0 + milliseconds(999), out), ResponseCache::Freshness::kFresh);
  out.reset();
  ASSERT_EQ(cache.lookup(key(1), kT0 + milliseconds(1000), out), ResponseCache::Freshness::kStale);
  EXPECT_EQ(label_of(*out), "positive");
  EXPECT_EQ(cache.lookup(key(1), kT0 + milliseconds(1499), out), ResponseCache::Freshness::kStale);
  EXPECT_EQ(cache.lookup(key(1), kT0 + milliseconds(1500), out), ResponseCache::Freshness::kMiss);
}

TEST(ResponseCache, KeepsAnExpiredAnswerForAFailingBackendInsideTheStaleIfErrorWindow) {
  ResponseCache cache(ResponseCacheOptions{.stale_while_revalidate = milliseconds(500),
                                           .stale_if_error = milliseconds(5000)});
  cache.store(key(1), answer("positive"), kT0, milliseconds(1000));
  std::shared_ptr<const CachedAnswer> out;
  EXPECT_EQ(cache.lookup(key(1), kT0 + milliseconds(1499), out), ResponseCache::Freshness::kStale);
  out.reset();
  ASSERT_EQ(cache.lookup(key(1), kT0 + milliseconds(1500), out), ResponseCache::Freshness::kExpired);
  EXPECT_EQ(label_of(*out), "positive");
  EXPECT_EQ(cache.lookup(key(1), kT0 + milliseconds(5999), out), ResponseCache::Freshness::kExpired)
      << "an expired look-up keeps the entry";
  EXPECT_EQ(cache.lookup(key(1), kT0 + milliseconds(6000), out), ResponseCache::Freshness::kMiss);
  EXPECT_EQ(cache.counts().expirations, 1u);
}

TEST(ResponseCache, AFreshStoreEndsTheStaleness) {
  ResponseCache cache(ResponseCacheOptions{.stale_while_revalidate = milliseconds(500)});
  cache.store(key(1), answer("old"), kT0, milliseconds(1000));
  cache.store(key(1), answer("new"), kT0 + milliseconds(1200), milliseconds(1000));
  std::shared_ptr<const CachedAnswer> out;
  ASSERT_EQ(cache.lookup(key(1), kT0 + milliseconds(1300), out), ResponseCache::Freshness::kFresh);
  EXPECT_EQ(label_of(*out), "new");
}

TEST(ResponseCache, DoesNotStoreWithATtlThatIsNotPositive) {
  ResponseCache cache({});
  cache.store(key(1), answer("positive"), kT0, milliseconds(0));
  std::shared_ptr<const CachedAnswer> out;
  EXPECT_EQ(cache.lookup(key(1), kT0, out), ResponseCache::Freshness::kMiss);
  EXPECT_EQ(cache.counts().entries, 0u);
}

TEST(ResponseCache, EvictsTheLeastRecentlyUsedToStayInBudget) {
  const size_t entry = stored_bytes(answer("a"));
  ResponseCache cache = one_shard(3 * entry);
  cache.store(key(1), answer("a"), kT0);
  cache.store(key(2), answer("b"), kT0);
  cache.store(key(3), answer("c"), kT0);
  std::shared_ptr<const CachedAnswer> out;
  ASSERT_EQ(cache.lookup(key(1), kT0, out), ResponseCache::Freshness::kFresh);  // 2 is now the oldest use

  cache.store(key(4), answer("d"), kT0);
  EXPECT_EQ(cache.lookup(key(2), kT0, out), ResponseCache::Freshness::kMiss);
  EXPECT_EQ(cache.lookup(key(1), kT0, out), ResponseCache::Freshness::kFresh);
  EXPECT_EQ(cache.lookup(key(3), kT0, out), ResponseCache::Freshness::kFresh);
  EXPECT_EQ(cache.lookup(key(4), kT0, out), ResponseCache::Freshness::kFresh);
  ResponseCache::Counts counts = cache.counts();
  EXPECT_EQ(counts.entries, 3u);
  EXPECT_EQ(counts.bytes, 3 * entry);
  EXPECT_EQ(counts.evictions, 1u);

  // A bigger answer pushes out as many as it needs, oldest first: 1 and 3 (4 was used last).
  InferResponse bigger = answer("e", entry / 2);
  ASSERT_GT(stored_bytes(bigger), entry);
  ASSERT_LE(stored_bytes(bigger), 2 * entry);
  cache.store(key(5), std::move(bigger), kT0);
  EXPECT_EQ(cache.lookup(key(4), kT0, out), ResponseCache::Freshness::kFresh);
  EXPECT_EQ(cache.lookup(key(1), kT0, out), ResponseCache::Freshness::kMiss);
  EXPECT_EQ(cache.lookup(key(3), kT0, out), ResponseCache::Freshness::kMiss);
  EXPECT_EQ(cache.counts().evictions, 3u);
  EXPECT_LE(cache.counts().bytes, 3 * entry);
}

TEST(ResponseCache, CountsAnExpiredEntryPushedOutForRoomAsAnExpiration) {
  const size_t entry = stored_bytes(answer("a"));
  ResponseCache cache = one_shard(entry);
  cache.store(key(1), answer("a"), kT0, milliseconds(10));
  cache.store(key(2), answer("b"), kT0 + milliseconds(10), milliseconds(10));
  EXPECT_EQ(cache.counts().expirations, 1u);
  EXPECT_EQ(cache.counts().evictions, 0u);
}

TEST(ResponseCache, DoesNotStoreAnAnswerBiggerThanAShardsBudget) {
  ResponseCache cache(ResponseCacheOptions{.max_bytes = 64 * 1024, .shards = 4});  // 16 KiB a shard
  cache.store(key(1), answer("small"), kT0);
  cache.store(key(2), answer("big", 20 * 1024), kT0);
  std::shared_ptr<const CachedAnswer> out;
  EXPECT_EQ(cache.lookup(key(2), kT0, out), ResponseCache::Freshness::kMiss);
  EXPECT_EQ(cache.lookup(key(1), kT0, out), ResponseCache::Freshness::kFresh);
  EXPECT_EQ(cache.counts().too_large, 1u);
  EXPECT_EQ(cache.counts().entries, 1u);
}

TEST(ResponseCache, AnEvictedAnswerStaysValidForWhoeverHoldsIt) {
  const size_t entry = stored_bytes(answer("a"));
  ResponseCache cache = one_shard(entry);
  cache.store(key(1), answer("h"), kT0);
  std::shared_ptr<const CachedAnswer> held;
  ASSERT_EQ(cache.lookup(key(1), kT0, held), ResponseCache::Freshness::kFresh);
  cache.store(key(2), answer("b"), kT0);
  std::shared_ptr<const CachedAnswer> out;
  ASSERT_EQ(cache.lookup(key(1), kT0, out), ResponseCache::Freshness::kMiss);
  EXPECT_EQ(label_of(*held), "h");
}

TEST(ResponseCache, EstimatesBytesFromDataStringsAndNames) {
  InferResponse small = answer("a");
  InferResponse longer_label = answer(std::string(1000, 'a'));
  EXPECT_EQ(estimated_answer_bytes(longer_label) - estimated_answer_bytes(small), 999u);
  InferResponse padded = answer("a", 4096);
  EXPECT_GE(estimated_answer_bytes(padded) - estimated_answer_bytes(small), 4096u);
}

TEST(ResponseCache, StaysConsistentUnderConcurrentUse) {
  // Three-digit labels: every answer has the same size, so bytes and entries must agree.
  auto label = [](uint64_t n) { return std::to_string(100 + n); };
  const size_t entry = stored_bytes(answer(label(0)));
  // Room for about 40 of the 200 keys, so threads evict each other's entries as they go.
  ResponseCache cache(ResponseCacheOptions{.max_bytes = 40 * entry, .shards = 4});
  constexpr int kThreads = 4;
  constexpr int kOperations = 20000;
  std::atomic<uint64_t> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOperations; ++i) {
        const uint64_t n = static_cast<uint64_t>((i * 7 + t * 13) % 200);
        std::shared_ptr<const CachedAnswer> out;
        if (cache.lookup(key(n), kT0, out) == ResponseCache::Freshness::kMiss) {
          cache.store(key(n), answer(label(n)), kT0);
        } else if (label_of(*out) != label(n)) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0u);
  ResponseCache::Counts counts = cache.counts();
  EXPECT_GT(counts.evictions, 0u);
  EXPECT_LE(counts.bytes, 40 * entry);
  EXPECT_EQ(counts.bytes, counts.entries * entry);
}

}  // namespace
}  // namespace seraph
