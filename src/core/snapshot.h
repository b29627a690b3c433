#pragma once
// A value every request reads and a control thread replaces now and then (the accepted API keys,
// say). Readers keep a per-thread copy of the pointer and fetch the shared one only when the
// generation has moved, so the hot path takes no lock (libstdc++ 12's atomic shared_ptr is a spin
// lock) and writes no shared cache line: a thread's copy counts on a control block of its own
// (which holds one count on the shared one), so the copies a request keeps count there too.
//
// A thread's copy keeps the value it last read alive until that thread reads a Snapshot<T> again
// (or ends), maybe past the Snapshot's owner: T must not act on anything it does not own, neither
// in its destructor nor with threads of its own (a model version's batcher would).
#include <atomic>
#include <cstdint>
#include <memory>

namespace seraph {

template <class T>
class Snapshot {
 public:
  explicit Snapshot(std::shared_ptr<const T> initial) : value_(std::move(initial)) {}
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  void publish(std::shared_ptr<const T> next) {
    value_.store(std::move(next), std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }

  // The shared value itself, for writers and for readers that keep it.
  std::shared_ptr<const T> load() const { return value_.load(std::memory_order_acquire); }

  // The current value, valid until this thread's next read of any Snapshot<T>.
  const T& read() const { return *read_shared(); }
  // The same, as this thread's copy of the pointer: copy it to keep the value longer.
  const std::shared_ptr<const T>& read_shared() const {
    struct Cached {
      uint64_t owner = 0;
      uint64_t generation = 0;
      std::shared_ptr<const T> value;
    };
    thread_local Cached cached;
    const uint64_t generation = generation_.load(std::memory_order_acquire);
    if (cached.owner != id_ || cached.generation != generation || !cached.value) {
      cached.value = with_own_count(load());
      cached.owner = id_;
      cached.generation = generation;
    }
    return cached.value;
  }

 private:
  // `shared`, counted on a control block of its own that holds it.
  static std::shared_ptr<const T> with_own_count(std::shared_ptr<const T> shared) {
    if (!shared) return nullptr;
    const T* value = shared.get();
    return std::shared_ptr<const T>(std::make_shared<std::shared_ptr<const T>>(std::move(shared)), value);
  }

  static uint64_t next_id() {
    static std::atomic<uint64_t> ids{0};
    return ids.fetch_add(1, std::memory_order_relaxed) + 1;
  }

  const uint64_t id_ = next_id();  // never reused, so a thread's copy never passes for another's
  std::atomic<uint64_t> generation_{0};
  std::atomic<std::shared_ptr<const T>> value_;
};

}  // namespace seraph
