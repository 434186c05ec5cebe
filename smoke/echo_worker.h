// The echo worker: the smallest real worker. It registers, grants credits equal to its queue
// capacity, and answers each Echo request with the same payload after `work_delay_ms`
// (simulated work, driven by a timer). It exists to prove the wiring (the smoke cluster) and
// to test flow control and liveness with a real process.
//
// Queue: at most identity.max_in_flight requests wait; the worker only grants that many
// credits, so a correct coordinator never overflows it. A request beyond capacity is refused
// with Error(overloaded) and counted in lightrl_echo_unsolicited_total.
//
// Thread-safety: none; lives on the worker actor's thread.
#ifndef LIGHTRL_SMOKE_ECHO_WORKER_H_
#define LIGHTRL_SMOKE_ECHO_WORKER_H_

#include <functional>
#include <memory>
#include <string>

#include "actors/flow_control.h"
#include "actors/worker_session.h"

namespace lightrl {

struct EchoWorkerConfig {
  WorkerIdentity identity;
  int work_delay_ms = 0;
};

class EchoWorker {
 public:
  // `loop` and `metrics` must outlive the worker.
  static StatusOr<std::unique_ptr<EchoWorker>> Create(zmq::context_t& context, EventLoop* loop,
                                                      const ClusterConfig& cluster,
                                                      const EchoWorkerConfig& config,
                                                      MetricsRegistry* metrics);
  ~EchoWorker();

  // Called when the coordinator sends Shutdown.
  void OnShutdown(std::function<void()> callback) { on_shutdown_ = std::move(callback); }
  // "served N, queue high water H, refused R" for the exit log.
  std::string Summary() const;

 private:
  struct Job {
    uint64_t request_id;
    std::string payload;
  };
  EchoWorker(EventLoop* loop, const EchoWorkerConfig& config, MetricsRegistry* metrics,
             std::unique_ptr<WorkerSession> session);
  void OnEcho(const IncomingMessage& message);
  void ServeOne();

  EventLoop* loop_;
  EchoWorkerConfig config_;
  std::unique_ptr<WorkerSession> session_;
  BoundedQueue<Job> queue_;
  EventLoop::TimerId work_timer_ = 0;
  std::function<void()> on_shutdown_;
  Gauge* queue_depth_;
  Gauge* queue_high_water_;
  Counter* served_;
  Counter* unsolicited_;
};

}  // namespace lightrl

#endif  // LIGHTRL_SMOKE_ECHO_WORKER_H_
