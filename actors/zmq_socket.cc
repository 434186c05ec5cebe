#include "actors/zmq_socket.h"

#include "core/logging.h"

namespace lightrl {
namespace {

Status FromZmqError(const zmq::error_t& e, const std::string& what) {
  switch (e.num()) {
    case EAGAIN:
      return ResourceExhaustedError(what + ": queue full");
    case EHOSTUNREACH:
      return UnavailableError(what + ": peer not connected");
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
      return InvalidArgumentError(what + ": " + e.what());
    case EADDRINUSE:
    case EADDRNOTAVAIL:
    case ENODEV:
      return UnavailableError(what + ": " + e.what());
    default:
      return InternalError(what + ": " + e.what());
  }
}

}  // namespace

StatusOr<std::unique_ptr<ZmqSocket>> ZmqSocket::Create(zmq::context_t& context, SocketKind kind,
                                                       const SocketOptions& options) {
  try {
    zmq::socket_t socket(
        context, kind == SocketKind::kRouter ? zmq::socket_type::router : zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, options.linger_ms);
    socket.set(zmq::sockopt::sndhwm, options.send_high_water_mark);
    socket.set(zmq::sockopt::rcvhwm, options.receive_high_water_mark);
    socket.set(zmq::sockopt::maxmsgsize, options.max_frame_bytes);
    socket.set(zmq::sockopt::reconnect_ivl, options.reconnect_interval_ms);
    socket.set(zmq::sockopt::reconnect_ivl_max, options.reconnect_interval_max_ms);
    socket.set(zmq::sockopt::tcp_keepalive, 1);
    if (kind == SocketKind::kRouter) {
      socket.set(zmq::sockopt::router_mandatory, 1);
      socket.set(zmq::sockopt::router_handover, options.router_handover ? 1 : 0);
    } else {
      if (!options.routing_id.empty()) socket.set(zmq::sockopt::routing_id, options.routing_id);
      socket.set(zmq::sockopt::immediate, options.immediate ? 1 : 0);
    }
    return std::unique_ptr<ZmqSocket>(new ZmqSocket(std::move(socket), kind));
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "create socket");
  }
}

StatusOr<std::string> ZmqSocket::Bind(const std::string& endpoint) {
  try {
    socket_.bind(endpoint);
    return socket_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "bind " + endpoint);
  }
}

Status ZmqSocket::Connect(const std::string& endpoint) {
  try {
    socket_.connect(endpoint);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "connect " + endpoint);
  }
}

Status ZmqSocket::SendFrames(const std::string* routing_id, std::vector<zmq::message_t>* frames) {
  CHECK(!frames->empty());
  try {
    // ZeroMQ applies the high-water mark to the first part of a multipart message only, and a
    // refused part stays with the caller; so a refusal can only happen on the first part,
    // before anything was queued.
    if (routing_id != nullptr) {
      zmq::message_t id(routing_id->data(), routing_id->size());
      if (!socket_.send(id, zmq::send_flags::dontwait | zmq::send_flags::sndmore)) {
        return ResourceExhaustedError("send: queue full");
      }
    }
    for (size_t i = 0; i < frames->size(); ++i) {
      zmq::send_flags flags = zmq::send_flags::dontwait;
      if (i + 1 < frames->size()) flags = flags | zmq::send_flags::sndmore;
      if (!socket_.send((*frames)[i], flags)) {
        CHECK(i == 0 && routing_id == nullptr) << "ZeroMQ refused a later part of a message";
        return ResourceExhaustedError("send: queue full");
      }
    }
    frames->clear();
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "send");
  }
}

Status ZmqSocket::Send(std::vector<zmq::message_t>* frames) {
  CHECK(kind_ == SocketKind::kDealer) << "routers send with SendTo";
  return SendFrames(nullptr, frames);
}

Status ZmqSocket::SendTo(const std::string& routing_id, std::vector<zmq::message_t>* frames) {
  CHECK(kind_ == SocketKind::kRouter) << "dealers send with Send";
  return SendFrames(&routing_id, frames);
}

StatusOr<bool> ZmqSocket::Receive(std::vector<zmq::message_t>* frames) {
  frames->clear();
  try {
    zmq::message_t part;
    if (!socket_.recv(part, zmq::recv_flags::dontwait)) return false;
    bool more = part.more();
    frames->push_back(std::move(part));
    // The remaining parts of a multipart message are already here (delivery is atomic).
    while (more) {
      zmq::message_t next;
      if (!socket_.recv(next, zmq::recv_flags::none)) break;
      more = next.more();
      frames->push_back(std::move(next));
    }
    return true;
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "receive");
  }
}

}  // namespace lightrl
