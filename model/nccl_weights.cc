#include "model/nccl_weights.h"

#include "kernels/cuda/nccl_transfer.h"
#include "model/cuda_model.h"

namespace lightrl::model {
namespace {

StatusOr<CudaModel*> WeightsModel(Policy* policy) {
  CudaModel* model = policy->weights_model();
  if (model == nullptr) {
    return FailedPreconditionError(
        "NCCL weight transfer needs the policy on a GPU "
        "(model.backend: cuda)");
  }
  return model;
}

// `n` floats on the model's GPU.
Status AllocateBeside(CudaModel* model, size_t n, kernels::cuda::DeviceBuffer<float>* buffer) {
  model->context().MakeCurrent();
  return buffer->Resize(n);
}

}  // namespace

StatusOr<std::unique_ptr<NcclWeightSource>> NcclWeightSource::Create(
    Policy* policy, std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(CudaModel * model, WeightsModel(policy));
  std::unique_ptr<NcclWeightSource> source(new NcclWeightSource(model, timeout));
  RETURN_IF_ERROR(AllocateBeside(model, model->num_params(), &source->snapshot_));
  source->thread_ = std::thread([s = source.get()] { s->Run(); });
  return source;
}

NcclWeightSource::NcclWeightSource(CudaModel* model, std::chrono::milliseconds timeout)
    : model_(model), timeout_(timeout) {}

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

void NcclWeightSource::Serve(uint64_t version, std::string nccl_id,
                             std::function<void(Status)> done) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    queue_.push_back({version, std::move(nccl_id), std::move(done)});
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
  ASSIGN_OR_RETURN(ncclUniqueId id, kernels::cuda::NcclIdFromBytes(pull.nccl_id));
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  if (pull.version != snapshot_version_) {
    return FailedPreconditionError("version " + std::to_string(pull.version) +
                                   " is not on the learner's GPU (it holds " +
                                   std::to_string(snapshot_version_) + ")");
  }
  return kernels::cuda::NcclTransfer(model_->context().device(), /*rank=*/0, snapshot_.data(),
                                     snapshot_.bytes(), id, timeout_);
}

StatusOr<std::unique_ptr<NcclWeightSink>> NcclWeightSink::Create(Policy* policy) {
  ASSIGN_OR_RETURN(CudaModel * model, WeightsModel(policy));
  std::unique_ptr<NcclWeightSink> sink(new NcclWeightSink(model));
  RETURN_IF_ERROR(AllocateBeside(model, model->num_params(), &sink->staging_));
  return sink;
}

Status NcclWeightSink::Receive(const std::string& nccl_id, std::chrono::milliseconds timeout,
                               const std::atomic<bool>* cancel) {
  ASSIGN_OR_RETURN(ncclUniqueId id, kernels::cuda::NcclIdFromBytes(nccl_id));
  return kernels::cuda::NcclTransfer(model_->context().device(), /*rank=*/1, staging_.data(),
                                     staging_.bytes(), id, timeout, cancel);
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

}  // namespace lightrl::model
