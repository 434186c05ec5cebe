// The codec: Cap'n Proto Envelopes <-> ZeroMQ frames. The one adapter through which every
// message enters and leaves a process; no kj::Exception escapes it.
//
// Wire layout: one ZeroMQ multipart message per Envelope, one frame per Cap'n Proto segment
// (the segment table is implied by the frame sizes). Large segments are sent without copying:
// the frames borrow the builder's memory and free it when ZeroMQ is done with them.
//
// Decoding checks, in order, and reports each failure as a distinct DecodeError:
//   frame count in [1, max_segments], every frame a whole number of 8-byte words (truncated),
//   total size <= max_message_bytes (oversized), then a full structural traversal of the
//   message under a traversal limit and nesting limit (garbage), then the protocol version.
// Frames that are not 8-byte aligned in memory (ZeroMQ stores small frames inline) are copied
// into aligned storage first.
#ifndef LIGHTRL_ACTORS_CODEC_H_
#define LIGHTRL_ACTORS_CODEC_H_

#include <capnp/message.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "core/status.h"
#include "proto/lightrl.capnp.h"

namespace lightrl {

struct CodecLimits {
  size_t max_message_bytes = 256u << 20;  // Larger messages are rejected as oversized.
  size_t max_segments = 512;
  int nesting_limit = 32;
};

// Why a frame was rejected; exported as the `reason` label of the decode-error counter.
enum class DecodeError { kNone, kEmpty, kTruncated, kOversized, kGarbage, kVersionMismatch };
std::string_view DecodeErrorName(DecodeError error);

// A message being built. Not thread-safe; moved into the send call, which consumes it.
class OutgoingMessage {
 public:
  // `size_hint_bytes` sizes the first segment so large messages need few segments.
  explicit OutgoingMessage(size_t size_hint_bytes = 1024);
  OutgoingMessage(OutgoingMessage&&) = default;
  OutgoingMessage& operator=(OutgoingMessage&&) = default;

  proto::Envelope::Builder envelope() { return envelope_; }

  // Converts into frames, leaving this object empty. Segments above a small threshold are
  // sent zero-copy and keep the builder alive until ZeroMQ releases them.
  std::vector<zmq::message_t> TakeFrames();

 private:
  std::shared_ptr<capnp::MallocMessageBuilder> builder_;
  proto::Envelope::Builder envelope_;
};

// A received, validated message. Owns its frames. Reading fields may still throw
// kj::Exception (e.g. a Text without its NUL); the Messenger catches those around handlers.
class IncomingMessage {
 public:
  // Validates `frames` (see the file comment). On failure returns InvalidArgument (or
  // FailedPrecondition for a version mismatch) and sets *error to the reason.
  static StatusOr<std::unique_ptr<IncomingMessage>> Decode(std::vector<zmq::message_t> frames,
                                                           const CodecLimits& limits,
                                                           DecodeError* error);

  proto::Envelope::Reader envelope() const { return envelope_; }
  // Total bytes of the segments.
  size_t byte_size() const { return byte_size_; }

  // For ROUTER sockets: the routing id of the peer that sent it.
  const std::string& peer() const { return peer_; }
  void set_peer(std::string peer) { peer_ = std::move(peer); }

 private:
  IncomingMessage() = default;

  std::vector<zmq::message_t> frames_;
  std::vector<std::unique_ptr<capnp::word[]>> aligned_copies_;
  std::vector<kj::ArrayPtr<const capnp::word>> segments_;
  std::unique_ptr<capnp::SegmentArrayMessageReader> reader_;
  proto::Envelope::Reader envelope_;
  size_t byte_size_ = 0;
  std::string peer_;
};

// Bulk copies between C++ spans and Cap'n Proto primitive lists (little-endian hosts only,
// which is every host lightrl supports). Much faster than element-wise set()/get().
void FillList(capnp::List<uint32_t>::Builder list, std::span<const uint32_t> values);
void FillList(capnp::List<float>::Builder list, std::span<const float> values);
void CopyList(capnp::List<uint32_t>::Reader list, std::vector<uint32_t>* out);
void CopyList(capnp::List<float>::Reader list, std::vector<float>* out);

// The kind name of a body discriminant ("rollout", "heartbeat", ...), or "unknown".
std::string_view BodyKindName(uint16_t which);

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_CODEC_H_
