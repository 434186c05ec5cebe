// An actor: a thread that owns its sockets and runs an EventLoop.
//
// Lifecycle (synchronous at both ends, in the manner of czmq's zactor):
//   Start() creates the thread, runs `setup` on it (create and bind sockets, register handlers
//   and timers) and returns only after setup has finished: with the actor running, or with
//   setup's error and no thread left behind.
//   Stop() asks the loop to end, waits for it, runs `teardown` on the actor thread (still
//   owning its sockets) and joins. It is idempotent; the destructor calls it.
//
// Other threads talk to an actor only through Post/Call, which run a closure on its thread.
// The mailbox is bounded (kMailboxCapacity); Post fails with ResourceExhausted when full.
//
// Thread-safety: Post, Call and Stop are safe from any thread except the actor's own thread,
// where Call and Stop would deadlock and die instead.
#ifndef LIGHTRL_ACTORS_ACTOR_H_
#define LIGHTRL_ACTORS_ACTOR_H_

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "actors/event_loop.h"
#include "core/status.h"

namespace lightrl {

class Actor {
 public:
  static constexpr size_t kMailboxCapacity = 4096;

  // `setup` runs first on the new thread; `teardown` (optional) runs last on it.
  static StatusOr<std::unique_ptr<Actor>> Start(std::string name,
                                                std::function<Status(EventLoop&)> setup,
                                                std::function<void()> teardown = {});
  ~Actor();

  // Queues `fn` to run on the actor thread. Errors: ResourceExhausted (mailbox full),
  // FailedPrecondition (actor stopped).
  Status Post(std::function<void()> fn);
  // Runs `fn` on the actor thread and waits until it has run. Same errors as Post.
  Status Call(std::function<void()> fn);
  void Stop();

  const std::string& name() const { return name_; }

  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;

 private:
  explicit Actor(std::string name);
  void DrainMailbox();

  std::string name_;
  int wake_fd_ = -1;  // eventfd; readable when the mailbox has work.
  std::mutex mu_;
  std::deque<std::function<void()>> mailbox_;  // Guarded by mu_.
  bool accepting_ = false;                     // Guarded by mu_.
  bool stop_requested_ = false;                // Guarded by mu_.
  std::thread thread_;
  EventLoop loop_;  // Touched only on the actor thread once it runs.
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_ACTOR_H_
