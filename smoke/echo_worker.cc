#include "smoke/echo_worker.h"

#include "core/logging.h"

namespace lightrl {

StatusOr<std::unique_ptr<EchoWorker>> EchoWorker::Create(zmq::context_t& context, EventLoop* loop,
                                                         const ClusterConfig& cluster,
                                                         const EchoWorkerConfig& config,
                                                         MetricsRegistry* metrics) {
  if (config.identity.max_in_flight == 0) return InvalidArgumentError("max_in_flight must be > 0");
  WorkerIdentity identity = config.identity;
  identity.role = proto::Role::ECHO;
  ASSIGN_OR_RETURN(auto session, WorkerSession::Create(context, loop, cluster, identity, metrics));
  return std::unique_ptr<EchoWorker>(new EchoWorker(loop, config, metrics, std::move(session)));
}

EchoWorker::EchoWorker(EventLoop* loop, const EchoWorkerConfig& config, MetricsRegistry* metrics,
                       std::unique_ptr<WorkerSession> session)
    : loop_(loop),
      config_(config),
      session_(std::move(session)),
      queue_(config.identity.max_in_flight) {
  queue_depth_ = metrics->GetGauge("lightrl_echo_queue_depth", "Echo requests waiting.");
  queue_high_water_ = metrics->GetGauge("lightrl_echo_queue_high_water",
                                        "Most echo requests ever waiting at once.");
  served_ = metrics->GetCounter("lightrl_echo_served_total", "Echo requests answered.");
  unsolicited_ = metrics->GetCounter("lightrl_echo_unsolicited_total",
                                     "Echo requests refused because no credit covered them.");
  session_->SetLoadProvider([this] {
    WorkerLoad load;
    load.queue_depth = static_cast<uint32_t>(queue_.size());
    load.in_flight = static_cast<uint32_t>(queue_.size());
    return load;
  });
  session_->OnRegistered([this](proto::Registered::Reader) {
    // Requests queued for an earlier coordinator are still answered; only free slots are new.
    session_->GrantCredits(static_cast<uint32_t>(queue_.capacity() - queue_.size()));
  });
  session_->OnShutdown([this](bool) {
    if (on_shutdown_) on_shutdown_();
  });
  session_->messenger().Handle(BodyKind::ECHO,
                               [this](const IncomingMessage& message) { OnEcho(message); });
}

EchoWorker::~EchoWorker() { loop_->CancelTimer(work_timer_); }

std::string EchoWorker::Summary() const {
  return "served " + std::to_string(static_cast<int64_t>(served_->value())) +
         ", queue high water " + std::to_string(queue_.high_water()) + " of " +
         std::to_string(queue_.capacity()) + ", refused " +
         std::to_string(static_cast<int64_t>(unsolicited_->value()));
}

void EchoWorker::OnEcho(const IncomingMessage& message) {
  auto payload = message.envelope().getBody().getEcho().getPayload();
  Job job{message.envelope().getMessageId(),
          std::string(reinterpret_cast<const char*>(payload.begin()), payload.size())};
  Status pushed = queue_.Push(std::move(job));
  if (!pushed.ok()) {
    unsolicited_->Increment();
    session_->messenger().ReplyError(message, proto::RetryClass::OVERLOADED,
                                     "echo queue is full: send only with credits");
    return;
  }
  queue_depth_->Set(static_cast<double>(queue_.size()));
  queue_high_water_->Set(static_cast<double>(queue_.high_water()));
  if (work_timer_ == 0) {
    work_timer_ = loop_->AddTimer(Millis(config_.work_delay_ms), [this] { ServeOne(); });
  }
}

void EchoWorker::ServeOne() {
  work_timer_ = 0;
  std::optional<Job> job = queue_.Pop();
  if (!job) return;
  OutgoingMessage reply(job->payload.size() + 256);
  reply.envelope().getBody().initEcho().setPayload(
      kj::arrayPtr(reinterpret_cast<const kj::byte*>(job->payload.data()), job->payload.size()));
  Status sent = session_->messenger().Send("", std::move(reply), job->request_id).status();
  if (!sent.ok()) {
    // The coordinator is away; keep the job and try again after the next delay.
    queue_.PushFront(std::move(*job));
  } else {
    served_->Increment();
    session_->GrantCredits(1);
  }
  queue_depth_->Set(static_cast<double>(queue_.size()));
  if (!queue_.empty()) {
    work_timer_ = loop_->AddTimer(Millis(std::max(config_.work_delay_ms, sent.ok() ? 0 : 10)),
                                  [this] { ServeOne(); });
  }
}

}  // namespace lightrl
