#include "smoke/echo_probe.h"

#include <algorithm>

#include "core/logging.h"

namespace lightrl {

// Echo requests are answered after the worker's simulated work; this bounds the wait for one.
constexpr Millis kProbeTimeout(60000);

Status ParseEchoProbeConfig(const ConfigNode& node, EchoProbeConfig* out) {
  RETURN_IF_ERROR(
      node.ExpectOnlyKeys({"workers", "probes", "payload_bytes", "pending_capacity", "seed"}));
  RETURN_IF_ERROR(node.Optional("workers", &out->workers, 1, 1024));
  RETURN_IF_ERROR(node.Optional("probes", &out->probes, 1, int64_t{1} << 40));
  RETURN_IF_ERROR(node.Optional("payload_bytes", &out->payload_bytes, 0, 64 << 20));
  RETURN_IF_ERROR(node.Optional("pending_capacity", &out->pending_capacity, 1, 1 << 20));
  RETURN_IF_ERROR(node.Optional("seed", &out->seed));
  return Status::Ok();
}

EchoProbe::EchoProbe(EventLoop* loop, Messenger* messenger, WorkerRegistry* registry,
                     const EchoProbeConfig& config,
                     std::function<void(const EchoProbeReport&)> on_done)
    : loop_(loop),
      messenger_(messenger),
      registry_(registry),
      config_(config),
      on_done_(std::move(on_done)),
      pending_(static_cast<size_t>(config.pending_capacity)) {
  registry_->OnCredits([this](const WorkerInfo&) { Dispatch(); });
  registry_->OnLeft([this](const WorkerInfo& worker, LeaveReason) {
    // The registry already failed the worker's pending requests, which re-queued them.
    LOG(INFO) << "echo probe: worker " << worker.id << " left";
  });
  producer_timer_ = loop_->AddPeriodicTimer(Millis(1), [this] { Produce(); });
}

EchoProbe::~EchoProbe() { loop_->CancelTimer(producer_timer_); }

std::string EchoProbe::PayloadFor(int64_t probe) const {
  std::mt19937_64 rng(static_cast<uint64_t>(config_.seed) * 1000003u +
                      static_cast<uint64_t>(probe));
  std::string payload(static_cast<size_t>(config_.payload_bytes), '\0');
  for (char& c : payload) c = static_cast<char>(rng());
  return payload;
}

void EchoProbe::Produce() {
  if (!started_) {
    if (registry_->CountRole(proto::Role::ECHO) < static_cast<size_t>(config_.workers)) return;
    started_ = true;
    start_time_ = Clock::now();
    LOG(INFO) << "echo probe: " << config_.workers << " worker(s) present; sending "
              << config_.probes << " probes";
  }
  while (next_probe_ < config_.probes) {
    if (!pending_.Push(next_probe_).ok()) {
      ++report_.backpressure;
      break;
    }
    ++next_probe_;
  }
  report_.pending_high_water = pending_.high_water();
  Dispatch();
}

void EchoProbe::Dispatch() {
  if (!started_) return;
  while (!pending_.empty()) {
    std::optional<std::string> worker = registry_->TakeWorker(proto::Role::ECHO);
    if (!worker) return;
    int64_t probe = *pending_.Pop();
    std::string payload = PayloadFor(probe);
    OutgoingMessage message(payload.size() + 256);
    message.envelope().getBody().initEcho().setPayload(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(payload.data()), payload.size()));
    in_flight_[probe] = InFlight{*worker, Clock::now()};
    messenger_->Request(*worker, std::move(message), kProbeTimeout,
                        [this, probe](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                          OnReply(probe, std::move(reply));
                        });
  }
}

void EchoProbe::OnReply(int64_t probe, StatusOr<std::unique_ptr<IncomingMessage>> reply) {
  auto it = in_flight_.find(probe);
  if (it == in_flight_.end()) {
    ++report_.duplicates;
    return;
  }
  InFlight sent = it->second;
  in_flight_.erase(it);
  if (!reply.ok()) {
    // Lost worker, refused or timed out: the probe goes back to the front of the queue. The
    // credit is not returned: the worker grants again for whatever it has finished.
    LOG(WARNING) << "echo probe " << probe << " via " << sent.worker << ": " << reply.status();
    ++report_.requeued;
    pending_.PushFront(probe);
    Dispatch();
    return;
  }
  if (!answered_.insert(probe).second) {
    ++report_.duplicates;
    return;
  }
  auto body = (*reply)->envelope().getBody();
  std::string expected = PayloadFor(probe);
  bool match = body.which() == BodyKind::ECHO &&
               body.getEcho().getPayload().size() == expected.size() &&
               std::equal(expected.begin(), expected.end(),
                          reinterpret_cast<const char*>(body.getEcho().getPayload().begin()));
  if (!match) ++report_.mismatched;
  ++report_.answered;
  report_.round_trip_ms.push_back(
      std::chrono::duration<double, std::milli>(Clock::now() - sent.sent_at).count());
  if (report_.answered == config_.probes) {
    report_.seconds = std::chrono::duration<double>(Clock::now() - start_time_).count();
    loop_->CancelTimer(producer_timer_);
    on_done_(report_);
  }
}

}  // namespace lightrl
