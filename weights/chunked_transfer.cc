#include "weights/chunked_transfer.h"

#include <unistd.h>

#include <cstring>

#include "core/crc32c.h"
#include "core/logging.h"

namespace lightrl {
std::string AdvertisedEndpoint(const std::string& bound) {
  const std::string wildcard = "tcp://0.0.0.0:";
  if (bound.rfind(wildcard, 0) != 0) return bound;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return bound;
  return "tcp://" + std::string(host) + ":" + bound.substr(wildcard.size());
}

StatusOr<std::unique_ptr<WeightServer>> WeightServer::Create(zmq::context_t& context,
                                                             EventLoop* loop,
                                                             const WeightServerConfig& config,
                                                             MetricsRegistry* metrics) {
  CHECK(metrics != nullptr);
  if (config.keep_versions < 1) return InvalidArgumentError("keep_versions must be >= 1");
  ASSIGN_OR_RETURN(auto socket, ZmqSocket::Create(context, SocketKind::kRouter, SocketOptions()));
  ASSIGN_OR_RETURN(std::string endpoint, socket->Bind(config.bind_endpoint));
  endpoint = AdvertisedEndpoint(endpoint);
  MessengerConfig messenger_config;
  messenger_config.name = "weights";
  messenger_config.sender_id = config.sender_id;
  auto messenger = std::make_unique<Messenger>(loop, std::move(socket), messenger_config, metrics);
  return std::unique_ptr<WeightServer>(
      new WeightServer(config, std::move(endpoint), std::move(messenger), metrics));
}

WeightServer::WeightServer(WeightServerConfig config, std::string endpoint,
                           std::unique_ptr<Messenger> messenger, MetricsRegistry* metrics)
    : config_(std::move(config)), endpoint_(std::move(endpoint)), messenger_(std::move(messenger)) {
  chunks_served_ = metrics->GetCounter("lightrl_weight_chunks_served_total",
                                       "Weight chunks sent to rollout actors.");
  bytes_served_ = metrics->GetCounter("lightrl_weight_bytes_served_total",
                                      "Weight bytes sent to rollout actors.");
  messenger_->Handle(BodyKind::WEIGHTS_CHUNK_REQUEST,
                     [this](const IncomingMessage& m) { OnChunkRequest(m); });
  messenger_->Handle(BodyKind::WEIGHTS_NCCL_PULL,
                     [this](const IncomingMessage& m) { OnNcclPull(m); });
}

void WeightServer::OnNcclPull(const IncomingMessage& message) {
  if (!nccl_pulls_) {
    messenger_->ReplyError(message, proto::RetryClass::FAILED,
                           "this learner serves no NCCL pulls (its policy is not on a GPU, or "
                           "the build has no NCCL)");
    return;
  }
  auto pull = message.envelope().getBody().getWeightsNcclPull();
  auto id = pull.getNcclId();
  const std::string peer = message.peer();
  const uint64_t request_id = message.envelope().getMessageId();
  nccl_pulls_(pull.getVersion(), std::string(reinterpret_cast<const char*>(id.begin()), id.size()),
              pull.getReuse(), [this, peer, request_id](Status outcome) {
                OutgoingMessage reply;
                if (outcome.ok()) {
                  reply.envelope().getBody().initAck().setDetail("sent over NCCL");
                } else {
                  auto error = reply.envelope().getBody().initError();
                  error.setRetryClass(proto::RetryClass::FAILED);
                  error.setMessage(outcome.ToString());
                }
                // A reply that cannot be sent shows up there as a timeout.
                messenger_->Send(peer, std::move(reply), request_id).status().IgnoreError();
              });
}

Status WeightServer::Publish(WeightsImage image) {
  if (image.bytes != nullptr) image.checksum = Crc32c(image.bytes->data(), image.bytes->size());
  return PublishChecksummed(std::move(image));
}

Status WeightServer::PublishChecksummed(WeightsImage image) {
  if (image.bytes == nullptr) return InvalidArgumentError("weights image has no bytes");
  if (image.version <= latest_version()) {
    return InvalidArgumentError("version " + std::to_string(image.version) +
                                " is not above the latest " + std::to_string(latest_version()));
  }
  RETURN_IF_ERROR(ValidateLayout(image.tensors, image.bytes->size()));
  versions_.push_back(std::move(image));
  while (versions_.size() > static_cast<size_t>(config_.keep_versions)) versions_.pop_front();
  return Status::Ok();
}

Status WeightServer::FillAnnounce(uint64_t version,
                                  proto::WeightsAnnounce::Builder announce) const {
  auto it = std::find_if(versions_.begin(), versions_.end(),
                         [version](const WeightsImage& w) { return w.version == version; });
  if (it == versions_.end())
    return NotFoundError("version " + std::to_string(version) + " is not served");
  announce.setVersion(it->version);
  announce.setByteSize(it->bytes->size());
  announce.setChecksum(it->checksum);
  announce.setEndpoint(endpoint_);
  announce.setChunkBytes(config_.chunk_bytes);
  auto tensors = announce.initTensors(static_cast<uint>(it->tensors.size()));
  for (size_t i = 0; i < it->tensors.size(); ++i) {
    const TensorLayout& t = it->tensors[i];
    auto out = tensors[static_cast<uint>(i)];
    out.setName(t.name);
    out.setDtype(t.dtype);
    auto shape = out.initShape(static_cast<uint>(t.shape.size()));
    for (size_t d = 0; d < t.shape.size(); ++d) shape.set(static_cast<uint>(d), t.shape[d]);
    out.setOffset(t.offset);
    out.setByteSize(t.byte_size);
  }
  return Status::Ok();
}

void WeightServer::OnChunkRequest(const IncomingMessage& message) {
  auto request = message.envelope().getBody().getWeightsChunkRequest();
  uint64_t version = request.getVersion();
  auto it = std::find_if(versions_.begin(), versions_.end(),
                         [version](const WeightsImage& w) { return w.version == version; });
  if (it == versions_.end()) {
    messenger_->ReplyError(message, proto::RetryClass::FAILED,
                           "version " + std::to_string(version) + " is no longer served (latest " +
                               std::to_string(latest_version()) + ")");
    return;
  }
  uint64_t offset = request.getOffset();
  uint64_t length = request.getLength();
  uint64_t size = it->bytes->size();
  if (length == 0 || length > config_.max_chunk_bytes || offset > size || length > size - offset) {
    messenger_->ReplyError(message, proto::RetryClass::FAILED,
                           "bad chunk [" + std::to_string(offset) + ", +" + std::to_string(length) +
                               ") of a " + std::to_string(size) + "-byte image");
    return;
  }
  const uint8_t* data = it->bytes->data() + offset;
  OutgoingMessage reply(length + 256);
  auto chunk = reply.envelope().getBody().initWeightsChunk();
  chunk.setVersion(version);
  chunk.setOffset(offset);
  chunk.setData(kj::arrayPtr(data, length));
  chunk.setChecksum(Crc32c(data, length));
  if (messenger_->Reply(message, std::move(reply)).ok()) {
    chunks_served_->Increment();
    bytes_served_->Increment(static_cast<double>(length));
  }
}

struct WeightFetcher::Job {
  uint64_t serial;
  WeightsImage image;
  std::vector<uint8_t> buffer;
  uint64_t chunk_bytes;
  uint64_t next_offset = 0;
  uint64_t received = 0;
  int in_flight = 0;
  Clock::time_point started;
  Done done;
};

WeightFetcher::WeightFetcher(zmq::context_t& context, EventLoop* loop, WeightFetcherConfig config,
                             MetricsRegistry* metrics)
    : context_(context), loop_(loop), config_(std::move(config)), metrics_(metrics) {
  CHECK(metrics != nullptr);
  bad_chunks_ = metrics->GetCounter("lightrl_weight_bad_chunks_total",
                                    "Weight chunks rejected for a wrong checksum or range.");
  fetch_seconds_ = metrics->GetHistogram("lightrl_weight_fetch_seconds",
                                         "Time to pull and verify one policy version.",
                                         ExponentialBuckets(0.001, 2, 16));
}

WeightFetcher::~WeightFetcher() = default;

Status WeightFetcher::Connect(const std::string& endpoint) {
  if (messenger_ != nullptr && endpoint == connected_endpoint_) return Status::Ok();
  messenger_.reset();
  SocketOptions options;
  options.routing_id = config_.sender_id;
  options.immediate = false;  // Requests wait for the connection instead of failing.
  ASSIGN_OR_RETURN(auto socket, ZmqSocket::Create(context_, SocketKind::kDealer, options));
  RETURN_IF_ERROR(socket->Connect(endpoint));
  MessengerConfig messenger_config;
  messenger_config.name = "weights_fetch";
  messenger_config.sender_id = config_.sender_id;
  messenger_config.limits = config_.limits;
  messenger_ = std::make_unique<Messenger>(loop_, std::move(socket), messenger_config, metrics_);
  connected_endpoint_ = endpoint;
  return Status::Ok();
}

void WeightFetcher::RequestNcclPull(proto::WeightsAnnounce::Reader announce,
                                    const std::string& nccl_id, bool reuse,
                                    std::chrono::milliseconds timeout,
                                    std::function<void(Status)> done) {
  Status connected = Connect(announce.getEndpoint());
  if (!connected.ok()) {
    done(connected);
    return;
  }
  OutgoingMessage request;
  auto pull = request.envelope().getBody().initWeightsNcclPull();
  pull.setVersion(announce.getVersion());
  pull.setNcclId(kj::arrayPtr(reinterpret_cast<const kj::byte*>(nccl_id.data()), nccl_id.size()));
  pull.setReuse(reuse);
  messenger_->Request("", std::move(request), Millis(timeout.count()),
                      [done = std::move(done)](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                        done(reply.status());
                      });
}

void WeightFetcher::Fetch(proto::WeightsAnnounce::Reader announce, Done done) {
  if (job_ != nullptr) {
    if (announce.getVersion() <= job_->image.version) {
      done(CancelledError("version " + std::to_string(announce.getVersion()) +
                          " is not newer than the fetch in progress"));
      return;
    }
    Finish(CancelledError("superseded by version " + std::to_string(announce.getVersion())));
  }
  auto job = std::make_unique<Job>();
  job->serial = ++job_serial_;
  job->image.version = announce.getVersion();
  job->image.checksum = announce.getChecksum();
  for (auto t : announce.getTensors()) {
    TensorLayout layout;
    layout.name = t.getName().cStr();
    layout.dtype = t.getDtype();
    for (uint64_t d : t.getShape()) layout.shape.push_back(d);
    layout.offset = t.getOffset();
    layout.byte_size = t.getByteSize();
    job->image.tensors.push_back(std::move(layout));
  }
  job->chunk_bytes = std::clamp<uint64_t>(announce.getChunkBytes(), 4096, 16u << 20);
  uint64_t size = announce.getByteSize();
  Status valid = size == 0 ? InvalidArgumentError("announce of an empty image")
                           : ValidateLayout(job->image.tensors, size);
  if (valid.ok() && size > config_.max_image_bytes) {
    valid = InvalidArgumentError("announced image of " + std::to_string(size) +
                                 " bytes exceeds the limit of " +
                                 std::to_string(config_.max_image_bytes));
  }
  if (valid.ok()) valid = Connect(announce.getEndpoint().cStr());
  if (!valid.ok()) {
    done(valid.WithContext("weights version " + std::to_string(job->image.version)));
    return;
  }
  job->buffer.resize(size);
  job->started = Clock::now();
  job->done = std::move(done);
  job_ = std::move(job);
  Pump();
}

void WeightFetcher::Pump() {
  Job& job = *job_;
  uint64_t size = job.buffer.size();
  while (job.in_flight < config_.window && job.next_offset < size) {
    uint64_t offset = job.next_offset;
    uint32_t length = static_cast<uint32_t>(std::min(job.chunk_bytes, size - offset));
    job.next_offset += length;
    ++job.in_flight;
    RequestChunk(offset, length, 0);
  }
}

void WeightFetcher::RequestChunk(uint64_t offset, uint32_t length, int attempt) {
  uint64_t serial = job_->serial;
  OutgoingMessage request;
  auto r = request.envelope().getBody().initWeightsChunkRequest();
  r.setVersion(job_->image.version);
  r.setOffset(offset);
  r.setLength(length);
  messenger_->Request(
      "", std::move(request), Millis(config_.request_timeout_ms),
      [this, serial, offset, length, attempt](StatusOr<std::unique_ptr<IncomingMessage>> outcome) {
        if (job_ == nullptr || job_->serial != serial) return;  // Superseded.
        OnChunk(offset, length, attempt, std::move(outcome));
      });
}

Status WeightFetcher::AcceptChunk(uint64_t offset, uint32_t length,
                                  const StatusOr<std::unique_ptr<IncomingMessage>>& reply) {
  if (!reply.ok()) return reply.status();
  auto body = (*reply)->envelope().getBody();
  if (body.which() != BodyKind::WEIGHTS_CHUNK) {
    return InternalError("unexpected answer to a chunk request");
  }
  auto chunk = body.getWeightsChunk();
  auto data = chunk.getData();
  if (chunk.getVersion() != job_->image.version || chunk.getOffset() != offset ||
      data.size() != length || Crc32c(data.begin(), data.size()) != chunk.getChecksum()) {
    bad_chunks_->Increment();
    return DataLossError("chunk at offset " + std::to_string(offset) +
                         " failed its checksum or range check");
  }
  std::memcpy(job_->buffer.data() + offset, data.begin(), length);
  return Status::Ok();
}

void WeightFetcher::OnChunk(uint64_t offset, uint32_t length, int attempt,
                            StatusOr<std::unique_ptr<IncomingMessage>> reply) {
  Job& job = *job_;
  Status accepted = AcceptChunk(offset, length, reply);
  if (accepted.code() == StatusCode::kAborted) {
    // The server answered Error(failed): it no longer has this version.
    Finish(FailedPreconditionError(std::string(accepted.message())));
    return;
  }
  if (!accepted.ok()) {
    if (attempt >= config_.max_retries) {
      Finish(AbortedError("weights version " + std::to_string(job.image.version) + ": chunk at " +
                          std::to_string(offset) + " failed " + std::to_string(attempt + 1) +
                          " times: " + accepted.ToString()));
      return;
    }
    LOG(WARNING) << "weights chunk at " << offset << ": " << accepted << "; asking again";
    RequestChunk(offset, length, attempt + 1);
    return;
  }
  job.received += length;
  --job.in_flight;
  if (job.received < job.buffer.size()) {
    Pump();
    return;
  }
  if (Crc32c(job.buffer.data(), job.buffer.size()) != job.image.checksum) {
    Finish(DataLossError("weights version " + std::to_string(job.image.version) +
                         ": the assembled image fails its checksum"));
    return;
  }
  job.image.bytes = std::make_shared<const std::vector<uint8_t>>(std::move(job.buffer));
  fetch_seconds_->Observe(std::chrono::duration<double>(Clock::now() - job.started).count());
  Finish(std::move(job.image));
}

void WeightFetcher::Finish(StatusOr<WeightsImage> result) {
  std::unique_ptr<Job> job = std::move(job_);
  job->done(std::move(result));
}

}  // namespace lightrl
