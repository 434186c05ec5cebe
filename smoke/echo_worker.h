// The echo worker: the smallest real worker, on the worker skeleton (actors/worker_node.h). It
// registers, grants credits for its identity.max_in_flight slots, and its compute thread
// answers each Echo request with the same payload after `work_delay_ms` of simulated work. It
// exists to prove the wiring (the smoke cluster) and to test flow control and liveness with a
// real process. It answers on a compute thread, as every real role does, so it runs the same
// path as they do: the hand-off queue, and replies through the actor with back-pressure.
//
// A request beyond the granted credits is refused with Error(overloaded) and counted in
// lightrl_echo_unsolicited_total; a correct coordinator never sends one.
// Metrics: lightrl_echo_served_total, and the skeleton's (lightrl_echo_in_flight, ...).
//
// Thread-safety: Start, OnShutdown, Stop and Summary from one thread.
#ifndef LIGHTRL_SMOKE_ECHO_WORKER_H_
#define LIGHTRL_SMOKE_ECHO_WORKER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "actors/worker_node.h"

namespace lightrl {

struct EchoWorkerConfig {
  WorkerIdentity identity;  // The role is set to echo.
  int work_delay_ms = 0;
};

class EchoWorker {
 public:
  // Connects and starts serving. `metrics` must outlive the worker. Errors: the node's
  // (InvalidArgument for max_in_flight 0).
  static StatusOr<std::unique_ptr<EchoWorker>> Start(zmq::context_t& context,
                                                     const ClusterConfig& cluster,
                                                     const EchoWorkerConfig& config,
                                                     MetricsRegistry* metrics);
  ~EchoWorker();

  // Called (on the worker's actor) when the coordinator sends Shutdown.
  void OnShutdown(std::function<void()> callback);
  // Answers what is queued and stops. Idempotent.
  void Stop();
  // "served N, queue high water H of C, refused R" for the exit log.
  std::string Summary() const;

 private:
  EchoWorker(const EchoWorkerConfig& config, MetricsRegistry* metrics);
  void ServeLoop();

  EchoWorkerConfig config_;
  Counter* served_;
  std::unique_ptr<WorkerNode<std::string>> node_;
  std::thread thread_;
};

}  // namespace lightrl

#endif  // LIGHTRL_SMOKE_ECHO_WORKER_H_
