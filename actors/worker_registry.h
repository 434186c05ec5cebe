// The coordinator's registry of live workers, on the coordinator's ROUTER Messenger.
//
//   - Register: adds (or replaces, after a worker restart) the worker and answers Registered
//     with the liveness contract. Any other message from an unregistered peer is refused with
//     Error(disconnected) so the worker registers again.
//   - Liveness: any message from a worker counts as life; the registry heartbeats every worker
//     each interval, and a worker silent for dead_after is removed and reported (OnLeft).
//   - Credits: WorkRequest grants are kept per worker; TakeWorker() hands out one unit of work
//     capacity of a worker of the wanted role.
//   - Heartbeat contents (load, policy version) are kept per worker for status and metrics.
//
// Thread-safety: none; lives on the coordinator actor's thread.
#ifndef LIGHTRL_ACTORS_WORKER_REGISTRY_H_
#define LIGHTRL_ACTORS_WORKER_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/cluster_config.h"
#include "actors/flow_control.h"
#include "actors/liveness.h"
#include "actors/messenger.h"
#include "core/metrics.h"

namespace lightrl {

struct WorkerInfo {
  std::string id;
  proto::Role role = proto::Role::UNKNOWN;
  std::string hostname;
  uint32_t pid = 0;
  uint16_t metrics_port = 0;
  uint32_t max_in_flight = 0;
  uint64_t policy_version = 0;
  uint32_t in_flight = 0;    // As last reported by the worker.
  uint32_t queue_depth = 0;  // As last reported by the worker.
  Clock::time_point joined_at;
};

enum class LeaveReason { kDead, kReplaced };
std::string_view RoleName(proto::Role role);

class WorkerRegistry {
 public:
  // `messenger`, `loop` and `metrics` must outlive the registry.
  WorkerRegistry(EventLoop* loop, Messenger* messenger, const ClusterConfig& cluster,
                 MetricsRegistry* metrics);
  ~WorkerRegistry();

  // Called after a worker joins (its Registered reply already sent) or leaves.
  void OnJoined(std::function<void(const WorkerInfo&)> callback);
  void OnLeft(std::function<void(const WorkerInfo&, LeaveReason)> callback);
  // Called after a worker grants credits.
  void OnCredits(std::function<void(const WorkerInfo&)> callback);

  // Lets the Registered reply carry the current policy version and weights endpoint.
  void SetPolicyInfo(uint64_t version, std::string weights_endpoint);

  // Consumes one credit of a worker of `role` (the one with the most credits) and returns its
  // id, or nothing when no worker of that role has credit.
  std::optional<std::string> TakeWorker(proto::Role role);
  uint32_t Credits(const std::string& worker_id) const;

  const WorkerInfo* Find(const std::string& worker_id) const;
  std::vector<WorkerInfo> Workers() const;
  size_t CountRole(proto::Role role) const;

  // Sends Shutdown to every registered worker and calls `on_done` once each has acknowledged,
  // failed or not answered within `timeout` (with the number that acknowledged).
  void BroadcastShutdown(const std::string& reason, bool drain, Millis timeout,
                         std::function<void(size_t acknowledged)> on_done);

 private:
  void OnRegister(const IncomingMessage& message);
  void OnHeartbeat(const IncomingMessage& message);
  void OnWorkRequest(const IncomingMessage& message);
  void HeartbeatAll();
  void Remove(const std::string& worker_id, LeaveReason reason);
  void UpdateGauges();

  EventLoop* loop_;
  Messenger* messenger_;
  ClusterConfig cluster_;
  std::map<std::string, WorkerInfo> workers_;
  std::map<proto::Role, CreditLedger> credits_;
  std::unique_ptr<PeerLiveness> liveness_;
  EventLoop::TimerId heartbeat_timer_;
  uint64_t heartbeat_sequence_ = 0;
  uint64_t policy_version_ = 0;
  std::string weights_endpoint_;
  std::vector<std::function<void(const WorkerInfo&)>> on_joined_;
  std::vector<std::function<void(const WorkerInfo&, LeaveReason)>> on_left_;
  std::vector<std::function<void(const WorkerInfo&)>> on_credits_;
  MetricsRegistry* metrics_;
  Counter* joins_;
  Counter* deaths_;
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_WORKER_REGISTRY_H_
