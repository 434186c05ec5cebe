// Credit-based flow control and bounded queues.
//
// Producers get work by credits: a consumer grants N credits (WorkRequest), and the producer
// may send it at most that many items; each item sent consumes one credit. So the consumer's
// queue can never hold more than it granted, however fast the producer is.
//
// Thread-safety: none; both classes live on one actor's thread.
#ifndef LIGHTRL_ACTORS_FLOW_CONTROL_H_
#define LIGHTRL_ACTORS_FLOW_CONTROL_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "core/logging.h"
#include "core/status.h"

namespace lightrl {

// Credits granted to this side by each consumer peer.
class CreditLedger {
 public:
  // Adds `credits` for `peer`, capped at `max_outstanding` so a confused peer cannot make the
  // producer flood it.
  void Grant(const std::string& peer, uint32_t credits);
  // Consumes one credit of `peer`; false when it has none.
  bool TryTake(const std::string& peer);
  uint32_t Available(const std::string& peer) const;
  // Drops a peer and its credits (it left or died).
  void Forget(const std::string& peer);
  // The peer with the most credits (ties: the one after the last picked, round-robin), or none.
  std::optional<std::string> PickPeer();
  uint64_t total() const;

  void set_max_outstanding(uint32_t max) { max_outstanding_ = max; }

 private:
  std::map<std::string, uint32_t> credits_;
  std::string last_picked_;
  uint32_t max_outstanding_ = 1u << 20;
};

// A FIFO that never holds more than `capacity` items. When full, Push fails with
// ResourceExhausted and the item stays with the caller (who backs off or drops it and counts).
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) { CHECK_GT(capacity, 0u); }

  Status Push(T item) {
    if (items_.size() >= capacity_) {
      return ResourceExhaustedError("queue full (" + std::to_string(capacity_) + " items)");
    }
    items_.push_back(std::move(item));
    if (items_.size() > high_water_) high_water_ = items_.size();
    return Status::Ok();
  }
  // Puts an item back at the front (e.g. a send failed); allowed to exceed capacity by the
  // items taken out since, so a retry never loses work.
  void PushFront(T item) { items_.push_front(std::move(item)); }
  std::optional<T> Pop() {
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  bool full() const { return items_.size() >= capacity_; }
  size_t capacity() const { return capacity_; }
  // The largest size ever reached.
  size_t high_water() const { return high_water_; }

 private:
  size_t capacity_;
  std::deque<T> items_;
  size_t high_water_ = 0;
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_FLOW_CONTROL_H_
