#include "weights/publisher.h"

#include "core/logging.h"
#if LIGHTRL_WITH_NCCL
#include "weights/nccl_weights.h"
#endif

namespace lightrl {

StatusOr<std::unique_ptr<WeightPublisher>> WeightPublisher::Create(
    zmq::context_t& context, EventLoop* loop, RunOnLoop run_on_loop, model::Policy* policy,
    uint64_t version, const WeightPublisherConfig& config, MetricsRegistry* metrics,
    std::function<void(uint64_t)> on_published) {
  std::unique_ptr<WeightPublisher> publisher(
      new WeightPublisher(std::move(run_on_loop), std::move(on_published), metrics));
  WeightPublisher* self = publisher.get();
  ASSIGN_OR_RETURN(self->server_, WeightServer::Create(context, loop, config.server, metrics));
  ASSIGN_OR_RETURN(self->snapshots_, WeightSnapshots::Create(policy, config.staging_bytes));
  // In steady state the server lets go of one image per version published, and the next
  // image reuses its buffer.
  self->buffers_ = std::make_unique<ImageBuffers>(self->snapshots_->bytes(), 2);
  self->layout_ = WeightsLayout(policy->params());
#if LIGHTRL_WITH_NCCL
  if (policy->weights_model() != nullptr) {
    ASSIGN_OR_RETURN(self->nccl_, NcclWeightSource::Create(policy, config.nccl_timeout));
    self->nccl_->Capture(version);
    self->server_->ServeNcclPulls(
        [self](uint64_t pulled, const std::string& id, bool reuse, WeightServer::NcclReply reply) {
          self->nccl_->Serve(pulled, id, reuse, [self, reply = std::move(reply)](Status sent) {
            self->run_on_loop_([reply, sent] { reply(sent); });  // The answer goes out on the loop.
          });
        });
  }
#endif
  RETURN_IF_ERROR(self->server_->Publish(ExportWeights(policy->params(), version)));
  self->thread_ = std::thread([self, version] { self->PublishLoop(version); });
  return publisher;
}

WeightPublisher::WeightPublisher(RunOnLoop run_on_loop, std::function<void(uint64_t)> on_published,
                                 MetricsRegistry* metrics)
    : run_on_loop_(std::move(run_on_loop)), on_published_(std::move(on_published)) {
  skipped_ = metrics->GetCounter(
      "lightrl_learner_versions_skipped_total",
      "Versions never published: a newer one was captured before their image was made.");
  publish_seconds_ = metrics->GetGauge(
      "lightrl_learner_publish_seconds",
      "Time to turn the last published version into a host image with its checksum.");
}

WeightPublisher::~WeightPublisher() {
  if (snapshots_ != nullptr) snapshots_->Stop();
  if (thread_.joinable()) thread_.join();
  nccl_.reset();  // Its last answers find the loop gone.
  server_.reset();
}

void WeightPublisher::Capture(uint64_t version) {
#if LIGHTRL_WITH_NCCL
  if (nccl_ != nullptr) nccl_->Capture(version);
#endif
  snapshots_->Capture(version);
}

Status WeightPublisher::FillAnnounce(proto::WeightsAnnounce::Builder announce) const {
  return server_->FillAnnounce(server_->latest_version(), announce);
}

void WeightPublisher::PublishLoop(uint64_t published) {
  while (true) {
    std::shared_ptr<std::vector<uint8_t>> buffer = buffers_->Acquire();
    std::optional<WeightSnapshots::Snapshot> snapshot =
        snapshots_->ReadNewest(published, buffer->data());
    if (!snapshot) return;
    publish_seconds_->Set(snapshot->copy_seconds);
    skipped_->Increment(static_cast<double>(snapshot->version - published - 1));
    published = snapshot->version;
    WeightsImage image;
    image.version = snapshot->version;
    image.tensors = layout_;
    image.bytes = std::move(buffer);
    image.checksum = snapshot->checksum;
    run_on_loop_([this, image = std::move(image)]() mutable { Serve(std::move(image)); });
  }
}

void WeightPublisher::Serve(WeightsImage image) {
  const uint64_t version = image.version;
  Status served = server_->PublishChecksummed(std::move(image));
  if (!served.ok()) {
    LOG(ERROR) << "cannot publish weights version " << version << ": " << served;
    return;
  }
  on_published_(version);
}

}  // namespace lightrl
