// Messenger: typed messaging over one ZeroMQ socket, on an actor's EventLoop.
//
// It stamps outgoing envelopes (protocol version, sender id, increasing message id,
// correlation id, send time), decodes incoming frames through the codec, and dispatches:
//   1. a message whose correlationId names a pending Request() goes to that request's callback;
//   2. otherwise to the handler registered for its body kind;
//   3. a kind this build does not know, or knows but has no handler for, is answered with
//      `unimplemented` (never for ack/error/unimplemented themselves, to avoid loops);
//   4. a frame that fails to decode is answered with Error(failed) and counted by reason;
//   5. a kj::Exception thrown while a handler reads a message is caught, counted and answered
//      with Error(failed); the process keeps running.
// Every decoded message first goes to the OnAnyMessage observers (used for liveness), then
// through the admission check (used to turn away peers that have not registered).
//
// Requests: Request() calls its callback exactly once, with the reply, with DeadlineExceeded
// after the timeout, or with the send error. Error replies are turned into a Status whose code
// carries the retry class (see StatusFromError).
//
// Metrics (labels: socket=<name>): lightrl_messages_received_total{kind},
// lightrl_messages_sent_total{kind}, lightrl_bytes_received_total,
// lightrl_decode_errors_total{reason}, lightrl_handler_errors_total{kind},
// lightrl_send_failures_total{reason}, lightrl_request_timeouts_total.
//
// Thread-safety: none; everything runs on the owning actor's thread.
#ifndef LIGHTRL_ACTORS_MESSENGER_H_
#define LIGHTRL_ACTORS_MESSENGER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "actors/codec.h"
#include "actors/event_loop.h"
#include "actors/zmq_socket.h"
#include "core/metrics.h"
#include "core/status.h"

namespace lightrl {

using BodyKind = proto::Envelope::Body::Which;

struct MessengerConfig {
  std::string name;       // Label for metrics and logs, e.g. "coordinator".
  std::string sender_id;  // Written into every envelope.
  CodecLimits limits{};
  int max_messages_per_wakeup = 256;  // Fairness between sockets of one loop.
};

// Handlers see the message only for the duration of the call.
using MessageHandler = std::function<void(const IncomingMessage&)>;
using ReplyCallback = std::function<void(StatusOr<std::unique_ptr<IncomingMessage>>)>;

class Messenger {
 public:
  // Registers `socket` with `loop`. `metrics` may be null (no metrics). `loop` and `metrics`
  // must outlive the Messenger.
  Messenger(EventLoop* loop, std::unique_ptr<ZmqSocket> socket, MessengerConfig config,
            MetricsRegistry* metrics);
  ~Messenger();

  void Handle(BodyKind kind, MessageHandler handler);
  void OnAnyMessage(MessageHandler observer);
  // Runs after the observers and before dispatch; a non-OK result drops the message and answers
  // it with an Error of the matching retry class (e.g. Unavailable -> "disconnected: register
  // first"). Replies to pending requests bypass admission.
  void SetAdmission(std::function<Status(const IncomingMessage&)> admission);

  // Sends `message` to `peer` (router sockets; must be empty for dealers). Returns the message
  // id. Errors as ZmqSocket::Send; nothing is sent on error.
  StatusOr<uint64_t> Send(const std::string& peer, OutgoingMessage message,
                          uint64_t correlation_id = 0);
  // Sends `message` as the answer to `request`.
  StatusOr<uint64_t> Reply(const IncomingMessage& request, OutgoingMessage message);
  // Answers `request` with an Error of `retry_class`. Send failures are counted, not returned.
  void ReplyError(const IncomingMessage& request, proto::RetryClass retry_class,
                  const std::string& message);
  // Sends a request and arranges for `on_reply` (see the file comment).
  void Request(const std::string& peer, OutgoingMessage message, Millis timeout,
               ReplyCallback on_reply);
  // Fails every pending request to `peer` with `status` (e.g. when the peer is declared dead).
  void FailPendingRequests(const std::string& peer, const Status& status);

  ZmqSocket* socket() { return socket_.get(); }
  const std::string& sender_id() const { return config_.sender_id; }

 private:
  struct Pending {
    std::string peer;
    EventLoop::TimerId timer;
    ReplyCallback callback;
  };
  struct Counters;

  void OnReadable();
  void OnFrames(std::vector<zmq::message_t> frames);
  void Dispatch(std::unique_ptr<IncomingMessage> message);
  void SendErrorTo(const std::string& peer, uint64_t correlation_id, proto::RetryClass retry_class,
                   const std::string& text);

  EventLoop* loop_;
  std::unique_ptr<ZmqSocket> socket_;
  MessengerConfig config_;
  std::unique_ptr<MetricsRegistry> own_metrics_;  // Used when no registry is given.
  std::unique_ptr<Counters> counters_;
  std::map<BodyKind, MessageHandler> handlers_;
  std::vector<MessageHandler> observers_;
  std::function<Status(const IncomingMessage&)> admission_;
  std::unordered_map<uint64_t, Pending> pending_;
  uint64_t next_message_id_ = 1;
};

// The Status an Error reply stands for: overloaded -> ResourceExhausted, disconnected ->
// Unavailable, unimplemented -> Unimplemented, failed -> Aborted; the message is the peer's.
Status StatusFromError(proto::Error::Reader error);
// The retry class a local Status maps onto when it has to cross the wire.
proto::RetryClass RetryClassFor(const Status& status);

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_MESSENGER_H_
