#include "actors/event_loop.h"

#include <algorithm>

#include "core/logging.h"

namespace lightrl {

void EventLoop::AddSocket(ZmqSocket* socket, std::function<void()> on_readable) {
  CHECK(socket != nullptr);
  watches_.push_back({next_watch_id_++, socket, -1, std::move(on_readable)});
}

void EventLoop::RemoveSocket(ZmqSocket* socket) {
  std::erase_if(watches_, [socket](const Watch& w) { return w.socket == socket; });
}

void EventLoop::AddFd(int fd, std::function<void()> on_readable) {
  CHECK_GE(fd, 0);
  watches_.push_back({next_watch_id_++, nullptr, fd, std::move(on_readable)});
}

EventLoop::TimerId EventLoop::AddTimer(Millis delay, std::function<void()> callback) {
  TimerId id = next_timer_id_++;
  Clock::time_point due = time_.Now() + delay;
  timers_[id] = Timer{due, Millis(0), std::move(callback)};
  schedule_.insert({due, id});
  return id;
}

EventLoop::TimerId EventLoop::AddPeriodicTimer(Millis period, std::function<void()> callback) {
  CHECK_GT(period.count(), 0);
  TimerId id = AddTimer(period, std::move(callback));
  timers_[id].period = period;
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  schedule_.erase({it->second.due, id});
  timers_.erase(it);
}

long EventLoop::RunDueTimers() {
  while (!schedule_.empty() && !stopped_) {
    auto [due, id] = *schedule_.begin();
    Clock::time_point now = time_.Now();
    if (due > now) {
      if (!time_.Automatic()) return -1;  // Only an advance of the clock makes it due.
      return std::max<long>(1, std::chrono::ceil<Millis>(due - now).count());
    }
    schedule_.erase(schedule_.begin());
    Timer& timer = timers_.at(id);
    std::function<void()> callback = timer.callback;
    if (timer.period.count() > 0) {
      // Periodic timers keep their cadence but never fire twice to catch up.
      timer.due = std::max(due + timer.period, now);
      schedule_.insert({timer.due, id});
    } else {
      timers_.erase(id);
    }
    callback();
  }
  return schedule_.empty() ? -1 : 0;
}

void EventLoop::Run() {
  std::vector<zmq::pollitem_t> items;
  while (!stopped_) {
    long timeout = RunDueTimers();
    if (stopped_) break;
    items.clear();
    for (const Watch& w : watches_) {
      items.push_back({w.socket ? w.socket->handle() : nullptr, w.fd, ZMQ_POLLIN, 0});
    }
    int ready = zmq_poll(items.data(), static_cast<int>(items.size()), timeout);
    if (ready < 0) {
      CHECK_EQ(zmq_errno(), EINTR) << "zmq_poll: " << zmq_strerror(zmq_errno());
      continue;
    }
    // Timers and handlers may add or remove watches, so collect the ready ids first and skip
    // any that a previous callback removed.
    std::vector<uint64_t> ready_ids;
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].revents & ZMQ_POLLIN) ready_ids.push_back(watches_[i].id);
    }
    // Whatever woke the loop, timers due by now run first (a manual clock may have moved).
    RunDueTimers();
    for (uint64_t id : ready_ids) {
      if (stopped_) break;
      auto it = std::find_if(watches_.begin(), watches_.end(),
                             [id](const Watch& w) { return w.id == id; });
      if (it == watches_.end()) continue;
      std::function<void()> handler = it->on_readable;
      handler();
    }
  }
}

}  // namespace lightrl
