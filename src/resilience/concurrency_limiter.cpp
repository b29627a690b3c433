#include "resilience/concurrency_limiter.h"

#include <algorithm>

namespace seraph {
namespace {

int64_t ns_of(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string_view shed_reason_name(ShedReason reason) {
  switch (reason) {
    case ShedReason::kQueueFull: return "queue_full";
    case ShedReason::kNoTime: return "no_time";
    case ShedReason::kQueueTimeout: return "queue_timeout";
    case ShedReason::kEvicted: return "evicted";
  }
  return "queue_full";
}

ConcurrencyLimiter::ConcurrencyLimiter(const ConcurrencySettings& settings, TimePoint now)
    : settings_(settings),
      limit_(GradientLimiter(settings.gradient).limit()),
      window_end_ns_(ns_of(now + settings.sample_window)),
      gradient_(settings.gradient) {}

int ConcurrencyLimiter::cap(Priority priority) const {
  const int limit = limit_.load(std::memory_order_relaxed);
  switch (priority) {
    case Priority::kLow: return std::max(1, static_cast<int>(limit * settings_.low_share));
    case Priority::kNormal: return std::max(1, static_cast<int>(limit * settings_.normal_share));
    case Priority::kCritical: return limit;
  }
  return limit;
}

bool ConcurrencyLimiter::take(int cap) {
  // Sequentially consistent with release(): either a releaser sees an arrival's waiting count, or
  // the arrival sees the freed slot, so no waiter is left behind a free slot.
  int n = counts_.inflight.load();
  while (n < cap) {
    if (counts_.inflight.compare_exchange_weak(n, n + 1)) return true;
  }
  return false;
}

bool ConcurrencyLimiter::try_acquire(Priority priority) { return counts_.waiting.load() == 0 && take(cap(priority)); }

bool ConcurrencyLimiter::queued_at_or_above(Priority priority) const {
  for (int p = static_cast<int>(priority); p < kPriorities; ++p) {
    if (!queues_[p].empty()) return true;
  }
  return false;
}

ConcurrencyLimiter::Admission ConcurrencyLimiter::acquire(Priority priority, TimePoint now, TimePoint deadline,
                                                          Wake wake) {
  Admission admission;
  Waiter evicted{0, nullptr};
  {
    std::lock_guard lock(mutex_);
    counts_.waiting.fetch_add(1);
    if (!queued_at_or_above(priority) && take(cap(priority))) {
      counts_.waiting.fetch_sub(1);
      admission.kind = Admission::kAcquired;
      return admission;
    }
    // The wait ahead: the waiters that go first, each freeing its place once a slot frees, and
    // slots free at limit / RTT a second. Then it needs an RTT of its own before the deadline.
    size_t ahead = 0;
    for (int p = static_cast<int>(priority); p < kPriorities; ++p) ahead += queues_[p].size();
    const std::chrono::nanoseconds rtt(short_rtt_ns_.load(std::memory_order_relaxed));
    const auto expected_wait = rtt * static_cast<int64_t>(ahead + 1) / std::max(1, limit());
    admission.wait_until = std::min(now + settings_.max_queue_wait, deadline - rtt);
    if (expected_wait > settings_.max_queue_wait || now + expected_wait + rtt > deadline ||
        admission.wait_until <= now) {
      counts_.waiting.fetch_sub(1);
      admission.reason = ShedReason::kNoTime;
      return admission;
    }
    size_t queued = 0;
    for (const auto& q : queues_) queued += q.size();
    if (queued >= static_cast<size_t>(settings_.max_queue)) {
      auto lower = std::find_if(std::begin(queues_), std::begin(queues_) + static_cast<int>(priority),
                                [](const std::deque<Waiter>& q) { return !q.empty(); });
      if (lower == std::begin(queues_) + static_cast<int>(priority)) {
        counts_.waiting.fetch_sub(1);
        admission.reason = ShedReason::kQueueFull;
        return admission;
      }
      evicted = std::move(lower->back());  // the newest of the lowest priority waiting
      lower->pop_back();
      counts_.waiting.fetch_sub(1);
    }
    admission.kind = Admission::kQueued;
    admission.ticket = next_ticket_++;
    queues_[static_cast<int>(priority)].push_back({admission.ticket, std::move(wake)});
  }
  if (evicted.wake) evicted.wake(evicted.ticket, ShedReason::kEvicted);
  return admission;
}

bool ConcurrencyLimiter::withdraw(uint64_t ticket) {
  std::lock_guard lock(mutex_);
  for (auto& q : queues_) {
    auto it = std::find_if(q.begin(), q.end(), [ticket](const Waiter& w) { return w.ticket == ticket; });
    if (it == q.end()) continue;
    q.erase(it);
    counts_.waiting.fetch_sub(1);
    return true;
  }
  return false;
}

void ConcurrencyLimiter::grant(Woken& woken) {
  for (int p = kPriorities - 1; p >= 0; --p) {
    std::deque<Waiter>& q = queues_[p];
    while (!q.empty() && take(cap(static_cast<Priority>(p)))) {
      woken.push_back(std::move(q.front()));
      q.pop_front();
      counts_.waiting.fetch_sub(1);
    }
    if (!q.empty()) return;  // a better waiter waits: worse ones, with smaller shares, do not pass it
  }
}

void ConcurrencyLimiter::grant_and_wake() {
  Woken woken;
  {
    std::lock_guard lock(mutex_);
    grant(woken);
  }
  for (Waiter& w : woken) w.wake(w.ticket, std::nullopt);
}

bool ConcurrencyLimiter::close_window(TimePoint now) {
  int64_t end = window_end_ns_.load(std::memory_order_relaxed);
  const int64_t now_ns = ns_of(now);
  if (now_ns < end) return false;
  // One thread closes the window; the others carry on.
  if (!window_end_ns_.compare_exchange_strong(end, now_ns + std::chrono::nanoseconds(settings_.sample_window).count()))
    return false;
  std::lock_guard lock(mutex_);
  const uint64_t total_ns = samples_.value(0);
  const uint64_t count = samples_.value(1);
  if (count - taken_count_ < static_cast<uint64_t>(settings_.min_window_samples)) return false;  // too few yet
  const std::chrono::nanoseconds mean((total_ns - taken_ns_) / (count - taken_count_));
  taken_ns_ = total_ns;
  taken_count_ = count;
  short_rtt_ns_.store(mean.count(), std::memory_order_relaxed);
  limit_.store(gradient_.update(mean, counts_.inflight.load(std::memory_order_relaxed) + 1), std::memory_order_relaxed);
  return true;
}

void ConcurrencyLimiter::release(TimePoint now, std::optional<std::chrono::nanoseconds> rtt) {
  counts_.inflight.fetch_sub(1);
  bool moved = false;
  if (rtt) {
    samples_.add(0, static_cast<uint64_t>(std::max<int64_t>(0, rtt->count())));
    samples_.add(1, 1);
    moved = close_window(now);
  }
  if (moved || counts_.waiting.load() > 0) grant_and_wake();
}

}  // namespace seraph
