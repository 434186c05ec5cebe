#include "actors/messenger.h"

#include <kj/exception.h>

#include <array>
#include <chrono>

#include "core/logging.h"

namespace lightrl {
namespace {

constexpr size_t kKnownKinds = static_cast<size_t>(BodyKind::WEIGHTS_NCCL_PULL) + 1;
constexpr size_t kMaxErrorTextBytes = 1024;

int64_t NowUnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsTerminalKind(uint16_t which) {
  return which == static_cast<uint16_t>(BodyKind::ACK) ||
         which == static_cast<uint16_t>(BodyKind::ERROR) ||
         which == static_cast<uint16_t>(BodyKind::UNIMPLEMENTED);
}

}  // namespace

struct Messenger::Counters {
  std::array<Counter*, kKnownKinds + 1> received{};  // Last slot: unknown kinds.
  std::array<Counter*, kKnownKinds + 1> sent{};
  Counter* bytes_received;
  std::map<DecodeError, Counter*> decode_errors;
  std::array<Counter*, kKnownKinds + 1> handler_errors{};
  Counter* send_queue_full;
  Counter* send_peer_unknown;
  Counter* send_other;
  Counter* request_timeouts;
};

namespace {

size_t KindSlot(uint16_t which) { return which < kKnownKinds ? which : kKnownKinds; }

}  // namespace

Messenger::Messenger(EventLoop* loop, std::unique_ptr<ZmqSocket> socket, MessengerConfig config,
                     MetricsRegistry* metrics)
    : loop_(loop), socket_(std::move(socket)), config_(std::move(config)) {
  if (metrics == nullptr) {
    own_metrics_ = std::make_unique<MetricsRegistry>();
    metrics = own_metrics_.get();
  }
  counters_ = std::make_unique<Counters>();
  const std::string& s = config_.name;
  for (size_t i = 0; i <= kKnownKinds; ++i) {
    std::string kind(BodyKindName(static_cast<uint16_t>(i)));
    counters_->received[i] =
        metrics->GetCounter("lightrl_messages_received_total", "Messages decoded, by body kind.",
                            {{"socket", s}, {"kind", kind}});
    counters_->sent[i] =
        metrics->GetCounter("lightrl_messages_sent_total", "Messages sent, by body kind.",
                            {{"socket", s}, {"kind", kind}});
    counters_->handler_errors[i] = metrics->GetCounter(
        "lightrl_handler_errors_total", "Messages whose fields could not be read by a handler.",
        {{"socket", s}, {"kind", kind}});
  }
  counters_->bytes_received = metrics->GetCounter("lightrl_bytes_received_total",
                                                  "Bytes of decoded messages.", {{"socket", s}});
  for (DecodeError e : {DecodeError::kEmpty, DecodeError::kTruncated, DecodeError::kOversized,
                        DecodeError::kGarbage, DecodeError::kVersionMismatch}) {
    counters_->decode_errors[e] = metrics->GetCounter(
        "lightrl_decode_errors_total", "Frames rejected by the codec, by reason.",
        {{"socket", s}, {"reason", std::string(DecodeErrorName(e))}});
  }
  auto send_failure = [&](const char* reason) {
    return metrics->GetCounter("lightrl_send_failures_total", "Sends refused, by reason.",
                               {{"socket", s}, {"reason", reason}});
  };
  counters_->send_queue_full = send_failure("queue_full");
  counters_->send_peer_unknown = send_failure("peer_unknown");
  counters_->send_other = send_failure("other");
  counters_->request_timeouts = metrics->GetCounter(
      "lightrl_request_timeouts_total", "Requests that got no reply in time.", {{"socket", s}});
  loop_->AddSocket(socket_.get(), [this] { OnReadable(); });
}

Messenger::~Messenger() {
  loop_->RemoveSocket(socket_.get());
  for (auto& [id, pending] : pending_) loop_->CancelTimer(pending.timer);
}

void Messenger::Handle(BodyKind kind, MessageHandler handler) {
  handlers_[kind] = std::move(handler);
}

void Messenger::OnAnyMessage(MessageHandler observer) { observers_.push_back(std::move(observer)); }

void Messenger::SetAdmission(std::function<Status(const IncomingMessage&)> admission) {
  admission_ = std::move(admission);
}

StatusOr<uint64_t> Messenger::Send(const std::string& peer, OutgoingMessage message,
                                   uint64_t correlation_id) {
  proto::Envelope::Builder envelope = message.envelope();
  uint64_t id = next_message_id_++;
  envelope.setProtocolVersion(proto::PROTOCOL_VERSION);
  envelope.setSenderId(config_.sender_id);
  envelope.setMessageId(id);
  envelope.setCorrelationId(correlation_id);
  envelope.setSentAtUnixNanos(NowUnixNanos());
  size_t slot = KindSlot(static_cast<uint16_t>(envelope.getBody().which()));
  std::vector<zmq::message_t> frames = message.TakeFrames();
  Status sent = socket_->kind() == SocketKind::kRouter ? socket_->SendTo(peer, &frames)
                                                       : socket_->Send(&frames);
  if (!sent.ok()) {
    if (sent.code() == StatusCode::kResourceExhausted) {
      counters_->send_queue_full->Increment();
    } else if (sent.code() == StatusCode::kUnavailable) {
      counters_->send_peer_unknown->Increment();
    } else {
      counters_->send_other->Increment();
    }
    return sent;
  }
  counters_->sent[slot]->Increment();
  return id;
}

StatusOr<uint64_t> Messenger::Reply(const IncomingMessage& request, OutgoingMessage message) {
  return Send(request.peer(), std::move(message), request.envelope().getMessageId());
}

void Messenger::SendErrorTo(const std::string& peer, uint64_t correlation_id,
                            proto::RetryClass retry_class, const std::string& text) {
  OutgoingMessage message;
  auto error = message.envelope().getBody().initError();
  error.setRetryClass(retry_class);
  error.setMessage(text.substr(0, kMaxErrorTextBytes));
  // A failure to deliver an error is already counted by Send; there is nobody else to tell.
  Send(peer, std::move(message), correlation_id).status().IgnoreError();
}

void Messenger::ReplyError(const IncomingMessage& request, proto::RetryClass retry_class,
                           const std::string& message) {
  SendErrorTo(request.peer(), request.envelope().getMessageId(), retry_class, message);
}

void Messenger::Request(const std::string& peer, OutgoingMessage message, Millis timeout,
                        ReplyCallback on_reply) {
  StatusOr<uint64_t> id = Send(peer, std::move(message));
  if (!id.ok()) {
    on_reply(id.status());
    return;
  }
  uint64_t request_id = *id;
  EventLoop::TimerId timer = loop_->AddTimer(timeout, [this, request_id] {
    auto it = pending_.find(request_id);
    if (it == pending_.end()) return;
    ReplyCallback callback = std::move(it->second.callback);
    pending_.erase(it);
    counters_->request_timeouts->Increment();
    callback(DeadlineExceededError("no reply to request " + std::to_string(request_id) +
                                   " within the timeout"));
  });
  pending_[request_id] = Pending{peer, timer, std::move(on_reply)};
}

void Messenger::FailPendingRequests(const std::string& peer, const Status& status) {
  std::vector<ReplyCallback> failed;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.peer == peer) {
      loop_->CancelTimer(it->second.timer);
      failed.push_back(std::move(it->second.callback));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& callback : failed) callback(status);
}

