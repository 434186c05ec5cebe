// Liveness of peers: every message from a peer counts as a sign of life; a peer silent for
// longer than `dead_after` is declared dead once, removed, and reported to the owner.
//
// Detection latency: a dead peer is reported between dead_after and dead_after + check period,
// where the check period is dead_after / 8 (at least 5 ms).
//
// Thread-safety: none; runs on the owning actor's EventLoop.
#ifndef LIGHTRL_ACTORS_LIVENESS_H_
#define LIGHTRL_ACTORS_LIVENESS_H_

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/event_loop.h"

namespace lightrl {

class PeerLiveness {
 public:
  // `on_dead` runs on the loop's thread after the peer has been forgotten.
  PeerLiveness(EventLoop* loop, Millis dead_after,
               std::function<void(const std::string& peer)> on_dead);
  ~PeerLiveness();

  // Records a sign of life; starts tracking an unknown peer.
  void Touch(const std::string& peer);
  // Stops tracking `peer` without reporting it (e.g. it said goodbye).
  void Forget(const std::string& peer);
  bool Tracks(const std::string& peer) const { return last_seen_.count(peer) > 0; }
  Millis dead_after() const { return dead_after_; }

 private:
  void Check();

  EventLoop* loop_;
  Millis dead_after_;
  std::function<void(const std::string&)> on_dead_;
  std::unordered_map<std::string, Clock::time_point> last_seen_;
  EventLoop::TimerId timer_;
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_LIVENESS_H_
