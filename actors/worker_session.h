// The worker's side of cluster membership: one DEALER socket to the coordinator, owned by a
// Messenger on the worker actor's loop.
//
//   - Registers once the loop runs after creation (so callbacks and the load provider set
//     right after Create are in place), and again whenever the coordinator is lost (retrying
//     with backoff until it answers), so a coordinator restart is survived.
//   - Sends a Heartbeat every heartbeat interval while registered (content from the status
//     provider), and declares the coordinator lost after dead_after of silence.
//   - Credits: GrantCredits() sends a WorkRequest. A (re-)registered coordinator knows no
//     earlier grants, so grants made while unregistered are dropped and every OnRegistered
//     callback grants its current free capacity. A grant whose send fails is retried with the
//     next heartbeat.
//   - A Shutdown message is acknowledged and handed to the OnShutdown callback.
//   - An Error of class `disconnected` (the coordinator does not know us, e.g. after its
//     restart) counts as losing the coordinator and triggers a new registration.
//
// Thread-safety: none; lives on the worker actor's thread.
#ifndef LIGHTRL_ACTORS_WORKER_SESSION_H_
#define LIGHTRL_ACTORS_WORKER_SESSION_H_

#include <functional>
#include <memory>
#include <string>

#include "actors/cluster_config.h"
#include "actors/liveness.h"
#include "actors/messenger.h"
#include "core/metrics.h"

namespace lightrl {

struct WorkerIdentity {
  std::string worker_id;  // Also the socket's routing id; unique in the cluster.
  proto::Role role = proto::Role::UNKNOWN;
  uint32_t max_in_flight = 1;
  uint16_t metrics_port = 0;
};

// What a worker reports in each Heartbeat.
struct WorkerLoad {
  uint64_t policy_version = 0;
  uint32_t in_flight = 0;
  uint32_t queue_depth = 0;
};

class WorkerSession {
 public:
  // Connects and starts registering. `loop` and `metrics` must outlive the session.
  // Errors: from socket creation or a bad endpoint.
  static StatusOr<std::unique_ptr<WorkerSession>> Create(zmq::context_t& context, EventLoop* loop,
                                                         const ClusterConfig& cluster,
                                                         const WorkerIdentity& identity,
                                                         MetricsRegistry* metrics);
  ~WorkerSession();

  Messenger& messenger() { return *messenger_; }
  bool registered() const { return registered_; }
  // The coordinator's liveness contract from the last Registered (defaults before that).
  Millis heartbeat_interval() const { return heartbeat_interval_; }

  void OnRegistered(std::function<void(proto::Registered::Reader)> callback);
  void OnShutdown(std::function<void(bool drain)> callback);
  void SetLoadProvider(std::function<WorkerLoad()> provider);

  // Grants the coordinator `credits` more work items.
  void GrantCredits(uint32_t credits);

 private:
  WorkerSession(EventLoop* loop, const ClusterConfig& cluster, const WorkerIdentity& identity,
                std::unique_ptr<Messenger> messenger, MetricsRegistry* metrics);
  void Register();
  void OnRegisterReply(StatusOr<std::unique_ptr<IncomingMessage>> reply);
  void SendHeartbeat();
  void CoordinatorLost();
  void FlushCredits();

  EventLoop* loop_;
  ClusterConfig cluster_;
  WorkerIdentity identity_;
  std::unique_ptr<Messenger> messenger_;
  std::unique_ptr<PeerLiveness> coordinator_liveness_;
  bool registered_ = false;
  bool registering_ = false;
  Millis heartbeat_interval_;
  Millis register_backoff_;
  EventLoop::TimerId heartbeat_timer_ = 0;
  EventLoop::TimerId retry_timer_ = 0;
  uint64_t heartbeat_sequence_ = 0;
  uint32_t unsent_credits_ = 0;
  std::function<WorkerLoad()> load_provider_;
  std::vector<std::function<void(proto::Registered::Reader)>> on_registered_;
  std::function<void(bool)> on_shutdown_;
  Counter* registrations_;
  Counter* coordinator_losses_;
};

// The coordinator's id as seen by workers (dealer sockets have a single peer).
inline constexpr char kCoordinatorPeer[] = "coordinator";

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_WORKER_SESSION_H_
