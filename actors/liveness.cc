#include "actors/liveness.h"

#include <algorithm>

#include "core/logging.h"

namespace lightrl {

PeerLiveness::PeerLiveness(EventLoop* loop, Millis dead_after,
                           std::function<void(const std::string& peer)> on_dead)
    : loop_(loop), dead_after_(dead_after), on_dead_(std::move(on_dead)) {
  CHECK_GT(dead_after.count(), 0);
  Millis period = std::max(Millis(5), dead_after / 8);
  timer_ = loop_->AddPeriodicTimer(period, [this] { Check(); });
}

PeerLiveness::~PeerLiveness() { loop_->CancelTimer(timer_); }

void PeerLiveness::Touch(const std::string& peer) { last_seen_[peer] = loop_->Now(); }

void PeerLiveness::Forget(const std::string& peer) { last_seen_.erase(peer); }

void PeerLiveness::Check() {
  Clock::time_point now = loop_->Now();
  std::vector<std::string> dead;
  for (const auto& [peer, seen] : last_seen_) {
    if (now - seen > dead_after_) dead.push_back(peer);
  }
  for (const std::string& peer : dead) {
    last_seen_.erase(peer);
    on_dead_(peer);
  }
}

}  // namespace lightrl
