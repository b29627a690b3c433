#pragma once
// The cap on faults in progress at once (Envoy's max_active_faults): a fault holds a ticket until
// it ends (a delay: until its timer fires, or until the request is answered first and the timer
// is dropped). One atomic for the process, touched only by requests that are given a fault.
#include <atomic>
#include <memory>

namespace seraph {

class ActiveFaults {
 public:
  // Released when the last copy is dropped.
  using Ticket = std::shared_ptr<const void>;

  explicit ActiveFaults(int max) : max_(max) {}

  // A ticket, or null when `max` faults are already in progress.
  Ticket begin() {
    if (count_->fetch_add(1, std::memory_order_relaxed) >= max_) {
      count_->fetch_sub(1, std::memory_order_relaxed);
      return nullptr;
    }
    // The count outlives the guard when a ticket does (a delay's timer dropped at shutdown).
    return Ticket(count_.get(), [count = count_](const void*) { count->fetch_sub(1, std::memory_order_relaxed); });
  }
  // Whether a fault that ends as it begins (an abort) may be injected now.
  bool has_room() const { return count_->load(std::memory_order_relaxed) < max_; }

 private:
  const int max_;
  std::shared_ptr<std::atomic<int>> count_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace seraph
