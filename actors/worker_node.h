// The skeleton of every worker role (rollout, reward, learner, echo): an actor that owns the
// coordinator link (a WorkerSession), one credit window, and a hand-off queue of the role's
// jobs to its compute threads, whose replies go back through the actor.
//
//   requests  Serve(kind, decode) takes every request of one body kind. A request that no
//             granted credit covers is refused with Error(overloaded) and counted in
//             lightrl_<role>_unsolicited_total; any other takes a slot and is decoded into a
//             job for the queue. A request that cannot be taken (decode's error; the node is
//             stopping: Unavailable) is answered at once with an Error of the status's retry
//             class (RetryClassFor) and counted in lightrl_<role>_refused_total.
//   replies   a compute thread answers each job it popped exactly once, Reply or ReplyError;
//             either hands the answer to the actor with back-pressure (Actor::PostWaiting: it
//             waits while the mailbox is full) and the actor sends it. A reply that cannot be
//             sent (the coordinator is away) is lost here: the coordinator re-queues the work.
//   credits   one window of `identity.max_in_flight` slots. It grants only free slots
//             (capacity - held - granted and unused), only while registered, the role can
//             take work (options.can_take_work; call GrantFreeSlots when that becomes true)
//             and the queue is open. A (re-)registration forgets the grants made to the
//             previous registration and grants the free slots afresh; requests held across it
//             keep their slots. Every way a request ends (reply, error reply, refusal at once)
//             frees its slot and grants again.
//   load      heartbeats carry options.policy_version, the slots held and the queue's depth.
//   shutdown  a Shutdown from the coordinator runs the OnShutdown callback (on the actor).
//   stop      CloseQueue (no more jobs: Pop returns what is queued, then nothing; requests
//             arriving later are refused with Unavailable), then the role joins its compute
//             threads, then Stop runs the role's teardown and the session's on the actor and
//             ends it. Anything handed to the actor after that (a reply, RunOnActor) is
//             dropped and counted in lightrl_<role>_actor_posts_dropped_total: no thread
//             ever dies or hangs on a full or stopped mailbox.
//
// Metrics (<role> as RoleName): lightrl_<role>_in_flight, _in_flight_high_water (gauges of
// slots held), _credits_granted_total, _unsolicited_total, _refused_total,
// _actor_posts_dropped_total.
//
// Threads: Start, OnShutdown, CloseQueue and Stop from the thread that owns the node (not the
// actor's). Reply, ReplyError and RunOnActor from any thread but the actor's; they may block
// while the actor's mailbox is full, so the actor must never wait for a thread that uses them
// (and no thread may hold a lock the actor needs while calling them). Serve, Handle,
// OnRegistered, registered, Send and GrantFreeSlots on the actor thread (the role's setup and
// handlers). jobs() from any thread. The role's setup runs on the actor after the node exists,
// so threads it starts may use RunOnActor at once.
#ifndef LIGHTRL_ACTORS_WORKER_NODE_H_
#define LIGHTRL_ACTORS_WORKER_NODE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "actors/actor.h"
#include "actors/handoff_queue.h"
#include "actors/worker_session.h"

namespace lightrl {

struct WorkerNodeOptions {
  // identity.max_in_flight (>= 1) is the credit window's capacity and the queue's.
  WorkerIdentity identity;
  ClusterConfig cluster;
  ActorOptions actor;
  // Actor thread: the policy version heartbeats report (unset: 0).
  std::function<uint64_t()> policy_version;
  // Actor thread: whether the role can take work now (unset: always).
  std::function<bool()> can_take_work;
};

// A request the node took, as a compute thread pops it.
template <typename Job>
struct Work {
  uint64_t request = 0;  // What Reply and ReplyError answer.
  Job job;
};

// The part of WorkerNode<Job> that does not depend on the job type.
class WorkerNodeCore {
 public:
  virtual ~WorkerNodeCore();

  void OnShutdown(std::function<void()> callback);
  // Ends the queue: compute threads pop what is queued, then nothing. No more grants.
  void CloseQueue();
  // CloseQueue, then ends the actor (teardowns run on it). Idempotent.
  void Stop();

  // Answers `request` (frees its slot). After Stop: dropped and counted.
  void Reply(uint64_t request, OutgoingMessage reply);
  void ReplyError(uint64_t request, proto::RetryClass retry_class, const std::string& message);
  // Runs `fn` on the actor, waiting for room in its mailbox. After Stop: dropped and counted.
  void RunOnActor(std::function<void()> fn);

  // Actor thread. Messages of other kinds than the served one (e.g. WeightsAnnounce).
  void Handle(BodyKind kind, MessageHandler handler);
  // Runs after each (re-)registration, once the node has granted its free slots.
  void OnRegistered(std::function<void()> callback);
  bool registered() const;
  // Sends an unsolicited message to the coordinator. Errors: Unavailable when not registered;
  // the messenger's send errors.
  Status Send(OutgoingMessage message);
  // Grants the free slots, if it may (see the file comment).
  void GrantFreeSlots();

