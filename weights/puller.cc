#include "weights/puller.h"

#include <optional>

#include "core/logging.h"
#if LIGHTRL_WITH_NCCL
#include "weights/nccl_weights.h"
#endif

namespace lightrl {

// An NCCL pull in progress: its announce (kept for the chunked fallback) and the outcomes of
// its two halves, the receive and the learner's answer.
struct WeightPuller::NcclPull {
  std::unique_ptr<capnp::MallocMessageBuilder> announce;
  std::optional<Status> received, acknowledged;

  proto::WeightsAnnounce::Reader reader() {
    return announce->getRoot<proto::WeightsAnnounce>().asReader();
  }
};

namespace {

std::unique_ptr<capnp::MallocMessageBuilder> CopyAnnounce(proto::WeightsAnnounce::Reader announce) {
  auto copy = std::make_unique<capnp::MallocMessageBuilder>();
  copy->setRoot(announce);
  return copy;
}

uint64_t VersionOf(capnp::MallocMessageBuilder& announce) {
  return announce.getRoot<proto::WeightsAnnounce>().getVersion();
}

// The announce's tensors as a parameter-arena byte layout.
[[maybe_unused]] std::vector<model::ByteLayoutEntry> AnnouncedLayout(
    proto::WeightsAnnounce::Reader announce) {
  std::vector<model::ByteLayoutEntry> layout;
  for (auto t : announce.getTensors()) {
    std::vector<int64_t> shape;
    for (uint64_t d : t.getShape()) shape.push_back(static_cast<int64_t>(d));
    layout.push_back({t.getName().cStr(), "F32", std::move(shape), t.getOffset(), t.getByteSize()});
  }
  return layout;
}

}  // namespace

StatusOr<std::unique_ptr<WeightPuller>> WeightPuller::Create(
    zmq::context_t& context, EventLoop* loop, RunOnLoop run_on_loop, model::Policy* policy,
    const WeightPullerConfig& config, MetricsRegistry* metrics, PullDone on_pull_done) {
  std::unique_ptr<WeightPuller> puller(
      new WeightPuller(std::move(run_on_loop), policy, config, metrics, std::move(on_pull_done)));
  if (config.nccl) {
#if LIGHTRL_WITH_NCCL
    ASSIGN_OR_RETURN(puller->nccl_sink_, NcclWeightSink::Create(policy));
    puller->byte_layout_ = policy->params().ByteLayout();
#else
    return FailedPreconditionError("nccl needs a build with CUDA and NCCL");
#endif
  }
  puller->fetcher_ = std::make_unique<WeightFetcher>(context, loop, config.fetcher, metrics);
  return puller;
}

WeightPuller::WeightPuller(RunOnLoop run_on_loop, model::Policy* policy,
                           const WeightPullerConfig& config, MetricsRegistry* metrics,
                           PullDone on_pull_done)
    : run_on_loop_(std::move(run_on_loop)),
      policy_(policy),
      config_(config),
      metrics_(metrics),
      on_pull_done_(std::move(on_pull_done)) {
  policy_version_ =
      metrics->GetGauge("lightrl_rollout_policy_version", "Weights version used for generation.");
  version_lag_ = metrics->GetGauge("lightrl_rollout_version_lag",
                                   "Announced version minus the version in use.");
  rejects_ = metrics->GetCounter("lightrl_rollout_weight_rejects_total",
                                 "Pulled weight versions that did not fit the model.");
}

WeightPuller::~WeightPuller() {
  nccl_cancel_ = true;
  if (nccl_thread_.joinable()) nccl_thread_.join();  // Ends within nccl_timeout.
  fetcher_.reset();
}

bool WeightPuller::HasPending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_ != nullptr;
}

uint64_t WeightPuller::Held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_ != nullptr ? std::max(pending_->image.version, version_.load()) : version_.load();
}

void WeightPuller::OnAnnounce(proto::WeightsAnnounce::Reader announce) {
  const uint64_t version = announce.getVersion();
  announced_ = std::max(announced_, version);
  version_lag_->Set(static_cast<double>(announced_ - version_.load()));
  if (version <= Held()) return;
  if (nccl_sink_ == nullptr) {
    FetchInChunks(announce);
  } else if (!staging_busy_) {
    StartNcclPull(CopyAnnounce(announce));
  } else if (nccl_next_ == nullptr || VersionOf(*nccl_next_) < version) {
    nccl_next_ = CopyAnnounce(announce);  // Pulled once the staging buffer is free.
  }
}

void WeightPuller::FetchInChunks(proto::WeightsAnnounce::Reader announce) {
  const uint64_t version = announce.getVersion();
  fetcher_->Fetch(announce, [this, version](StatusOr<WeightsImage> image) {
    if (!image.ok()) {
      if (image.status().code() != StatusCode::kCancelled) {
        LOG(ERROR) << "weights pull failed: " << image.status();
      }
      on_pull_done_(version, image.status());
      return;
    }
    LOG(INFO) << "pulled weights version " << version;
    HandOver(std::make_unique<Pending>(Pending{std::move(*image)}));
  });
}

