#include "actors/worker_registry.h"

#include "core/logging.h"

namespace lightrl {

std::string_view RoleName(proto::Role role) {
  switch (role) {
    case proto::Role::UNKNOWN:
      return "unknown";
    case proto::Role::COORDINATOR:
      return "coordinator";
    case proto::Role::LEARNER:
      return "learner";
    case proto::Role::ROLLOUT:
      return "rollout";
    case proto::Role::REWARD:
      return "reward";
    case proto::Role::ECHO:
      return "echo";
    case proto::Role::CLIENT:
      return "client";
  }
  return "unknown";
}

WorkerRegistry::WorkerRegistry(EventLoop* loop, Messenger* messenger, const ClusterConfig& cluster,
                               MetricsRegistry* metrics)
    : loop_(loop), messenger_(messenger), cluster_(cluster), metrics_(metrics) {
  CHECK(metrics != nullptr);
  joins_ = metrics->GetCounter("lightrl_workers_joined_total", "Worker registrations.");
  deaths_ = metrics->GetCounter("lightrl_workers_dead_total",
                                "Workers declared dead after missing heartbeats.");
  liveness_ = std::make_unique<PeerLiveness>(
      loop_, Millis(cluster.dead_after_ms),
      [this](const std::string& worker_id) { Remove(worker_id, LeaveReason::kDead); });
  messenger_->OnAnyMessage([this](const IncomingMessage& message) {
    if (workers_.count(message.peer())) liveness_->Touch(message.peer());
  });
  messenger_->SetAdmission([this](const IncomingMessage& message) {
    if (message.envelope().getBody().which() == BodyKind::REGISTER ||
        workers_.count(message.peer())) {
      return Status::Ok();
    }
    return UnavailableError("worker '" + message.peer() + "' is not registered; register first");
  });
  messenger_->Handle(BodyKind::REGISTER, [this](const IncomingMessage& m) { OnRegister(m); });
  messenger_->Handle(BodyKind::HEARTBEAT, [this](const IncomingMessage& m) { OnHeartbeat(m); });
  messenger_->Handle(BodyKind::WORK_REQUEST,
                     [this](const IncomingMessage& m) { OnWorkRequest(m); });
  heartbeat_timer_ =
      loop_->AddPeriodicTimer(Millis(cluster.heartbeat_interval_ms), [this] { HeartbeatAll(); });
}

WorkerRegistry::~WorkerRegistry() { loop_->CancelTimer(heartbeat_timer_); }

void WorkerRegistry::OnJoined(std::function<void(const WorkerInfo&)> callback) {
  on_joined_.push_back(std::move(callback));
}
void WorkerRegistry::OnLeft(std::function<void(const WorkerInfo&, LeaveReason)> callback) {
  on_left_.push_back(std::move(callback));
}
void WorkerRegistry::OnCredits(std::function<void(const WorkerInfo&)> callback) {
  on_credits_.push_back(std::move(callback));
}

void WorkerRegistry::SetPolicyInfo(uint64_t version, std::string weights_endpoint) {
  policy_version_ = version;
  weights_endpoint_ = std::move(weights_endpoint);
}

void WorkerRegistry::OnRegister(const IncomingMessage& message) {
  const std::string& id = message.peer();
  auto reg = message.envelope().getBody().getRegister();
  if (id.empty() || id != message.envelope().getSenderId().cStr()) {
    messenger_->ReplyError(message, proto::RetryClass::FAILED,
                           "routing id '" + id + "' must equal the sender id");
    return;
  }
  // A worker that registers again restarted: its earlier in-flight work is gone.
  if (workers_.count(id)) Remove(id, LeaveReason::kReplaced);
  WorkerInfo info;
  info.id = id;
  info.role = reg.getRole();
  info.hostname = reg.getHostname().cStr();
  info.pid = reg.getPid();
  info.metrics_port = reg.getMetricsPort();
  info.max_in_flight = reg.getMaxInFlight();
  info.policy_version = reg.getPolicyVersion();
  info.joined_at = loop_->Now();

  OutgoingMessage reply;
  auto registered = reply.envelope().getBody().initRegistered();
  registered.setHeartbeatIntervalMillis(static_cast<uint32_t>(cluster_.heartbeat_interval_ms));
  registered.setDeadAfterMillis(static_cast<uint32_t>(cluster_.dead_after_ms));
  registered.setPolicyVersion(policy_version_);
  registered.setWeightsEndpoint(weights_endpoint_);
  if (!messenger_->Reply(message, std::move(reply)).ok()) {
    return;  // The worker will time out and register again.
  }
  workers_[id] = info;
  credits_[info.role].set_max_outstanding(std::max<uint32_t>(1, info.max_in_flight));
  liveness_->Touch(id);
  joins_->Increment();
  UpdateGauges();
  LOG(INFO) << "worker joined: " << id << " (" << RoleName(info.role) << ", pid " << info.pid
            << " on " << info.hostname << ")";
  for (auto& callback : on_joined_) callback(workers_[id]);
}

void WorkerRegistry::OnHeartbeat(const IncomingMessage& message) {
  auto heartbeat = message.envelope().getBody().getHeartbeat();
  WorkerInfo& info = workers_.at(message.peer());
  info.policy_version = heartbeat.getPolicyVersion();
  info.in_flight = heartbeat.getInFlight();
  info.queue_depth = heartbeat.getQueueDepth();
}

void WorkerRegistry::OnWorkRequest(const IncomingMessage& message) {
  const WorkerInfo& info = workers_.at(message.peer());
  credits_[info.role].Grant(info.id, message.envelope().getBody().getWorkRequest().getCredits());
  for (auto& callback : on_credits_) callback(info);
}

std::optional<std::string> WorkerRegistry::TakeWorker(proto::Role role) {
  auto ledger = credits_.find(role);
  if (ledger == credits_.end()) return std::nullopt;
  std::optional<std::string> worker = ledger->second.PickPeer();
  if (worker) CHECK(ledger->second.TryTake(*worker));
  return worker;
}

uint32_t WorkerRegistry::Credits(const std::string& worker_id) const {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return 0;
  auto ledger = credits_.find(it->second.role);
  return ledger == credits_.end() ? 0 : ledger->second.Available(worker_id);
}

const WorkerInfo* WorkerRegistry::Find(const std::string& worker_id) const {
  auto it = workers_.find(worker_id);
  return it == workers_.end() ? nullptr : &it->second;
}

std::vector<WorkerInfo> WorkerRegistry::Workers() const {
  std::vector<WorkerInfo> out;
  for (const auto& [id, info] : workers_) out.push_back(info);
  return out;
}

size_t WorkerRegistry::CountRole(proto::Role role) const {
  size_t n = 0;
  for (const auto& [id, info] : workers_) n += info.role == role;
  return n;
}

void WorkerRegistry::BroadcastShutdown(const std::string& reason, bool drain, Millis timeout,
                                       std::function<void(size_t)> on_done) {
  struct Tally {
    size_t waiting;
    size_t acknowledged = 0;
    std::function<void(size_t)> on_done;
  };
  auto tally = std::make_shared<Tally>(Tally{workers_.size(), 0, std::move(on_done)});
  if (tally->waiting == 0) {
    tally->on_done(0);
    return;
  }
  for (const auto& [id, info] : workers_) {
    OutgoingMessage message;
    auto shutdown = message.envelope().getBody().initShutdown();
    shutdown.setReason(reason);
    shutdown.setDrain(drain);
    messenger_->Request(id, std::move(message), timeout,
                        [tally](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                          if (reply.ok()) ++tally->acknowledged;
                          if (--tally->waiting == 0) tally->on_done(tally->acknowledged);
                        });
  }
}

void WorkerRegistry::HeartbeatAll() {
  ++heartbeat_sequence_;
  for (const auto& [id, info] : workers_) {
    OutgoingMessage message;
    auto heartbeat = message.envelope().getBody().initHeartbeat();
    heartbeat.setSequence(heartbeat_sequence_);
    heartbeat.setPolicyVersion(policy_version_);
    // A full queue to one worker only delays its heartbeat; liveness has slack for that.
    messenger_->Send(id, std::move(message)).status().IgnoreError();
  }
}

void WorkerRegistry::Remove(const std::string& worker_id, LeaveReason reason) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  WorkerInfo info = std::move(it->second);
  workers_.erase(it);
  credits_[info.role].Forget(worker_id);
  liveness_->Forget(worker_id);
  if (reason == LeaveReason::kDead) deaths_->Increment();
  messenger_->FailPendingRequests(worker_id, UnavailableError("worker " + worker_id + " left"));
  UpdateGauges();
  LOG(WARNING) << "worker left: " << worker_id << " ("
               << (reason == LeaveReason::kDead ? "missed heartbeats" : "re-registered") << ")";
  for (auto& callback : on_left_) callback(info, reason);
}

void WorkerRegistry::UpdateGauges() {
  for (proto::Role role :
       {proto::Role::LEARNER, proto::Role::ROLLOUT, proto::Role::REWARD, proto::Role::ECHO}) {
    metrics_
        ->GetGauge("lightrl_workers", "Registered workers, by role.",
                   {{"role", std::string(RoleName(role))}})
        ->Set(static_cast<double>(CountRole(role)));
  }
}

}  // namespace lightrl