void Messenger::OnReadable() {
  std::vector<zmq::message_t> frames;
  for (int i = 0; i < config_.max_messages_per_wakeup; ++i) {
    StatusOr<bool> got = socket_->Receive(&frames);
    if (!got.ok()) {
      LOG(ERROR) << config_.name << ": " << got.status();
      return;
    }
    if (!*got) return;
    OnFrames(std::move(frames));
  }
}

void Messenger::OnFrames(std::vector<zmq::message_t> frames) {
  std::string peer;
  if (socket_->kind() == SocketKind::kRouter) {
    CHECK(!frames.empty());
    peer.assign(static_cast<const char*>(frames.front().data()), frames.front().size());
    frames.erase(frames.begin());
  }
  DecodeError reason;
  auto decoded = IncomingMessage::Decode(std::move(frames), config_.limits, &reason);
  if (!decoded.ok()) {
    counters_->decode_errors[reason]->Increment();
    LOG(WARNING) << config_.name << ": rejected a message from '" << peer
                 << "': " << decoded.status().message();
    SendErrorTo(peer, 0, proto::RetryClass::FAILED, std::string(decoded.status().message()));
    return;
  }
  (*decoded)->set_peer(std::move(peer));
  Dispatch(std::move(*decoded));
}

void Messenger::Dispatch(std::unique_ptr<IncomingMessage> message) {
  uint16_t which = 0;
  try {
    proto::Envelope::Reader envelope = message->envelope();
    which = static_cast<uint16_t>(envelope.getBody().which());
    counters_->received[KindSlot(which)]->Increment();
    counters_->bytes_received->Increment(static_cast<double>(message->byte_size()));
    for (const MessageHandler& observer : observers_) observer(*message);

    uint64_t correlation = envelope.getCorrelationId();
    if (correlation != 0) {
      auto it = pending_.find(correlation);
      if (it != pending_.end()) {
        Pending pending = std::move(it->second);
        pending_.erase(it);
        loop_->CancelTimer(pending.timer);
        if (which == static_cast<uint16_t>(BodyKind::ERROR)) {
          pending.callback(StatusFromError(envelope.getBody().getError()));
        } else if (which == static_cast<uint16_t>(BodyKind::UNIMPLEMENTED)) {
          pending.callback(UnimplementedError("peer does not implement the request"));
        } else {
          pending.callback(std::move(message));
        }
        return;
      }
    }
    if (admission_) {
      Status admitted = admission_(*message);
      if (!admitted.ok()) {
        if (!IsTerminalKind(which)) {
          ReplyError(*message, RetryClassFor(admitted), std::string(admitted.message()));
        }
        return;
      }
    }
    auto handler =
        which < kKnownKinds ? handlers_.find(static_cast<BodyKind>(which)) : handlers_.end();
    if (handler != handlers_.end()) {
      handler->second(*message);
      return;
    }
    if (IsTerminalKind(which)) return;  // A late or unsolicited answer: nothing to do.
    OutgoingMessage reply;
    reply.envelope().getBody().initUnimplemented().setUnknownKind(which);
    Reply(*message, std::move(reply)).status().IgnoreError();
  } catch (const kj::Exception& e) {
    counters_->handler_errors[KindSlot(which)]->Increment();
    std::string text =
        "malformed " + std::string(BodyKindName(which)) + " message: " + e.getDescription().cStr();
    LOG(WARNING) << config_.name << ": " << text;
    if (!IsTerminalKind(which)) ReplyError(*message, proto::RetryClass::FAILED, text);
  }
}

Status StatusFromError(proto::Error::Reader error) {
  std::string text = error.hasMessage() ? std::string(error.getMessage().cStr()) : "";
  switch (error.getRetryClass()) {
    case proto::RetryClass::OVERLOADED:
      return ResourceExhaustedError(text);
    case proto::RetryClass::DISCONNECTED:
      return UnavailableError(text);
    case proto::RetryClass::UNIMPLEMENTED:
      return UnimplementedError(text);
    case proto::RetryClass::FAILED:
      break;
  }
  return AbortedError(text);
}

proto::RetryClass RetryClassFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kResourceExhausted:
      return proto::RetryClass::OVERLOADED;
    case StatusCode::kUnavailable:
      return proto::RetryClass::DISCONNECTED;
    case StatusCode::kUnimplemented:
      return proto::RetryClass::UNIMPLEMENTED;
    default:
      return proto::RetryClass::FAILED;
  }
}

}  // namespace lightrl
