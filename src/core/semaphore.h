#pragma once
// A counting semaphore whose uncontended paths are one atomic operation each. libstdc++ 12's
// std::counting_semaphore makes a futex system call on every release and yields the CPU while
// trying to acquire; on the inline execution path that was one system call per request.
#include <atomic>
#include <condition_variable>
#include <mutex>

namespace seraph {

// Tells the CPU this is a spin-wait: the sibling hyper-thread gets the core meanwhile.
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class Semaphore {
 public:
  explicit Semaphore(int count) : free_(count) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  bool try_acquire() {
    int free = free_.load(std::memory_order_relaxed);
    while (free > 0) {
      if (free_.compare_exchange_weak(free, free - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    }
    return false;
  }

  // Blocks until a slot is free. Callers hold a slot only for one bounded piece of work.
  void acquire() {
    if (try_acquire()) return;
    std::unique_lock lock(mutex_);
    // Counted before looking again, and release() increments before it looks at this: either it
    // sees a waiter and notifies under the lock, or the look below sees its slot.
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    freed_.wait(lock, [this] { return try_acquire(); });
    waiters_.fetch_sub(1, std::memory_order_relaxed);
  }

  void release() {
    free_.fetch_add(1, std::memory_order_seq_cst);
    if (waiters_.load(std::memory_order_seq_cst) == 0) return;
    std::lock_guard lock(mutex_);
    freed_.notify_one();
  }

 private:
  std::atomic<int> free_;
  std::atomic<int> waiters_{0};
  std::mutex mutex_;
  std::condition_variable freed_;
};

}  // namespace seraph
