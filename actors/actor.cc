#include "actors/actor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <future>

#include "core/logging.h"

namespace lightrl {

Actor::Actor(std::string name, const ActorOptions& options)
    : name_(std::move(name)),
      mailbox_capacity_(options.mailbox_capacity),
      loop_(options.time != nullptr ? *options.time : SteadyTime()) {
  CHECK_GT(mailbox_capacity_, 0u);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  CHECK_GE(wake_fd_, 0) << "eventfd failed";
}

Actor::~Actor() {
  Stop();
  close(wake_fd_);
}

StatusOr<std::unique_ptr<Actor>> Actor::Start(std::string name,
                                              std::function<Status(EventLoop&)> setup,
                                              std::function<void()> teardown,
                                              ActorOptions options) {
  std::unique_ptr<Actor> actor(new Actor(std::move(name), options));
  std::promise<Status> started;
  std::future<Status> setup_result = started.get_future();
  Actor* self = actor.get();
  self->accepting_ = true;
  self->thread_ = std::thread(
      [self, &started, setup = std::move(setup), teardown = std::move(teardown)]() mutable {
        self->loop_.AddFd(self->wake_fd_, [self] { self->DrainMailbox(); });
        Status status = setup(self->loop_);
        bool ok = status.ok();
        started.set_value(std::move(status));  // `started` is dead after this line.
        if (ok) self->loop_.Run();
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          self->accepting_ = false;
          self->mailbox_.clear();
        }
        self->room_.notify_all();
        if (ok && teardown) teardown();
      });
  Status status = setup_result.get();
  if (!status.ok()) {
    actor->thread_.join();
    return status.WithContext("actor " + actor->name_);
  }
  return actor;
}

Status Actor::Post(std::function<void()> fn) { return Enqueue(std::move(fn), /*wait=*/false); }

Status Actor::PostWaiting(std::function<void()> fn) {
  CHECK(std::this_thread::get_id() != thread_.get_id()) << "PostWaiting from the actor's thread";
  return Enqueue(std::move(fn), /*wait=*/true);
}

Status Actor::Enqueue(std::function<void()> fn, bool wait) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (wait) {
      room_.wait(lock, [&] { return !accepting_ || mailbox_.size() < mailbox_capacity_; });
    }
    if (!accepting_) return FailedPreconditionError("actor " + name_ + " is stopped");
    if (mailbox_.size() >= mailbox_capacity_) {
      return ResourceExhaustedError("actor " + name_ + " mailbox is full");
    }
    mailbox_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof(one));
  CHECK_EQ(n, static_cast<ssize_t>(sizeof(one)));
  return Status::Ok();
}

Status Actor::Call(std::function<void()> fn) {
  CHECK(std::this_thread::get_id() != thread_.get_id()) << "Call from the actor's own thread";
  // The closure owns the promise: if the actor stops before running it, destroying the closure
  // breaks the promise and wakes this thread instead of leaving it waiting forever.
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  RETURN_IF_ERROR(Enqueue(
      [&fn, done] {
        fn();
        done->set_value();
      },
      /*wait=*/true));
  try {
    finished.get();
  } catch (const std::future_error&) {
    return CancelledError("actor " + name_ + " stopped before running the call");
  }
  return Status::Ok();
}

void Actor::DrainMailbox() {
  uint64_t count;
  while (read(wake_fd_, &count, sizeof(count)) > 0) {
  }
  while (!loop_.stopped()) {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_requested_) {
        loop_.Stop();
        return;
      }
      if (mailbox_.empty()) return;
      fn = std::move(mailbox_.front());
      mailbox_.pop_front();
    }
    room_.notify_one();
    loop_.RunDueTimers();  // So a closure sees the timers due before it ran (manual clocks).
    if (loop_.stopped()) return;
    fn();
  }
}

void Actor::Stop() {
  if (!thread_.joinable()) return;
  CHECK(std::this_thread::get_id() != thread_.get_id()) << "Stop from the actor's own thread";
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_ = true;
  }
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof(one));
  CHECK_EQ(n, static_cast<ssize_t>(sizeof(one)));
  thread_.join();
}

}  // namespace lightrl
