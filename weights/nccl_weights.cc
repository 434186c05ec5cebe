#include "weights/nccl_weights.h"

#include <algorithm>

#include "model/cuda/model.h"

namespace lightrl {
namespace {

StatusOr<model::CudaModel*> WeightsModel(model::Policy* policy) {
  model::CudaModel* model = policy->weights_model();
  if (model == nullptr) {
    return FailedPreconditionError(
        "NCCL weight transfer needs the policy on a GPU "
        "(model.backend: cuda)");
  }
  return model;
}

// `n` floats on the model's GPU.
Status AllocateBeside(model::CudaModel* model, size_t n, kernels::cuda::DeviceBuffer<float>* buffer) {
  model->context().MakeCurrent();
  return buffer->Resize(n);
}

}  // namespace

StatusOr<std::unique_ptr<NcclWeightSource>> NcclWeightSource::Create(
    model::Policy* policy, std::chrono::milliseconds timeout, size_t max_links) {
  if (max_links == 0) return InvalidArgumentError("NCCL weight source: max_links must be >= 1");
  ASSIGN_OR_RETURN(model::CudaModel * model, WeightsModel(policy));
  std::unique_ptr<NcclWeightSource> source(new NcclWeightSource(model, timeout, max_links));
  RETURN_IF_ERROR(AllocateBeside(model, model->num_params(), &source->snapshot_));
  source->thread_ = std::thread([s = source.get()] { s->Run(); });
  return source;
}

NcclWeightSource::NcclWeightSource(model::CudaModel* model, std::chrono::milliseconds timeout,
                                   size_t max_links)
    : model_(model), timeout_(timeout), max_links_(max_links) {}

NcclWeightSource::~NcclWeightSource() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (Pull& pull : queue_) pull.done(CancelledError("the learner is stopping"));
}

void NcclWeightSource::Capture(uint64_t version) {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  const kernels::cuda::CudaContext& ctx = model_->context();
  ctx.MakeCurrent();
  LIGHTRL_CUDA_CHECK(cudaMemcpyAsync(snapshot_.data(), model_->device_params(), snapshot_.bytes(),
                                     cudaMemcpyDeviceToDevice, ctx.stream()));
  ctx.Synchronize();
  snapshot_version_ = version;
}

void NcclWeightSource::Serve(uint64_t version, std::string nccl_id, bool reuse,
                             std::function<void(Status)> done) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    queue_.push_back({version, std::move(nccl_id), reuse, std::move(done)});
  }
  queue_cv_.notify_one();
}

void NcclWeightSource::Run() {
  while (true) {
    Pull pull;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      pull = std::move(queue_.front());
      queue_.pop_front();
    }
    pull.done(Send(pull));
  }
}

Status NcclWeightSource::Send(const Pull& pull) {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  Status sent;
  if (pull.version != snapshot_version_) {
    sent = FailedPreconditionError("version " + std::to_string(pull.version) +
                                   " is not on the learner's GPU (it holds " +
                                   std::to_string(snapshot_version_) + ")");
  } else {
    StatusOr<NcclLink*> link = LinkFor(pull);
    sent = link.ok() ? (*link)->Transfer(snapshot_.data(), snapshot_.bytes(), timeout_)
                     : link.status();
  }
  // The puller drops its side of the link after any failure; so does the source.
  if (!sent.ok()) links_.erase(pull.nccl_id);
  return sent;
}

StatusOr<NcclLink*> NcclWeightSource::LinkFor(const Pull& pull) {
  auto kept = links_.find(pull.nccl_id);
  if (pull.reuse) {
    if (kept == links_.end()) {
      return FailedPreconditionError(
          "the learner holds no NCCL link with this id (dropped after a failure, or evicted); "
          "join a fresh one");
    }
    kept->second.last_used = ++pulls_;
    return kept->second.link.get();
  }
  ASSIGN_OR_RETURN(ncclUniqueId id, NcclIdFromBytes(pull.nccl_id));
  if (kept == links_.end() && links_.size() >= max_links_) {
    links_.erase(std::min_element(links_.begin(), links_.end(), [](const auto& a, const auto& b) {
      return a.second.last_used < b.second.last_used;
    }));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<NcclLink> link,
                   NcclLink::Join(model_->context().device(), /*rank=*/0, id, timeout_));
  Link& slot = links_[pull.nccl_id];
  slot = {std::move(link), ++pulls_};
  return slot.link.get();
}

StatusOr<std::unique_ptr<NcclWeightSink>> NcclWeightSink::Create(model::Policy* policy) {
  ASSIGN_OR_RETURN(model::CudaModel * model, WeightsModel(policy));
  std::unique_ptr<NcclWeightSink> sink(new NcclWeightSink(model));
  RETURN_IF_ERROR(AllocateBeside(model, model->num_params(), &sink->staging_));
  return sink;
}

StatusOr<NcclWeightSink::PullId> NcclWeightSink::NextPull() {
  if (link_ != nullptr && !link_->broken()) return PullId{link_id_, true};
  link_.reset();
  ASSIGN_OR_RETURN(ncclUniqueId id, NewNcclId());
  link_id_ = NcclIdBytes(id);
  return PullId{link_id_, false};
}

Status NcclWeightSink::Receive(const PullId& pull, std::chrono::milliseconds timeout,
                               const std::atomic<bool>* cancel) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + timeout;
  if (!pull.reuse) {
    ASSIGN_OR_RETURN(ncclUniqueId id, NcclIdFromBytes(pull.nccl_id));
    ASSIGN_OR_RETURN(link_,
                     NcclLink::Join(model_->context().device(), /*rank=*/1, id, timeout, cancel));
    link_id_ = pull.nccl_id;
  } else if (link_ == nullptr || link_id_ != pull.nccl_id) {
    return FailedPreconditionError("NCCL receive: no link with this id to reuse");
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  Status received = link_->Transfer(staging_.data(), staging_.bytes(),
                                    std::max(left, std::chrono::milliseconds(0)), cancel);
  if (!received.ok()) link_.reset();
  return received;
}

void NcclWeightSink::Apply() {
  const kernels::cuda::CudaContext& ctx = model_->context();
  ctx.MakeCurrent();
  LIGHTRL_CUDA_CHECK(cudaMemcpyAsync(model_->device_params(), staging_.data(), staging_.bytes(),
                                     cudaMemcpyDeviceToDevice, ctx.stream()));
  model_->DeviceParamsChanged();
  // The next Receive writes the staging buffer from another stream: the copy must be done.
  ctx.Synchronize();
}

}  // namespace lightrl