void WeightPuller::HandOver(std::unique_ptr<Pending> weights) {
  const uint64_t version = weights->image.version;
  std::unique_ptr<Pending> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_ == nullptr || pending_->image.version < version) {
      dropped = std::move(pending_);
      pending_ = std::move(weights);
    } else {
      dropped = std::move(weights);
    }
  }
  if (dropped != nullptr && dropped->on_device) OnStagingFree();  // It will never be applied.
  on_pull_done_(version, Status::Ok());
}

// Runs only with an NCCL sink, which builds without NCCL never make.
void WeightPuller::StartNcclPull(std::unique_ptr<capnp::MallocMessageBuilder> announce) {
#if LIGHTRL_WITH_NCCL
  nccl_pull_ = std::make_unique<NcclPull>();
  nccl_pull_->announce = std::move(announce);
  proto::WeightsAnnounce::Reader reader = nccl_pull_->reader();
  if (nccl_thread_.joinable()) nccl_thread_.join();  // The previous receive has ended.
  StatusOr<NcclWeightSink::PullId> id = nccl_sink_->NextPull();
  if (AnnouncedLayout(reader) != byte_layout_ || !id.ok()) {
    nccl_pull_->received = nccl_pull_->acknowledged =
        id.ok() ? InvalidArgumentError("the announced layout is not this model's") : id.status();
    FinishNcclPullIfDone();
    return;
  }
  staging_busy_ = true;
  if (!id->reuse) {
    metrics_
        ->GetCounter("lightrl_rollout_nccl_links_joined_total",
                     "NCCL communicators joined with the learner for weight pulls (one, unless "
                     "a pull failed).")
        ->Increment();
  }
  nccl_cancel_ = false;
  nccl_thread_ = std::thread([this, pull_id = *id] {
    Status received = nccl_sink_->Receive(pull_id, config_.nccl_timeout, &nccl_cancel_);
    run_on_loop_([this, received] {
      nccl_pull_->received = received;
      FinishNcclPullIfDone();
    });
  });
  fetcher_->RequestNcclPull(reader, id->nccl_id, id->reuse, config_.nccl_timeout,
                            [this](Status answer) {
                              // A learner that will not send (e.g. it has moved on to a newer
                              // version) ends the wait.
                              if (!answer.ok()) nccl_cancel_ = true;
                              nccl_pull_->acknowledged = answer;
                              FinishNcclPullIfDone();
                            });
#else
  (void)announce;
#endif
}

void WeightPuller::FinishNcclPullIfDone() {
  if (!nccl_pull_->received.has_value() || !nccl_pull_->acknowledged.has_value()) return;
  std::unique_ptr<NcclPull> pull = std::move(nccl_pull_);
  proto::WeightsAnnounce::Reader announce = pull->reader();
  const Status failed = !pull->received->ok() ? *pull->received : *pull->acknowledged;
  if (failed.ok()) {
    LOG(INFO) << "pulled weights version " << announce.getVersion() << " over NCCL";
    auto weights = std::make_unique<Pending>();
    weights->image.version = announce.getVersion();
    weights->on_device = true;
    HandOver(std::move(weights));  // The staging buffer stays busy until it is applied.
    return;
  }
  LOG(WARNING) << "NCCL pull of weights version " << announce.getVersion()
               << " failed, pulling it in chunks: " << failed;
  metrics_
      ->GetCounter("lightrl_rollout_nccl_pull_failures_total",
                   "Weight pulls over NCCL that fell back to the chunked transfer.")
      ->Increment();
  FetchInChunks(announce);
  OnStagingFree();
}

void WeightPuller::OnStagingFree() {
  staging_busy_ = false;
  if (nccl_next_ != nullptr && VersionOf(*nccl_next_) > Held()) {
    StartNcclPull(std::move(nccl_next_));
  }
  nccl_next_.reset();
}

Status WeightPuller::Apply() {
  std::unique_ptr<Pending> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending = std::move(pending_);
  }
  if (pending == nullptr) return Status::Ok();
  const uint64_t version = pending->image.version;
  if (pending->on_device) {
#if LIGHTRL_WITH_NCCL
    nccl_sink_->Apply();
#endif
  } else {
    std::vector<model::ByteLayoutEntry> layout;
    for (const TensorLayout& t : pending->image.tensors) {
      layout.push_back({t.name, "F32", std::vector<int64_t>(t.shape.begin(), t.shape.end()),
                        t.offset, t.byte_size});
    }
    const std::vector<uint8_t>& bytes = *pending->image.bytes;
    Status imported = policy_->params().ImportBytes(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()),
        layout);
    if (!imported.ok()) {
      rejects_->Increment();
      return InvalidArgumentError("weights version " + std::to_string(version) +
                                  " do not fit this model: " + imported.ToString());
    }
    policy_->ParamsChanged();
  }
  version_ = version;
  policy_version_->Set(static_cast<double>(version));
  if (pending->on_device) run_on_loop_([this] { OnStagingFree(); });
  return Status::Ok();
}

}  // namespace lightrl
