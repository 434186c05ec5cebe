// The ZeroMQ adapter: a socket with Status results. cppzmq exceptions never leave this file.
//
// Socket kinds and their full-queue behaviour (what happens at the high-water mark):
//   kRouter (servers; addressed by peer routing id): a send to a full or unknown peer fails at
//     once with ResourceExhausted / Unavailable (ROUTER_MANDATORY), nothing is dropped silently.
//   kDealer (clients): a send when the outgoing queue is full fails with ResourceExhausted.
// All sends are non-blocking; callers back off or keep the message in their own bounded queue.
// Linger is 1 s by default: closing a socket waits that long at most for queued messages.
//
// Thread-safety: a ZmqSocket must be used only by the thread that owns it (the actor's thread).
#ifndef LIGHTRL_ACTORS_ZMQ_SOCKET_H_
#define LIGHTRL_ACTORS_ZMQ_SOCKET_H_

#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "core/status.h"

namespace lightrl {

enum class SocketKind { kRouter, kDealer };

struct SocketOptions {
  int send_high_water_mark = 1000;  // Messages queued per peer before sends fail.
  int receive_high_water_mark = 1000;
  std::string routing_id;               // Dealer: the id the ROUTER peer sees (empty = random).
  int64_t max_frame_bytes = 1LL << 30;  // Hard cap: a larger frame disconnects the peer.
  int linger_ms = 1000;                 // On close, time allowed to flush messages already queued.
  int reconnect_interval_ms = 100;
  int reconnect_interval_max_ms = 2000;
  bool router_handover = true;  // Router: a reconnecting peer with the same id takes over.
  // Dealer: queue messages only on completed connections, so a send while the peer is away
  // fails (ResourceExhausted) instead of queueing stale requests for later delivery.
  bool immediate = true;
};

class ZmqSocket {
 public:
  // Errors: Internal when ZeroMQ refuses the socket or an option.
  static StatusOr<std::unique_ptr<ZmqSocket>> Create(zmq::context_t& context, SocketKind kind,
                                                     const SocketOptions& options);

  // Binds `endpoint` (tcp://host:port, tcp://host:0 or tcp://*:* for a free port, ipc://path,
  // inproc://name) and returns the endpoint actually bound. Errors: Unavailable.
  StatusOr<std::string> Bind(const std::string& endpoint);
  // Errors: InvalidArgument for a malformed endpoint.
  Status Connect(const std::string& endpoint);

  // Dealer: sends `*frames` as one multipart message. Router: use SendTo.
  // Errors: ResourceExhausted when the queue is full, Unavailable when the peer is unknown
  // (router), Internal otherwise. Never blocks. On success the frames were handed to ZeroMQ
  // (*frames is left empty); on error nothing was sent and *frames is unchanged, so the
  // caller may retry with it.
  Status Send(std::vector<zmq::message_t>* frames);
  Status SendTo(const std::string& routing_id, std::vector<zmq::message_t>* frames);

  // Receives one whole multipart message if one is waiting: returns true and fills *frames
  // (for a router the first frame is the peer's routing id). Returns false when nothing is
  // waiting. Never blocks.
  StatusOr<bool> Receive(std::vector<zmq::message_t>* frames);

  SocketKind kind() const { return kind_; }
  // For zmq_poll.
  void* handle() { return socket_.handle(); }

 private:
  ZmqSocket(zmq::socket_t socket, SocketKind kind) : socket_(std::move(socket)), kind_(kind) {}
  // Sends frames[first..] plus, when `routing_id` is given, that id as a first part.
  Status SendFrames(const std::string* routing_id, std::vector<zmq::message_t>* frames);

  zmq::socket_t socket_;
  SocketKind kind_;
};

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_ZMQ_SOCKET_H_
