// An actor: a thread that owns its sockets and runs an EventLoop.
//
// Lifecycle (synchronous at both ends, in the manner of czmq's zactor):
//   Start() creates the thread, runs `setup` on it (create and bind sockets, register handlers
//   and timers) and returns only after setup has finished: with the actor running, or with
//   setup's error and no thread left behind.
//   Stop() asks the loop to end, waits for it, runs `teardown` on the actor thread (still
//   owning its sockets) and joins. It is idempotent; the destructor calls it.
//
// Other threads talk to an actor only through Post/PostWaiting/Call, which run a closure on
// its thread, in the order posted. The mailbox is bounded (ActorOptions::mailbox_capacity):
// when it is full, Post fails with ResourceExhausted (the caller keeps the work and decides),
// while PostWaiting and Call wait for room (back-pressure on threads that may block, such as
// compute threads handing results back).
//
// Thread-safety: Post is safe from any thread. PostWaiting, Call and Stop are safe from any
// thread except the actor's own thread, where they would deadlock and die instead.
#ifndef LIGHTRL_ACTORS_ACTOR_H_
#define LIGHTRL_ACTORS_ACTOR_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "actors/event_loop.h"
#include "actors/time_source.h"
#include "core/status.h"

namespace lightrl {

struct ActorOptions {
  size_t mailbox_capacity = 4096;
  const TimeSource* time = nullptr;  // The loop's time (null: the steady clock); must outlive it.
};

class Actor {
 public:
  // `setup` runs first on the new thread; `teardown` (optional) runs last on it.
  static StatusOr<std::unique_ptr<Actor>> Start(std::string name,
                                                std::function<Status(EventLoop&)> setup,
                                                std::function<void()> teardown = {},
                                                ActorOptions options = {});
  ~Actor();

  // Queues `fn` to run on the actor thread. Errors: ResourceExhausted (mailbox full),
  // FailedPrecondition (actor stopped).
  Status Post(std::function<void()> fn);
  // Queues `fn`, waiting while the mailbox is full. Errors: FailedPrecondition when the actor
  // stops (before or while waiting); `fn` is then dropped.
  Status PostWaiting(std::function<void()> fn);
  // Runs `fn` on the actor thread and waits until it has run (and for room, like
  // PostWaiting). Errors: FailedPrecondition (stopped), Cancelled (stopped before running it).
  Status Call(std::function<void()> fn);
  void Stop();

  const std::string& name() const { return name_; }

  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;

 private:
  Actor(std::string name, const ActorOptions& options);
  // Queues `fn` once there is room (wait) or fails when there is none.
  Status Enqueue(std::function<void()> fn, bool wait);
  void DrainMailbox();

  std::string name_;
  const size_t mailbox_capacity_;
  int wake_fd_ = -1;  // eventfd; readable when the mailbox has work.
  std::mutex mu_;
  std::condition_variable room_;               // Signalled when the mailbox shrinks or stops.
  std::deque<std::function<void()>> mailbox_;  // Guarded by mu_.
  bool accepting_ = false;                     // Guarded by mu_.
  bool stop_requested_ = false;                // Guarded by mu_.
  std::thread thread_;
  EventLoop loop_;  // Touched only on the actor thread once it runs.
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_ACTOR_H_
