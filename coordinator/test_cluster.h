// A real Coordinator (its Messenger, WorkerRegistry and training pipeline) with scripted fake
// workers, for in-process tests. Test-only.
//
// Everything lives on one actor whose loop runs on a ManualClock: the coordinator's ROUTER and
// one DEALER with a Messenger per fake worker, over inproc://. Nothing moves unless the test
// acts: every method does its work on the actor, then settles (lets the loop go around until
// no socket has a message waiting), so when it returns the coordinator has reacted to
// everything the action caused. Time moves only in Advance(), in heartbeat-sized steps, with the
// live fake workers heartbeating at each step: heartbeats, request timeouts and the death of silent
// workers (ClusterConfig::dead_after_ms) follow the clock, not the wall.
//
// A fake worker registers, grants the credits it is told to, keeps the requests it receives
// until the test answers them, acknowledges Shutdown, and records the weights announced to it.
// Serve() answers every request the way healthy workers would, until nothing is asked.
//
// After every message the coordinator receives and at every settling, the pipeline's state
// machine is audited (GroupStateMachine::Audit: created == trained + dropped + open, queues
// and states agree); a failed audit is a test failure.
//
// Thread-safety: call from the test thread only.
#ifndef LIGHTRL_COORDINATOR_TEST_CLUSTER_H_
#define LIGHTRL_COORDINATOR_TEST_CLUSTER_H_

#include <capnp/message.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "actors/actor.h"
#include "actors/time_source.h"
#include "coordinator/coordinator.h"

namespace lightrl::testing {

// A request a fake worker received and has not answered.
struct HeldRequest {
  uint64_t message_id = 0;
  std::shared_ptr<capnp::MallocMessageBuilder> copy;  // Of the request's envelope.

  proto::Envelope::Body::Reader body() const;
  BodyKind kind() const { return body().which(); }
  // The group of a rollout or reward request.
  uint64_t group_id() const;
};

// The cluster settings of tests: heartbeats every 100 ms, dead after 1000 ms of silence.
ClusterConfig TestClusterConfig();

class TestCluster {
 public:
  // Starts a coordinator with `config` (its endpoint is replaced by a fresh inproc:// one).
  explicit TestCluster(CoordinatorConfig config);
  ~TestCluster();

  // A fake worker connects and registers holding weights `policy_version`; no credits yet. A
  // worker with the id of an earlier one (killed: a restart) replaces it.
  void AddWorker(const std::string& id, proto::Role role, uint64_t policy_version = 0);
  // The worker grants the coordinator `credits` more work items.
  void Grant(const std::string& id, uint32_t credits);
  // The (learner) worker announces weights `version`.
  void Announce(const std::string& id, uint64_t version);
  // The worker's socket closes: it answers and heartbeats no more.
  void Kill(const std::string& id);

  // Requests the worker holds, oldest first.
  std::vector<HeldRequest> Held(const std::string& id);
  // Every request the worker received, answered or not, in order.
  std::vector<HeldRequest> Received(const std::string& id);
  // The latest version announced to the worker (0: none).
  uint64_t AnnouncedTo(const std::string& id);

  // Answers `request` of worker `id` with `reply` (sent as is) and forgets it.
  void Answer(const std::string& id, const HeldRequest& request, OutgoingMessage reply);
  // Answers with an Error of `retry_class`.
  void AnswerError(const std::string& id, const HeldRequest& request,
                   proto::RetryClass retry_class);
  // A rollout of as many samples as asked, each token from weights `version`.
  static OutgoingMessage RolloutReply(const HeldRequest& request, uint32_t version);
  // A reward result with `rewards[i]` for sample i (CORRECT when positive).
  static OutgoingMessage RewardReply(const HeldRequest& request, const std::vector<float>& rewards);
  // A learner's Ack with `durable_version`.
  static OutgoingMessage AckReply(uint64_t durable_version);

  // How Serve() answers.
  struct ServePolicy {
    // The durable version a learner reports with its ack of the batch producing `version`.
    std::function<uint64_t(uint64_t version)> durable_version = [](uint64_t) { return 0; };
    // Runs before a learner acknowledges a batch (e.g. to write its checkpoint).
    std::function<void(const HeldRequest& batch)> on_batch;
    // Workers that keep their requests unanswered.
    std::set<std::string> silent;
    int max_answers = 10000;
  };
  // Answers every held request as healthy workers would, workers in id order, each answer
  // followed by a credit: rollouts from the newest weights announced to the actor (at least
  // the minimum asked), rewards alternating 0 and 1 (an eval answer scores 1), and train
  // batches applied (the learner's version becomes the batch id, then it is announced). Stops
  // when nothing is held (but by silent workers) or after max_answers; returns the number of
  // answers.
  int Serve(const ServePolicy& policy);
  int Serve() { return Serve(ServePolicy()); }

  // Moves the clock by `by` in steps of the heartbeat interval; live workers heartbeat at
  // each step.
  void Advance(Millis by);

  // Runs `fn` on the coordinator's thread with its pipeline (the training workload must be
  // configured).
  void Inspect(const std::function<void(const TrainingPipeline&)>& fn);
  std::string StatusJson();
  // Whether the coordinator reported the end of the run (and with what success).
  bool finished();
  bool success();
  // Messages the audit hook checked the state machine after.
  int64_t audits();

 private:
  struct Worker;

  // Runs `fn` on the actor, then settles.
  void Run(const std::function<void()>& fn);
  void Settle();
  bool AnyMessageWaiting();
  void Audit();
  Worker& Find(const std::string& id);

  ManualClock clock_;
  CoordinatorConfig config_;
  EventLoop* loop_ = nullptr;  // The actor's.
  zmq::context_t context_;
  MetricsRegistry metrics_;
  std::unique_ptr<Coordinator> coordinator_;
  std::map<std::string, std::unique_ptr<Worker>> workers_;  // By id; killed ones are kept.
  std::vector<std::unique_ptr<Worker>> replaced_;           // Killed ones whose id came back.
  bool finished_ = false;
  bool success_ = false;
  int64_t audits_ = 0;
  // Readable when Settle() waits for the loop's next lap; its handler counts the laps.
  int lap_fd_;
  std::mutex laps_mu_;
  std::condition_variable lap_done_;
  int64_t laps_ = 0;  // Guarded by laps_mu_.
  std::unique_ptr<Actor> actor_;
};

}  // namespace lightrl::testing

#endif  // LIGHTRL_COORDINATOR_TEST_CLUSTER_H_
