#pragma once
// A circuit breaker, resilience4j's way. CLOSED: calls pass, and their outcomes fill a sliding
// window (the last N calls, or the last N seconds in one-second buckets). Once the window holds
// `minimum_calls`, a failure rate or a slow-call rate at or above its threshold OPENs the circuit:
// calls are refused for `open_ms`. Then HALF_OPEN: `half_open_calls` probe calls are let through
// (no more, however many threads ask); when all have ended, rates below both thresholds close the
// circuit again (with an empty window), else it opens for another `open_ms`.
//
// Pure logic over the clock it is given. Callers on several threads: a closed circuit admits on
// one atomic load. A success (neither failed nor slow) while the window holds nothing but
// successes cannot move the circuit: it is counted on the recording thread's own line and folded
// into the window before anything reads it. Other outcomes take the breaker's own short lock,
// never held across I/O.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "observe/metric_shards.h"

namespace seraph {

struct CircuitBreakerSettings {
  enum class Window : uint8_t { kCount, kTime } window = Window::kCount;
  int window_size = 50;  // calls, for the count window
  int window_s = 60;     // seconds, for the time window
  int minimum_calls = 20;
  int failure_rate_percent = 50;
  int64_t slow_call_ms = 1000;
  int slow_call_rate_percent = 80;
  int64_t open_ms = 5000;
  int half_open_calls = 3;
};

// The values are those of seraph_circuit_breaker_state.
enum class BreakerState : uint8_t { kClosed = 0, kOpen = 1, kHalfOpen = 2 };
const char* breaker_state_name(BreakerState state);

class CircuitBreaker {
 public:
  // A call's leave to go ahead; handed back with its outcome. An outcome whose permit is from an
  // earlier state (a call admitted before the circuit opened) is not counted.
  struct Permit {
    bool granted = false;
    uint32_t epoch = 0;
    TimePoint retry_at{};  // refused: when the circuit next lets a call through (a guess when half-open)
    explicit operator bool() const { return granted; }
  };
  struct Snapshot {
    BreakerState state = BreakerState::kClosed;
    int calls = 0;  // in the window (closed) or probes ended (half-open)
    double failure_rate_percent = 0;
    double slow_rate_percent = 0;
    TimePoint opened_at{};   // the last time it opened; epoch: never
    TimePoint open_until{};  // when open: the first probe may go after this
    uint64_t rejected = 0;   // calls refused, ever
  };
  // Told of every change of state, after the breaker's lock is released.
  using OnChange = std::function<void(CircuitBreaker&, BreakerState from, BreakerState to)>;

  CircuitBreaker(std::string name, const CircuitBreakerSettings& settings, OnChange on_change = {});

  const std::string& name() const { return name_; }
  const CircuitBreakerSettings& settings() const { return settings_; }

  Permit try_acquire(TimePoint now);
  // Whether try_acquire(now) would grant, taking nothing: for choosing among endpoints.
  bool admits(TimePoint now);
  // The outcome of a call made under `permit`: failed, and how long it took.
  void record(const Permit& permit, TimePoint now, Clock::duration duration, bool failed);
  // Closed, with an empty window (the admin API's reset).
  void reset();
  Snapshot snapshot(TimePoint now);

 private:
  // Outcome counts over the last N keys: a key is a call's sequence number (count window) or the
  // second it ended in (time window), so both windows are one ring of buckets.
  class Window {
   public:
    Window(size_t buckets, bool by_time);
    void add(TimePoint now, bool failed, bool slow);
    // `count` successes that ended in the second `second` (time window) or were the latest calls.
    void add_successes(int64_t second, uint64_t count);
    struct Totals {
      int calls = 0, failures = 0, slow = 0;
    };
    Totals totals(TimePoint now);
    void clear();

   private:
    struct Bucket {
      int64_t key = -1;
      Totals counts;
    };
    void advance_to(int64_t key);
    void add_to(int64_t key, const Totals& outcome);
    const bool by_time_;
    std::vector<Bucket> buckets_;
    int64_t newest_ = -1;
    int64_t sequence_ = 0;
    Totals totals_;
  };

  // Successes counted per thread while the window is clean; `key` is the second they ended in
  // (time window) or 0, -1 before the thread's first.
  struct alignas(kCacheLine) PendingSuccesses {
    std::atomic<int64_t> key{-1};
    std::atomic<uint64_t> count{0};
  };
  int64_t pending_key(TimePoint now) const;
  // Counts a success on this thread's line when it cannot move the circuit; false otherwise.
  bool record_success_unlocked(const Permit& permit, TimePoint now);
  // Under mutex_: the successes counted per thread go into the window (fold) or are dropped
  // (discard), and this thread's count starts at `now`'s key (start).
  void fold_pending();
  void discard_pending();
  void start_pending(TimePoint now);
  // Under mutex_: whether a success may skip the lock, now that the window or the state changed.
  void update_clean(TimePoint now);

  bool exceeds(const Window::Totals& totals) const;
  // Under mutex_; returns the state left, for the caller to report once the lock is released.
  BreakerState enter(BreakerState to, TimePoint now);
  void notify(BreakerState from, BreakerState to);
  BreakerState state() const { return static_cast<BreakerState>(word_.load(std::memory_order_acquire) & 3); }

  const std::string name_;
  const CircuitBreakerSettings settings_;
  const OnChange on_change_;
  // epoch << 2 | state: the closed fast path reads this alone. Written under mutex_.
  std::atomic<uint32_t> word_{0};
  std::mutex mutex_;
  Window window_;
  // Closed, and the window holds only successes: a success then cannot open the circuit. Written
  // under mutex_.
  std::atomic<bool> clean_{true};
  std::array<PendingSuccesses, kMetricShards> pending_;
  TimePoint opened_at_{};
  TimePoint open_until_{};
  int probes_granted_ = 0;
  Window::Totals probes_;  // outcomes of the probes that ended
  uint64_t rejected_ = 0;
};

}  // namespace seraph
