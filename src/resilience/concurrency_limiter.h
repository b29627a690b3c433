#pragma once
// Admission to one target (a local model version, a remote backend): at most `limit` requests in
// flight, the limit adapting to the target's latency (resilience/gradient_limiter.h). A request
// that finds no free slot waits in a bounded priority queue (critical, then normal, then low;
// first come first served within one), but only if the expected wait leaves it time to be served
// before its deadline and is within max_queue_wait; otherwise it is shed at once. Under overload
// low sheds first: low requests may fill only low_share of the limit and normal ones
// normal_share, and an arrival finding the queue full evicts the newest waiter of a lower
// priority, if there is one.
//
// Cheap in the common case: a free slot is one compare-and-swap on the in-flight count, and a
// latency sample two adds on the calling thread's own cache line; the mutex is taken to queue, to
// hand a freed slot to a waiter, and once per sample window to move the limit.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/priority.h"
#include "observe/metric_shards.h"
#include "resilience/gradient_limiter.h"

namespace seraph {

enum class ShedReason : uint8_t { kQueueFull = 0, kNoTime = 1, kQueueTimeout = 2, kEvicted = 3 };
inline constexpr int kShedReasons = 4;
std::string_view shed_reason_name(ShedReason reason);

struct ConcurrencySettings {
  GradientSettings gradient;
  int max_queue = 64;                            // waiters per target
  std::chrono::milliseconds max_queue_wait{50};  // the longest a request waits for a slot
  double low_share = 0.5;                        // of the limit, the most low requests may hold
  double normal_share = 0.8;                     // ... and normal ones; critical ones all of it
  std::chrono::milliseconds sample_window{100};  // latency samples are averaged over this
  int min_window_samples = 10;                   // a window with fewer waits for more
};

class ConcurrencyLimiter {
 public:
  // How the wait `ticket` ended: nullopt, granted (the slot is the waiter's now); else why it was
  // shed. Runs exactly once per queued waiter that was not withdrawn, outside the lock, on the
  // deciding thread.
  using Wake = std::function<void(uint64_t ticket, std::optional<ShedReason> shed)>;

  ConcurrencyLimiter(const ConcurrencySettings& settings, TimePoint now);

  // Takes a slot when one is free for `priority` and no one waits: the common case.
  bool try_acquire(Priority priority);

  struct Admission {
    enum Kind : uint8_t { kAcquired, kQueued, kShed } kind = kShed;
    ShedReason reason = ShedReason::kQueueFull;  // kShed
    uint64_t ticket = 0;                         // kQueued: for withdraw()
    TimePoint wait_until{};                      // kQueued: withdraw and shed (kQueueTimeout) by then
  };
  // Takes a slot, or queues the request (`wake` runs later), or sheds it. May wake an evicted
  // waiter before it returns.
  Admission acquire(Priority priority, TimePoint now, TimePoint deadline, Wake wake);
  // Takes a waiter out of the queue (its timeout, its deadline); false when it was already granted
  // or shed, so its wake runs or ran.
  bool withdraw(uint64_t ticket);
  // Frees a slot held for `rtt` (sampled when given) and hands free slots to the best waiters.
  void release(TimePoint now, std::optional<std::chrono::nanoseconds> rtt);

  int limit() const { return limit_.load(std::memory_order_relaxed); }
  int inflight() const { return counts_.inflight.load(std::memory_order_relaxed); }
  int queue_depth() const { return counts_.waiting.load(std::memory_order_relaxed); }

 private:
  struct Waiter {
    uint64_t ticket;
    Wake wake;
  };
  using Woken = std::vector<Waiter>;

  int cap(Priority priority) const;
  bool take(int cap);
  bool queued_at_or_above(Priority priority) const;
  // Moves the limit when a window has ended; true when it did (there may be room for waiters).
  bool close_window(TimePoint now);
  // Hands free slots to waiters, best first; their wakes go to `woken`. Under the lock.
  void grant(Woken& woken);
  // Grants what it can and wakes them, outside the lock.
  void grant_and_wake();

  const ConcurrencySettings settings_;
  struct alignas(kCacheLine) Counts {
    std::atomic<int> inflight{0};
    std::atomic<int> waiting{0};  // queued (and arrivals deciding whether to queue)
  } counts_;
  std::atomic<int> limit_;
  std::atomic<int64_t> window_end_ns_;
  std::atomic<int64_t> short_rtt_ns_{0};  // the last window's mean RTT; 0: none yet
  ShardedCounts<2> samples_;              // RTT nanoseconds, count

  std::mutex mutex_;  // the queues, the gradient, the samples taken so far
  GradientLimiter gradient_;
  uint64_t taken_ns_ = 0;
  uint64_t taken_count_ = 0;
  std::deque<Waiter> queues_[kPriorities];
  uint64_t next_ticket_ = 1;
};

}  // namespace seraph
