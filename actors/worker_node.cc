#include "actors/worker_node.h"

#include "actors/worker_registry.h"
#include "core/logging.h"

namespace lightrl {

WorkerNodeCore::WorkerNodeCore(WorkerNodeOptions options, MetricsRegistry* metrics)
    : options_(std::move(options)), metrics_(metrics) {
  CHECK(metrics != nullptr);
  const std::string prefix = "lightrl_" + std::string(RoleName(options_.identity.role)) + "_";
  in_flight_ = metrics->GetGauge(prefix + "in_flight", "Requests held: taken, not yet answered.");
  in_flight_high_water_ =
      metrics->GetGauge(prefix + "in_flight_high_water", "Most requests ever held at once.");
  credits_granted_ =
      metrics->GetCounter(prefix + "credits_granted_total", "Credits granted to the coordinator.");
  unsolicited_ = metrics->GetCounter(prefix + "unsolicited_total",
                                     "Requests refused because no credit covered them.");
  refused_ = metrics->GetCounter(prefix + "refused_total",
                                 "Requests answered with an error at once (malformed, stopping).");
  posts_dropped_ = metrics->GetCounter(
      prefix + "actor_posts_dropped_total",
      "Replies and other work handed to the actor after it stopped, and so dropped.");
}

WorkerNodeCore::~WorkerNodeCore() = default;

Status WorkerNodeCore::StartActor(zmq::context_t& context, std::function<Status(EventLoop&)> setup,
                                  std::function<void()> teardown) {
  ASSIGN_OR_RETURN(actor_, Actor::Start(
                               worker_id(),
                               [this](EventLoop& loop) {
                                 loop_ = &loop;
                                 return Status::Ok();
                               },
                               [this, teardown = std::move(teardown)] {
                                 if (teardown) teardown();
                                 session_.reset();
                               },
                               options_.actor));
  // The setup runs through the mailbox, after actor_ is set: threads it starts may post.
  Status set_up;
  Status called = actor_->Call([&] { set_up = SetUp(context, setup); });
  if (called.ok()) called = set_up;
  if (!called.ok()) Stop();
  return called;
}

Status WorkerNodeCore::SetUp(zmq::context_t& context,
                             const std::function<Status(EventLoop&)>& setup) {
  ASSIGN_OR_RETURN(session_, WorkerSession::Create(context, loop_, options_.cluster,
                                                   options_.identity, metrics_));
  session_->SetLoadProvider([this] {
    WorkerLoad load;
    load.policy_version = options_.policy_version ? options_.policy_version() : 0;
    load.in_flight = held_;
    load.queue_depth = static_cast<uint32_t>(QueueDepth());
    return load;
  });
  session_->OnRegistered([this](proto::Registered::Reader) {
    granted_unused_ = 0;  // This registration knows no earlier grants.
    GrantFreeSlots();
  });
  session_->OnShutdown([this](bool) {
    if (on_shutdown_) on_shutdown_();
  });
  return setup(*loop_);
}

void WorkerNodeCore::OnShutdown(std::function<void()> callback) {
  // A stopped actor runs no callbacks: nothing to install then.
  actor_->Call([&] { on_shutdown_ = std::move(callback); }).IgnoreError();
}

void WorkerNodeCore::CloseQueue() {
  accepting_ = false;
  CloseJobs();
}

void WorkerNodeCore::Stop() {
  if (stopped_) return;
  stopped_ = true;
  CloseQueue();
  if (actor_) actor_->Stop();
}

void WorkerNodeCore::ServeRequests(BodyKind kind,
                                   std::function<Status(const IncomingMessage&)> take) {
  CHECK(!take_) << "a worker node serves one kind of request";
  take_ = std::move(take);
  session_->messenger().Handle(kind, [this](const IncomingMessage& m) { OnRequest(m); });
}

void WorkerNodeCore::OnRequest(const IncomingMessage& message) {
  if (granted_unused_ == 0) {
    unsolicited_->Increment();
    session_->messenger().ReplyError(message, proto::RetryClass::OVERLOADED,
                                     worker_id() + " granted no credit for this request");
    return;
  }
  --granted_unused_;
  ++held_;
  in_flight_->Set(held_);
  if (held_ > in_flight_high_water_->value()) in_flight_high_water_->Set(held_);
  Status taken = take_(message);
  if (taken.ok()) return;
  refused_->Increment();
  session_->messenger().ReplyError(message, RetryClassFor(taken), std::string(taken.message()));
  EndRequest();
}

void WorkerNodeCore::EndRequest() {
  CHECK_GT(held_, 0u);
  --held_;
  in_flight_->Set(held_);
  GrantFreeSlots();
}

void WorkerNodeCore::Reply(uint64_t request, OutgoingMessage reply) {
  auto message = std::make_shared<OutgoingMessage>(std::move(reply));
  RunOnActor([this, request, message] {
    // A reply that cannot be sent (the coordinator is away) is re-queued on its side.
    session_->messenger().Send("", std::move(*message), request).status().IgnoreError();
    EndRequest();
  });
}

void WorkerNodeCore::ReplyError(uint64_t request, proto::RetryClass retry_class,
                                const std::string& message) {
  OutgoingMessage reply;
  auto error = reply.envelope().getBody().initError();
  error.setRetryClass(retry_class);
  error.setMessage(message);
  Reply(request, std::move(reply));
}

void WorkerNodeCore::RunOnActor(std::function<void()> fn) {
  if (!actor_->PostWaiting(std::move(fn)).ok()) posts_dropped_->Increment();
}

void WorkerNodeCore::Handle(BodyKind kind, MessageHandler handler) {
  session_->messenger().Handle(kind, std::move(handler));
}

void WorkerNodeCore::OnRegistered(std::function<void()> callback) {
  session_->OnRegistered(
      [callback = std::move(callback)](proto::Registered::Reader) { callback(); });
}

bool WorkerNodeCore::registered() const { return session_->registered(); }

Status WorkerNodeCore::Send(OutgoingMessage message) {
  if (!session_->registered()) return UnavailableError(worker_id() + " is not registered");
  return session_->messenger().Send("", std::move(message)).status();
}

void WorkerNodeCore::GrantFreeSlots() {
  if (!session_->registered() || !accepting_.load()) return;
  if (options_.can_take_work && !options_.can_take_work()) return;
  const uint32_t capacity = options_.identity.max_in_flight;
  if (held_ + granted_unused_ >= capacity) return;
  const uint32_t free = capacity - held_ - granted_unused_;
  granted_unused_ += free;
  credits_granted_->Increment(free);
  session_->GrantCredits(free);
}

uint32_t WorkerNodeCore::in_flight_high_water() const {
  return static_cast<uint32_t>(in_flight_high_water_->value());
}

uint64_t WorkerNodeCore::unsolicited() const {
  return static_cast<uint64_t>(unsolicited_->value());
}

}  // namespace lightrl
