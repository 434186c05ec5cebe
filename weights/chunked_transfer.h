// Weight transfer over ZeroMQ: the learner serves each policy version as one flat byte image
// (every tensor at an offset, with a layout), and rollout actors pull it in chunks.
//
//   WeightServer (learner side): keeps the last `keep_versions` images, fills WeightsAnnounce
//   messages, and answers WeightsChunkRequest with WeightsChunk (data + CRC32C). A request for a
//   version no longer kept, or a range outside the image, is answered Error(failed).
//
//   NCCL pulls (both on GPUs of one host): a rollout actor may instead send WeightsNcclPull;
//   the server hands it to the handler the learner installed (ServeNcclPulls), which moves
//   the version GPU to GPU and then answers, Ack or Error; without a handler the pull is
//   answered Error(failed). The fetcher's RequestNcclPull is the rollout side's half.
//
//   WeightFetcher (rollout side): given an announce, requests chunks with up to `window`
//   requests in flight, verifies each chunk's CRC32C (a bad chunk is requested again, up to
//   `max_retries` times) and the whole image's CRC32C before handing it over. A fetch for a
//   newer version cancels an older one in progress (its callback gets Cancelled).
//
// Thread-safety: none; each lives on its owning actor's loop.
#ifndef LIGHTRL_WEIGHTS_CHUNKED_TRANSFER_H_
#define LIGHTRL_WEIGHTS_CHUNKED_TRANSFER_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/messenger.h"
#include "weights/image.h"

namespace lightrl {

// What peers on other hosts can connect to: a tcp endpoint bound on every interface
// (tcp://0.0.0.0:port) is advertised under this host's name; others are returned unchanged.
std::string AdvertisedEndpoint(const std::string& bound);

struct WeightServerConfig {
  std::string bind_endpoint = "tcp://127.0.0.1:0";
  std::string sender_id = "learner-weights";
  int keep_versions = 3;
  uint32_t chunk_bytes = 1u << 20;
  uint32_t max_chunk_bytes = 16u << 20;
};

class WeightServer {
 public:
  // Binds `config.bind_endpoint`. `loop` and `metrics` must outlive the server.
  static StatusOr<std::unique_ptr<WeightServer>> Create(zmq::context_t& context, EventLoop* loop,
                                                        const WeightServerConfig& config,
                                                        MetricsRegistry* metrics);

  // Makes `image` servable (computing its checksum) and forgets versions beyond keep_versions.
  // Errors: InvalidArgument for a bad layout or a version not above the latest.
  Status Publish(WeightsImage image);
  // Publish for an image whose checksum the caller computed off the loop (image.checksum
  // must be the CRC32C of *image.bytes: with a wrong one every pull fails its final check).
  Status PublishChecksummed(WeightsImage image);
  // Writes the announce of `version` (must be servable). Errors: NotFound.
  Status FillAnnounce(uint64_t version, proto::WeightsAnnounce::Builder announce) const;

  // Serves WeightsNcclPull: handler(version, nccl_id, reuse, reply) runs on the loop and
  // must call reply exactly once, on the loop, with the transfer's outcome (Ok is answered
  // Ack). reuse: the communicator nccl_id was joined by an earlier pull.
  using NcclReply = std::function<void(Status)>;
  using NcclPullHandler = std::function<void(uint64_t version, const std::string& nccl_id,
                                             bool reuse, NcclReply reply)>;
  void ServeNcclPulls(NcclPullHandler handler) { nccl_pulls_ = std::move(handler); }

  // The advertised endpoint (see AdvertisedEndpoint).
  const std::string& endpoint() const { return endpoint_; }
  uint64_t latest_version() const { return versions_.empty() ? 0 : versions_.back().version; }

 private:
  WeightServer(WeightServerConfig config, std::string endpoint,
               std::unique_ptr<Messenger> messenger, MetricsRegistry* metrics);
  void OnChunkRequest(const IncomingMessage& message);
  void OnNcclPull(const IncomingMessage& message);

  WeightServerConfig config_;
  NcclPullHandler nccl_pulls_;
  std::string endpoint_;
  std::unique_ptr<Messenger> messenger_;
  std::deque<WeightsImage> versions_;  // Oldest first.
  Counter* chunks_served_;
  Counter* bytes_served_;
};

struct WeightFetcherConfig {
  std::string sender_id;
  int window = 4;       // Chunk requests in flight.
  int max_retries = 3;  // Per chunk, after a bad checksum or a timeout.
  int request_timeout_ms = 10000;
  uint64_t max_image_bytes = uint64_t{64} << 30;  // Larger announces are refused.
  CodecLimits limits;
};

class WeightFetcher {
 public:
  using Done = std::function<void(StatusOr<WeightsImage>)>;

  WeightFetcher(zmq::context_t& context, EventLoop* loop, WeightFetcherConfig config,
                MetricsRegistry* metrics);
  ~WeightFetcher();

  // Starts pulling the version described by `announce`; `done` runs once with the verified
  // image or the error (Aborted after too many bad chunks, FailedPrecondition when the server
  // no longer has the version, InvalidArgument for a malformed announce, DataLoss when the
  // whole image's checksum is wrong, Cancelled when superseded).
  void Fetch(proto::WeightsAnnounce::Reader announce, Done done);
  bool busy() const { return job_ != nullptr; }
  // Asks the server of `announce` to send its version over NCCL into the communicator
  // `nccl_id` (this side is its rank 1, elsewhere; reuse: the server joined it on an earlier
  // pull, else it joins it now); `done` runs once, on the loop, with
  // Ok when the server answers that the send completed, or the error (the server's,
  // DeadlineExceeded after `timeout`, Unavailable when it cannot be reached).
  void RequestNcclPull(proto::WeightsAnnounce::Reader announce, const std::string& nccl_id,
                       bool reuse, std::chrono::milliseconds timeout,
                       std::function<void(Status)> done);

 private:
  struct Job;
  void Pump();
  void RequestChunk(uint64_t offset, uint32_t length, int attempt);
  // Verifies a chunk reply and copies it into the image. Errors: the reply's own, DataLoss for
  // a checksum or range mismatch.
  Status AcceptChunk(uint64_t offset, uint32_t length,
                     const StatusOr<std::unique_ptr<IncomingMessage>>& reply);
  void OnChunk(uint64_t offset, uint32_t length, int attempt,
               StatusOr<std::unique_ptr<IncomingMessage>> reply);
  void Finish(StatusOr<WeightsImage> result);
  Status Connect(const std::string& endpoint);

  zmq::context_t& context_;
  EventLoop* loop_;
  WeightFetcherConfig config_;
  MetricsRegistry* metrics_;
  std::string connected_endpoint_;
  std::unique_ptr<Messenger> messenger_;
  std::unique_ptr<Job> job_;
  uint64_t job_serial_ = 0;
  Counter* bad_chunks_;
  Histogram* fetch_seconds_;
};

}  // namespace lightrl

#endif  // LIGHTRL_WEIGHTS_CHUNKED_TRANSFER_H_
