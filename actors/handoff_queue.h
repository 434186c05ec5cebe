// A bounded, closable queue that hands work from an actor (which must never block) to a
// compute thread (which blocks waiting for work), e.g. train batches to the learner's
// training thread or prompt groups to a rollout actor's generation thread.
//
//   TryPush never blocks: when full it fails with ResourceExhausted and the item stays with
//   the caller; after Close it fails with Cancelled.
//   Pop blocks until an item is available (returns it) or the queue is closed and empty
//   (returns nothing). Close wakes every waiter; items already queued are still popped.
//
// Thread-safety: every method is safe to call from any thread.
#ifndef LIGHTRL_ACTORS_HANDOFF_QUEUE_H_
#define LIGHTRL_ACTORS_HANDOFF_QUEUE_H_

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "core/logging.h"
#include "core/status.h"

namespace lightrl {

template <typename T>
class HandoffQueue {
 public:
  explicit HandoffQueue(size_t capacity) : capacity_(capacity) { CHECK_GT(capacity, 0u); }

  Status TryPush(T&& item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return CancelledError("queue closed");
      if (items_.size() >= capacity_) {
        return ResourceExhaustedError("queue full (" + std::to_string(capacity_) + " items)");
      }
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
    return Status::Ok();
  }

  std::optional<T> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  // Pops without blocking; nothing when empty.
  std::optional<T> TryPop() {
    std::lock_guard<std::mutex> lock(mu_);
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;  // Guarded by mu_.
  bool closed_ = false;  // Guarded by mu_.
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_HANDOFF_QUEUE_H_
