// A single-threaded event loop: zmq_poll over ZeroMQ sockets and plain file descriptors,
// plus one-shot and periodic timers on the loop's TimeSource (the steady clock unless given
// another). Everything registered runs on the loop's thread. Timers that are due run before
// the handlers of a wake-up (and an actor runs them before each closure of its mailbox).
//
// Handlers and timer callbacks must not block; a readable handler should drain what it can
// (the loop is level-triggered, so leftovers wake it again). A callback may add or cancel
// handlers and timers, and may call Stop().
//
// Thread-safety: none. An EventLoop belongs to the thread that calls Run(); to reach it from
// elsewhere, use Actor::Post.
#ifndef LIGHTRL_ACTORS_EVENT_LOOP_H_
#define LIGHTRL_ACTORS_EVENT_LOOP_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "actors/time_source.h"
#include "actors/zmq_socket.h"

namespace lightrl {

class EventLoop {
 public:
  using TimerId = uint64_t;

  // `time` must outlive the loop.
  explicit EventLoop(const TimeSource& time = SteadyTime()) : time_(time) {}
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Calls `on_readable` whenever `socket` has a message waiting. `socket` must outlive its
  // registration (RemoveSocket or the loop's end).
  void AddSocket(ZmqSocket* socket, std::function<void()> on_readable);
  void RemoveSocket(ZmqSocket* socket);
  // Calls `on_readable` whenever `fd` is readable.
  void AddFd(int fd, std::function<void()> on_readable);

  // Runs `callback` once after `delay`.
  TimerId AddTimer(Millis delay, std::function<void()> callback);
  // Runs `callback` every `period`, the first time after `period`.
  TimerId AddPeriodicTimer(Millis period, std::function<void()> callback);
  // Cancels a pending timer; unknown or already-fired one-shot ids are ignored.
  void CancelTimer(TimerId id);

  // Runs until Stop() is called from a callback. Returns at once if already stopped.
  void Run();
  void Stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  // The loop's time.
  Clock::time_point Now() const { return time_.Now(); }
  // Runs the timers due by now (for an owner that dispatches work of its own, like an
  // actor's mailbox); returns the milliseconds until the next one is due, or -1 when none is
  // (or, on a manual clock, none is due yet).
  long RunDueTimers();

 private:
  struct Timer {
    Clock::time_point due;
    Millis period;  // Zero for one-shot timers.
    std::function<void()> callback;
  };
  struct Watch {
    uint64_t id;
    ZmqSocket* socket;  // Null for a plain fd.
    int fd;
    std::function<void()> on_readable;
  };


  const TimeSource& time_;
  std::vector<Watch> watches_;
  std::map<TimerId, Timer> timers_;
  std::set<std::pair<Clock::time_point, TimerId>> schedule_;
  TimerId next_timer_id_ = 1;
  uint64_t next_watch_id_ = 1;
  bool stopped_ = false;
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_EVENT_LOOP_H_