  const std::string& worker_id() const { return options_.identity.worker_id; }
  uint32_t capacity() const { return options_.identity.max_in_flight; }
  // Any thread: the most slots ever held at once, and the requests refused for lack of credit.
  uint32_t in_flight_high_water() const;
  uint64_t unsolicited() const;

 protected:
  WorkerNodeCore(WorkerNodeOptions options, MetricsRegistry* metrics);
  // Starts the actor, then runs the session's and the role's setup on it. Errors: the
  // session's or `setup`'s (the actor is then stopped, `teardown` run).
  Status StartActor(zmq::context_t& context, std::function<Status(EventLoop&)> setup,
                    std::function<void()> teardown);
  // Actor thread: requests of `kind` go to `take` once they hold a slot; an error from it is
  // answered at once.
  void ServeRequests(BodyKind kind, std::function<Status(const IncomingMessage&)> take);

 private:
  virtual size_t QueueDepth() const = 0;
  virtual void CloseJobs() = 0;
  Status SetUp(zmq::context_t& context, const std::function<Status(EventLoop&)>& setup);
  void OnRequest(const IncomingMessage& message);
  // Actor thread: a held request ended; frees its slot and grants again.
  void EndRequest();

  WorkerNodeOptions options_;
  MetricsRegistry* metrics_;
  std::unique_ptr<Actor> actor_;
  EventLoop* loop_ = nullptr;
  std::atomic<bool> accepting_{true};  // False once the queue is closed.
  bool stopped_ = false;
  // Actor thread only.
  std::unique_ptr<WorkerSession> session_;
  std::function<Status(const IncomingMessage&)> take_;
  std::function<void()> on_shutdown_;
  uint32_t held_ = 0;            // Requests taken and not yet ended.
  uint32_t granted_unused_ = 0;  // Credits granted to this registration, not yet used.
  Gauge* in_flight_;
  Gauge* in_flight_high_water_;
  Counter* credits_granted_;
  Counter* unsolicited_;
  Counter* refused_;
  Counter* posts_dropped_;
};

template <typename Job>
class WorkerNode final : public WorkerNodeCore {
 public:
  // Runs on the actor once the session exists: serve requests, handle other kinds, create
  // what else lives on the loop.
  using Setup = std::function<Status(WorkerNode& node, EventLoop& loop)>;
  using Decode = std::function<StatusOr<Job>(const IncomingMessage&)>;

  // Starts the node. `metrics` must outlive it. Errors: options (InvalidArgument), the
  // session's, `setup`'s.
  static StatusOr<std::unique_ptr<WorkerNode>> Start(zmq::context_t& context,
                                                     WorkerNodeOptions options,
                                                     MetricsRegistry* metrics, Setup setup,
                                                     std::function<void()> teardown = {}) {
    if (options.identity.max_in_flight == 0) {
      return InvalidArgumentError("max_in_flight must be > 0");
    }
    std::unique_ptr<WorkerNode> node(new WorkerNode(std::move(options), metrics));
    WorkerNode* raw = node.get();
    RETURN_IF_ERROR(node->StartActor(
        context, [raw, setup = std::move(setup)](EventLoop& loop) { return setup(*raw, loop); },
        std::move(teardown)));
    return node;
  }
  ~WorkerNode() override { Stop(); }

  // Actor thread, once: requests of `kind` are decoded and queued; `on_queued` (optional)
  // runs after each job is queued (e.g. to wake a compute thread that waits on more than
  // the queue).
  void Serve(BodyKind kind, Decode decode, std::function<void()> on_queued = {}) {
    ServeRequests(
        kind,
        [this, decode = std::move(decode),
         on_queued = std::move(on_queued)](const IncomingMessage& m) -> Status {
          StatusOr<Job> job = decode(m);
          if (!job.ok()) return job.status();
          Status queued = jobs_.TryPush(Work<Job>{m.envelope().getMessageId(), std::move(*job)});
          if (!queued.ok()) {
            // Jobs never outnumber the slots held, so only a closed queue refuses one.
            CHECK(queued.code() == StatusCode::kCancelled) << queued;
            return UnavailableError(worker_id() + " is stopping");
          }
          if (on_queued) on_queued();
          return Status::Ok();
        });
  }

  // Compute threads pop their work here (Pop blocks; TryPop does not).
  HandoffQueue<Work<Job>>& jobs() { return jobs_; }

 private:
  WorkerNode(WorkerNodeOptions options, MetricsRegistry* metrics)
      : WorkerNodeCore(options, metrics), jobs_(options.identity.max_in_flight) {}
  size_t QueueDepth() const override { return jobs_.size(); }
  void CloseJobs() override { jobs_.Close(); }

  HandoffQueue<Work<Job>> jobs_;
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_WORKER_NODE_H_
