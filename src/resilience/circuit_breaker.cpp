#include "resilience/circuit_breaker.h"

#include <algorithm>

namespace seraph {

const char* breaker_state_name(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "closed";
}

// --- Window ----------------------------------------------------------------------------------------

CircuitBreaker::Window::Window(size_t buckets, bool by_time)
    : by_time_(by_time), buckets_(std::max<size_t>(1, buckets)) {}

void CircuitBreaker::Window::advance_to(int64_t key) {
  if (key <= newest_) return;
  // Buckets whose key fell out of the window are emptied; at most one lap of the ring.
  const int64_t size = static_cast<int64_t>(buckets_.size());
  for (int64_t k = std::max(newest_ + 1, key - size + 1); k <= key; ++k) {
    Bucket& b = buckets_[static_cast<size_t>(k % size)];
    totals_.calls -= b.counts.calls;
    totals_.failures -= b.counts.failures;
    totals_.slow -= b.counts.slow;
    b = {k, {}};
  }
  newest_ = key;
}

void CircuitBreaker::Window::add(TimePoint now, bool failed, bool slow) {
  const int64_t key =
      by_time_ ? std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() : sequence_++;
  add_to(key, {1, failed ? 1 : 0, slow ? 1 : 0});
}

void CircuitBreaker::Window::add_successes(int64_t second, uint64_t count) {
  if (by_time_) return add_to(second, {static_cast<int>(count), 0, 0});
  // One bucket per call: only the last lap of the ring can still be in the window.
  const auto size = static_cast<int64_t>(buckets_.size());
  const int64_t end = sequence_ + static_cast<int64_t>(count);
  for (int64_t key = std::max(sequence_, end - size); key < end; ++key) add_to(key, {1, 0, 0});
  sequence_ = end;
}

void CircuitBreaker::Window::add_to(int64_t key, const Totals& outcome) {
  advance_to(key);
  Bucket& b = buckets_[static_cast<size_t>(key % static_cast<int64_t>(buckets_.size()))];
  if (b.key != key) return;  // a time older than the window's newest second that has left it
  b.counts.calls += outcome.calls;
  b.counts.failures += outcome.failures;
  b.counts.slow += outcome.slow;
  totals_.calls += outcome.calls;
  totals_.failures += outcome.failures;
  totals_.slow += outcome.slow;
}

CircuitBreaker::Window::Totals CircuitBreaker::Window::totals(TimePoint now) {
  if (by_time_) advance_to(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  return totals_;
}

void CircuitBreaker::Window::clear() {
  for (Bucket& b : buckets_) b = {};
  totals_ = {};
  newest_ = -1;
  sequence_ = 0;
}

// --- CircuitBreaker --------------------------------------------------------------------------------

namespace {

double percent(int part, int whole) { return whole == 0 ? 0.0 : 100.0 * part / whole; }

}  // namespace

CircuitBreaker::CircuitBreaker(std::string name, const CircuitBreakerSettings& settings, OnChange on_change)
    : name_(std::move(name)),
      settings_(settings),
      on_change_(std::move(on_change)),
      window_(settings.window == CircuitBreakerSettings::Window::kTime ? static_cast<size_t>(settings.window_s)
                                                                       : static_cast<size_t>(settings.window_size),
              settings.window == CircuitBreakerSettings::Window::kTime) {}

bool CircuitBreaker::exceeds(const Window::Totals& t) const {
  return percent(t.failures, t.calls) >= settings_.failure_rate_percent ||
         percent(t.slow, t.calls) >= settings_.slow_call_rate_percent;
}

BreakerState CircuitBreaker::enter(BreakerState to, TimePoint now) {
  const uint32_t word = word_.load(std::memory_order_relaxed);
  const BreakerState from = static_cast<BreakerState>(word & 3);
  word_.store((((word >> 2) + 1) << 2) | static_cast<uint32_t>(to), std::memory_order_release);
  probes_granted_ = 0;
  probes_ = {};
  switch (to) {
    case BreakerState::kOpen:
      opened_at_ = now;
      open_until_ = now + std::chrono::milliseconds(settings_.open_ms);
      break;
    case BreakerState::kClosed:
      window_.clear();
      discard_pending();
      break;
    case BreakerState::kHalfOpen: break;
  }
  update_clean(now);
  return from;
}

void CircuitBreaker::notify(BreakerState from, BreakerState to) {
  if (on_change_ && from != to) on_change_(*this, from, to);
}

CircuitBreaker::Permit CircuitBreaker::try_acquire(TimePoint now) {
  const uint32_t word = word_.load(std::memory_order_acquire);
  if (static_cast<BreakerState>(word & 3) == BreakerState::kClosed) return {true, word >> 2};
  std::unique_lock lock(mutex_);
  const bool probing_starts = state() == BreakerState::kOpen && now >= open_until_;
  if (probing_starts) enter(BreakerState::kHalfOpen, now);
  Permit permit;
  permit.epoch = word_.load(std::memory_order_relaxed) >> 2;
  switch (state()) {
    case BreakerState::kClosed: permit.granted = true; break;  // reset while we waited for the lock
    case BreakerState::kOpen: permit.retry_at = open_until_; break;
    case BreakerState::kHalfOpen:
      if (probes_granted_ < settings_.half_open_calls) {
        ++probes_granted_;
        permit.granted = true;
      } else {
        // The probes are out: their outcome decides, within about one slow call.
        permit.retry_at = now + std::chrono::milliseconds(settings_.slow_call_ms);
      }
      break;
  }
  if (!permit.granted) ++rejected_;
  lock.unlock();
  if (probing_starts) notify(BreakerState::kOpen, BreakerState::kHalfOpen);
  return permit;
}

bool CircuitBreaker::admits(TimePoint now) {
  if (state() == BreakerState::kClosed) return true;
  std::lock_guard lock(mutex_);
  switch (state()) {
    case BreakerState::kClosed: return true;
    case BreakerState::kOpen: return now >= open_until_;
    case BreakerState::kHalfOpen: return probes_granted_ < settings_.half_open_calls;
  }
  return false;
}

int64_t CircuitBreaker::pending_key(TimePoint now) const {
  if (settings_.window == CircuitBreakerSettings::Window::kCount) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
}

bool CircuitBreaker::record_success_unlocked(const Permit& permit, TimePoint now) {
  if (!clean_.load(std::memory_order_acquire)) return false;
  if (word_.load(std::memory_order_acquire) != permit.epoch << 2) return false;  // not closed, or a later epoch
  PendingSuccesses& pending = pending_[metric_shard()];
  // A new second (or this thread's first success) starts under the lock, after the last one's fold.
  if (pending.key.load(std::memory_order_relaxed) != pending_key(now)) return false;
  pending.count.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void CircuitBreaker::fold_pending() {
  for (PendingSuccesses& pending : pending_) {
    if (const uint64_t count = pending.count.exchange(0, std::memory_order_relaxed); count > 0) {
      window_.add_successes(pending.key.load(std::memory_order_relaxed), count);
    }
  }
}

void CircuitBreaker::discard_pending() {
  for (PendingSuccesses& pending : pending_) pending.count.store(0, std::memory_order_relaxed);
}

void CircuitBreaker::start_pending(TimePoint now) {
  pending_[metric_shard()].key.store(pending_key(now), std::memory_order_relaxed);
}

void CircuitBreaker::update_clean(TimePoint now) {
  // Only successes in the window, and successes alone do not reach a threshold (a threshold of 0 would).
  const Window::Totals totals = window_.totals(now);
  clean_.store(state() == BreakerState::kClosed && totals.failures == 0 && totals.slow == 0 && !exceeds({1, 0, 0}),
               std::memory_order_release);
}

void CircuitBreaker::record(const Permit& permit, TimePoint now, Clock::duration duration, bool failed) {
  if (!permit.granted) return;
  const bool slow = duration >= std::chrono::milliseconds(settings_.slow_call_ms);
  if (!failed && !slow && record_success_unlocked(permit, now)) return;
  std::unique_lock lock(mutex_);
  if (permit.epoch != word_.load(std::memory_order_relaxed) >> 2) return;  // admitted under an earlier state
  BreakerState from = state();
  BreakerState to = from;
  if (from == BreakerState::kClosed) {
    fold_pending();  // the successes counted per thread ended before this outcome
    window_.add(now, failed, slow);
    start_pending(now);
    const Window::Totals totals = window_.totals(now);
    if (totals.calls >= settings_.minimum_calls && exceeds(totals)) to = BreakerState::kOpen;
  } else if (from == BreakerState::kHalfOpen) {
    probes_.calls += 1;
    probes_.failures += failed ? 1 : 0;
    probes_.slow += slow ? 1 : 0;
    if (probes_.calls >= settings_.half_open_calls) to = exceeds(probes_) ? BreakerState::kOpen : BreakerState::kClosed;
  }
  if (to != from) {
    enter(to, now);
  } else {
    update_clean(now);
  }
  lock.unlock();
  notify(from, to);
}

void CircuitBreaker::reset() {
  std::unique_lock lock(mutex_);
  if (state() == BreakerState::kClosed) {
    window_.clear();
    discard_pending();
    update_clean(TimePoint{});
    return;
  }
  const BreakerState from = enter(BreakerState::kClosed, TimePoint{});
  lock.unlock();
  notify(from, BreakerState::kClosed);
}

CircuitBreaker::Snapshot CircuitBreaker::snapshot(TimePoint now) {
  std::lock_guard lock(mutex_);
  if (state() == BreakerState::kClosed) fold_pending();
  Snapshot s;
  s.state = state();
  const Window::Totals totals = s.state == BreakerState::kHalfOpen ? probes_ : window_.totals(now);
  s.calls = totals.calls;
  s.failure_rate_percent = percent(totals.failures, totals.calls);
  s.slow_rate_percent = percent(totals.slow, totals.calls);
  s.opened_at = opened_at_;
  s.open_until = open_until_;
  s.rejected = rejected_;
  return s;
}

}  // namespace seraph
