// A single-threaded event loop: zmq_poll over ZeroMQ sockets and plain file descriptors,
// plus one-shot and periodic timers. Everything registered runs on the loop's thread.
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

#include "actors/zmq_socket.h"

namespace lightrl {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

class EventLoop {
 public:
  using TimerId = uint64_t;

  EventLoop() = default;
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

  // Runs due timers; returns the milliseconds until the next one (-1 when none).
  long RunDueTimers();

  std::vector<Watch> watches_;
  std::map<TimerId, Timer> timers_;
  std::set<std::pair<Clock::time_point, TimerId>> schedule_;
  TimerId next_timer_id_ = 1;
  uint64_t next_watch_id_ = 1;
  bool stopped_ = false;
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_EVENT_LOOP_H_
