#include "actors/worker_session.h"

#include <unistd.h>

#include "core/logging.h"

namespace lightrl {

// Registration retries start fast (the coordinator may just be starting) and back off to the
// request timeout.
constexpr Millis kFirstRegisterBackoff(20);

StatusOr<std::unique_ptr<WorkerSession>> WorkerSession::Create(zmq::context_t& context,
                                                               EventLoop* loop,
                                                               const ClusterConfig& cluster,
                                                               const WorkerIdentity& identity,
                                                               MetricsRegistry* metrics) {
  if (identity.worker_id.empty()) return InvalidArgumentError("worker id is empty");
  SocketOptions options;
  options.routing_id = identity.worker_id;
  ASSIGN_OR_RETURN(auto socket, ZmqSocket::Create(context, SocketKind::kDealer, options));
  RETURN_IF_ERROR(socket->Connect(cluster.coordinator_endpoint));
  MessengerConfig messenger_config;
  messenger_config.name = "coordinator_link";
  messenger_config.sender_id = identity.worker_id;
  messenger_config.limits = cluster.codec_limits();
  auto messenger = std::make_unique<Messenger>(loop, std::move(socket), messenger_config, metrics);
  std::unique_ptr<WorkerSession> session(
      new WorkerSession(loop, cluster, identity, std::move(messenger), metrics));
  // Register from the loop, once the caller has installed its callbacks and load provider.
  WorkerSession* raw = session.get();
  session->retry_timer_ = loop->AddTimer(Millis(0), [raw] { raw->Register(); });
  return session;
}

WorkerSession::WorkerSession(EventLoop* loop, const ClusterConfig& cluster,
                             const WorkerIdentity& identity, std::unique_ptr<Messenger> messenger,
                             MetricsRegistry* metrics)
    : loop_(loop),
      cluster_(cluster),
      identity_(identity),
      messenger_(std::move(messenger)),
      heartbeat_interval_(cluster.heartbeat_interval_ms),
      register_backoff_(kFirstRegisterBackoff) {
  CHECK(metrics != nullptr);
  registrations_ = metrics->GetCounter("lightrl_worker_registrations_total",
                                       "Successful registrations with the coordinator.");
  coordinator_losses_ =
      metrics->GetCounter("lightrl_worker_coordinator_losses_total",
                          "Times the coordinator went silent or forgot this worker.");
  coordinator_liveness_ = std::make_unique<PeerLiveness>(
      loop_, Millis(cluster.dead_after_ms), [this](const std::string&) { CoordinatorLost(); });
  messenger_->OnAnyMessage([this](const IncomingMessage&) {
    if (registered_) coordinator_liveness_->Touch(kCoordinatorPeer);
  });
  messenger_->Handle(BodyKind::HEARTBEAT, [](const IncomingMessage&) {});
  messenger_->Handle(BodyKind::REGISTERED, [](const IncomingMessage&) {
    // A Registered that answers no pending request is stale (its request timed out).
  });
  messenger_->Handle(BodyKind::SHUTDOWN, [this](const IncomingMessage& message) {
    bool drain = message.envelope().getBody().getShutdown().getDrain();
    OutgoingMessage ack;
    ack.envelope().getBody().initAck().setDetail("shutting down");
    messenger_->Reply(message, std::move(ack)).status().IgnoreError();
    if (on_shutdown_) on_shutdown_(drain);
  });
  messenger_->Handle(BodyKind::ERROR, [this](const IncomingMessage& message) {
    auto error = message.envelope().getBody().getError();
    if (error.getRetryClass() == proto::RetryClass::DISCONNECTED && registered_) {
      LOG(WARNING) << "coordinator does not know this worker: " << error.getMessage().cStr();
      CoordinatorLost();
    }
  });
}

WorkerSession::~WorkerSession() {
  loop_->CancelTimer(heartbeat_timer_);
  loop_->CancelTimer(retry_timer_);
}

void WorkerSession::OnRegistered(std::function<void(proto::Registered::Reader)> callback) {
  on_registered_.push_back(std::move(callback));
}
void WorkerSession::OnShutdown(std::function<void(bool)> callback) {
  on_shutdown_ = std::move(callback);
}
void WorkerSession::SetLoadProvider(std::function<WorkerLoad()> provider) {
  load_provider_ = std::move(provider);
}

void WorkerSession::Register() {
  if (registering_ || registered_) return;
  registering_ = true;
  OutgoingMessage message;
  auto reg = message.envelope().getBody().initRegister();
  reg.setRole(identity_.role);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  reg.setHostname(host);
  reg.setPid(static_cast<uint32_t>(getpid()));
  reg.setMetricsPort(identity_.metrics_port);
  reg.setMaxInFlight(identity_.max_in_flight);
  reg.setPolicyVersion(load_provider_ ? load_provider_().policy_version : 0);
  messenger_->Request("", std::move(message), Millis(cluster_.request_timeout_ms),
                      [this](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                        OnRegisterReply(std::move(reply));
                      });
}

void WorkerSession::OnRegisterReply(StatusOr<std::unique_ptr<IncomingMessage>> reply) {
  registering_ = false;
  if (reply.ok() && (*reply)->envelope().getBody().which() != BodyKind::REGISTERED) {
    reply = InternalError(
        "coordinator answered Register with " +
        std::string(BodyKindName(static_cast<uint16_t>((*reply)->envelope().getBody().which()))));
  }
  if (!reply.ok()) {
    // Not connected yet (ResourceExhausted), timed out, or refused: try again later.
    LOG(DEBUG) << identity_.worker_id << ": registration failed: " << reply.status();
    retry_timer_ = loop_->AddTimer(register_backoff_, [this] { Register(); });
    register_backoff_ = std::min(register_backoff_ * 2, Millis(cluster_.request_timeout_ms));
    return;
  }
  auto registered = (*reply)->envelope().getBody().getRegistered();
  heartbeat_interval_ = Millis(std::max<uint32_t>(1, registered.getHeartbeatIntervalMillis()));
  registered_ = true;
  register_backoff_ = kFirstRegisterBackoff;
  unsent_credits_ = 0;
  registrations_->Increment();
  coordinator_liveness_->Touch(kCoordinatorPeer);
  loop_->CancelTimer(heartbeat_timer_);
  heartbeat_timer_ = loop_->AddPeriodicTimer(heartbeat_interval_, [this] { SendHeartbeat(); });
  LOG(INFO) << identity_.worker_id << ": registered with the coordinator";
  for (auto& callback : on_registered_) callback(registered);
}

void WorkerSession::SendHeartbeat() {
  if (!registered_) return;
  FlushCredits();
  OutgoingMessage message;
  auto heartbeat = message.envelope().getBody().initHeartbeat();
  heartbeat.setSequence(++heartbeat_sequence_);
  if (load_provider_) {
    WorkerLoad load = load_provider_();
    heartbeat.setPolicyVersion(load.policy_version);
    heartbeat.setInFlight(load.in_flight);
    heartbeat.setQueueDepth(load.queue_depth);
  }
  // A refused heartbeat is counted by the messenger; the next one follows shortly.
  messenger_->Send("", std::move(message)).status().IgnoreError();
}

void WorkerSession::CoordinatorLost() {
  if (!registered_) return;
  registered_ = false;
  unsent_credits_ = 0;
  coordinator_losses_->Increment();
  coordinator_liveness_->Forget(kCoordinatorPeer);
  loop_->CancelTimer(heartbeat_timer_);
  heartbeat_timer_ = 0;
  messenger_->FailPendingRequests("", UnavailableError("coordinator lost"));
  LOG(WARNING) << identity_.worker_id << ": lost the coordinator; registering again";
  Register();
}

void WorkerSession::GrantCredits(uint32_t credits) {
  if (!registered_) return;
  unsent_credits_ += credits;
  FlushCredits();
}

void WorkerSession::FlushCredits() {
  if (!registered_ || unsent_credits_ == 0) return;
  OutgoingMessage message;
  message.envelope().getBody().initWorkRequest().setCredits(unsent_credits_);
  if (messenger_->Send("", std::move(message)).ok()) unsent_credits_ = 0;
}

}  // namespace lightrl
