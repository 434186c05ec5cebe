#include "actors/codec.h"

#include <capnp/any.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstring>

#include "core/logging.h"

namespace lightrl {
namespace {

// Segments smaller than this are copied into the frame; larger ones are lent zero-copy.
constexpr size_t kZeroCopyThresholdBytes = 16 * 1024;

using BuilderHandle = std::shared_ptr<capnp::MallocMessageBuilder>;

void ReleaseBuilder(void* /*data*/, void* hint) { delete static_cast<BuilderHandle*>(hint); }

template <typename T>
void FillPrimitiveList(typename capnp::List<T>::Builder list, std::span<const T> values) {
  static_assert(std::endian::native == std::endian::little);
  CHECK_EQ(list.size(), values.size());
  if (values.empty()) return;
  capnp::AnyList::Reader any(list.asReader());
  kj::ArrayPtr<const kj::byte> raw = any.getRawBytes();
  CHECK_EQ(raw.size(), values.size_bytes());
  std::memcpy(const_cast<kj::byte*>(raw.begin()), values.data(), values.size_bytes());
}

template <typename T>
void CopyPrimitiveList(typename capnp::List<T>::Reader list, std::vector<T>* out) {
  static_assert(std::endian::native == std::endian::little);
  out->resize(list.size());
  if (list.size() == 0) return;
  capnp::AnyList::Reader any(list);
  kj::ArrayPtr<const kj::byte> raw = any.getRawBytes();
  CHECK_EQ(raw.size(), out->size() * sizeof(T));
  std::memcpy(out->data(), raw.begin(), raw.size());
}

}  // namespace

std::string_view DecodeErrorName(DecodeError error) {
  switch (error) {
    case DecodeError::kNone:
      return "none";
    case DecodeError::kEmpty:
      return "empty";
    case DecodeError::kTruncated:
      return "truncated";
    case DecodeError::kOversized:
      return "oversized";
    case DecodeError::kGarbage:
      return "garbage";
    case DecodeError::kVersionMismatch:
      return "version_mismatch";
  }
  return "unknown";
}

OutgoingMessage::OutgoingMessage(size_t size_hint_bytes)
    : builder_(std::make_shared<capnp::MallocMessageBuilder>(
          static_cast<uint>(std::max<size_t>(size_hint_bytes / sizeof(capnp::word) + 16, 128)),
          capnp::AllocationStrategy::GROW_HEURISTICALLY)),
      envelope_(builder_->initRoot<proto::Envelope>()) {}

std::vector<zmq::message_t> OutgoingMessage::TakeFrames() {
  CHECK(builder_ != nullptr) << "OutgoingMessage already sent";
  std::vector<zmq::message_t> frames;
  for (kj::ArrayPtr<const capnp::word> segment : builder_->getSegmentsForOutput()) {
    const kj::byte* bytes = segment.asBytes().begin();
    size_t size = segment.asBytes().size();
    if (size < kZeroCopyThresholdBytes) {
      frames.emplace_back(bytes, size);
    } else {
      frames.emplace_back(const_cast<kj::byte*>(bytes), size, &ReleaseBuilder,
                          new BuilderHandle(builder_));
    }
  }
  builder_.reset();
  envelope_ = proto::Envelope::Builder(nullptr);
  return frames;
}

StatusOr<std::unique_ptr<IncomingMessage>> IncomingMessage::Decode(
    std::vector<zmq::message_t> frames, const CodecLimits& limits, DecodeError* error) {
  auto fail = [error](DecodeError reason, std::string message) {
    *error = reason;
    return InvalidArgumentError(std::string(DecodeErrorName(reason)) + " message: " + message);
  };
  *error = DecodeError::kNone;
  if (frames.empty()) return fail(DecodeError::kEmpty, "no frames");
  if (frames.size() > limits.max_segments) {
    return fail(DecodeError::kOversized, std::to_string(frames.size()) + " segments, limit " +
                                             std::to_string(limits.max_segments));
  }
  size_t total = 0;
  for (const zmq::message_t& frame : frames) total += frame.size();
  if (total > limits.max_message_bytes) {
    return fail(DecodeError::kOversized, std::to_string(total) + " bytes, limit " +
                                             std::to_string(limits.max_message_bytes));
  }
  for (const zmq::message_t& frame : frames) {
    if (frame.size() == 0 || frame.size() % sizeof(capnp::word) != 0) {
      return fail(DecodeError::kTruncated,
                  "a " + std::to_string(frame.size()) + "-byte segment is not whole words");
    }
  }

  std::unique_ptr<IncomingMessage> message(new IncomingMessage());
  message->byte_size_ = total;
  message->frames_ = std::move(frames);
  for (zmq::message_t& frame : message->frames_) {
    size_t words = frame.size() / sizeof(capnp::word);
    const void* data = frame.data();
    if (reinterpret_cast<uintptr_t>(data) % alignof(capnp::word) != 0) {
      auto copy = std::make_unique<capnp::word[]>(words);
      std::memcpy(copy.get(), data, frame.size());
      data = copy.get();
      message->aligned_copies_.push_back(std::move(copy));
    }
    message->segments_.emplace_back(static_cast<const capnp::word*>(data), words);
  }

  capnp::ReaderOptions options;
  // Validation traverses every word once and handlers read each at most a few times more;
  // the limit stops messages whose pointers alias the same data from amplifying work.
  options.traversalLimitInWords = 4 * (total / sizeof(capnp::word)) + 64;
  options.nestingLimit = limits.nesting_limit;
  try {
    message->reader_ = std::make_unique<capnp::SegmentArrayMessageReader>(
        kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(message->segments_.data(),
                                                            message->segments_.size()),
        options);
    message->envelope_ = message->reader_->getRoot<proto::Envelope>();
    message->envelope_.totalSize();  // Follows every pointer; throws on malformed structure.
  } catch (const kj::Exception& e) {
    return fail(DecodeError::kGarbage, e.getDescription().cStr());
  }
  uint32_t version = message->envelope_.getProtocolVersion();
  if (version != proto::PROTOCOL_VERSION) {
    *error = DecodeError::kVersionMismatch;
    return FailedPreconditionError("protocol version " + std::to_string(version) +
                                   " is not supported (this build speaks " +
                                   std::to_string(proto::PROTOCOL_VERSION) + ")");
  }
  return message;
}

void FillList(capnp::List<uint32_t>::Builder list, std::span<const uint32_t> values) {
  FillPrimitiveList<uint32_t>(list, values);
}
void FillList(capnp::List<float>::Builder list, std::span<const float> values) {
  FillPrimitiveList<float>(list, values);
}
void CopyList(capnp::List<uint32_t>::Reader list, std::vector<uint32_t>* out) {
  CopyPrimitiveList<uint32_t>(list, out);
}
void CopyList(capnp::List<float>::Reader list, std::vector<float>* out) {
  CopyPrimitiveList<float>(list, out);
}

std::string_view BodyKindName(uint16_t which) {
  using W = proto::Envelope::Body::Which;
  switch (static_cast<W>(which)) {
    case W::REGISTER:
      return "register";
    case W::REGISTERED:
      return "registered";
    case W::HEARTBEAT:
      return "heartbeat";
    case W::WORK_REQUEST:
      return "work_request";
    case W::ROLLOUT_REQUEST:
      return "rollout_request";
    case W::ROLLOUT:
      return "rollout";
    case W::REWARD_REQUEST:
      return "reward_request";
    case W::REWARD_RESULT:
      return "reward_result";
    case W::TRAIN_BATCH:
      return "train_batch";
    case W::WEIGHTS_ANNOUNCE:
      return "weights_announce";
    case W::WEIGHTS_CHUNK_REQUEST:
      return "weights_chunk_request";
    case W::WEIGHTS_CHUNK:
      return "weights_chunk";
    case W::ACK:
      return "ack";
    case W::ERROR:
      return "error";
    case W::SHUTDOWN:
      return "shutdown";
    case W::UNIMPLEMENTED:
      return "unimplemented";
    case W::ECHO:
      return "echo";
    case W::WEIGHTS_NCCL_PULL:
      return "weights_nccl_pull";
  }
  return "unknown";
}

}  // namespace lightrl
