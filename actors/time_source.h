// Where an EventLoop reads the time: the steady clock, or in tests a ManualClock that moves
// only when the test advances it, so that timeouts, heartbeats and liveness run without
// waiting on wall time.
//
// Thread-safety: Now() and Advance() are safe from any thread.
#ifndef LIGHTRL_ACTORS_TIME_SOURCE_H_
#define LIGHTRL_ACTORS_TIME_SOURCE_H_

#include <atomic>
#include <chrono>

namespace lightrl {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual Clock::time_point Now() const = 0;
  // False for a clock that moves only when told: a loop on it sleeps until woken instead of
  // until its next timer is due.
  virtual bool Automatic() const = 0;
};

// The steady clock; the time of every EventLoop unless it is given another.
const TimeSource& SteadyTime();

// Test time. An actor's loop runs the timers an Advance made due before it runs any closure
// posted after the Advance returned, so `clock.Advance(d); actor->Call([] {})` returns once
// they have run.
class ManualClock : public TimeSource {
 public:
  Clock::time_point Now() const override { return Clock::time_point(Millis(now_ms_.load())); }
  bool Automatic() const override { return false; }
  void Advance(Millis by) { now_ms_ += by.count(); }

 private:
  std::atomic<int64_t> now_ms_{1000};
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_TIME_SOURCE_H_
