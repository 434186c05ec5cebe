#include "model/cuda/optimizer.h"

#include <cmath>

#include "kernels/cuda/adamw.h"

namespace lightrl::model {

namespace kc = kernels::cuda;

StatusOr<std::unique_ptr<CudaAdamW>> CudaAdamW::Create(CudaModel* model,
                                                       const AdamWOptions& options) {
  std::unique_ptr<CudaAdamW> adamw(new CudaAdamW(model, options));
  const size_t n = model->num_params();
  RETURN_IF_ERROR(adamw->m_.Resize(n));
  RETURN_IF_ERROR(adamw->v_.Resize(n));
  const kc::CudaContext& ctx = model->context();
  LIGHTRL_CUDA_CHECK(cudaMemsetAsync(adamw->m_.data(), 0, adamw->m_.bytes(), ctx.stream()));
  LIGHTRL_CUDA_CHECK(cudaMemsetAsync(adamw->v_.data(), 0, adamw->v_.bytes(), ctx.stream()));
  return adamw;
}

void CudaAdamW::Step() {
  ++step_;
  const kernels::AdamWHyperparameters hyper{options_.lr, options_.beta1, options_.beta2,
                                            options_.eps};
  const kc::CudaContext& ctx = model_->context();
  float* params = model_->device_params();
  const float* grads = model_->device_grads();
  for (const TensorInfo& t : model_->host_params().layout().tensors()) {
    kc::AdamWUpdate(ctx, params + t.offset, grads + t.offset, m_.data() + t.offset,
                    v_.data() + t.offset, t.numel, hyper, step_,
                    t.weight_decay ? options_.weight_decay : 0.0);
  }
  model_->DeviceParamsChanged();
}

double CudaAdamW::GradNorm() const {
  return std::sqrt(
      kc::SumOfSquares(model_->context(), model_->device_grads(), model_->num_params()));
}

double CudaAdamW::ClipGradNorm(double max_norm) {
  const double norm = GradNorm();
  if (max_norm > 0 && norm > max_norm) {
    kc::ScaleInPlace(model_->context(), model_->device_grads(), model_->num_params(),
                     static_cast<float>(max_norm / (norm + 1e-6)));
  }
  return norm;
}

void CudaAdamW::DownloadMoments(ParamArena<float>* m, ParamArena<float>* v) const {
  CHECK_EQ(m->size(), model_->num_params());
  CHECK_EQ(v->size(), model_->num_params());
  kc::CopyToHost(model_->context(), m_.data(), m->size(), m->data());
  kc::CopyToHost(model_->context(), v_.data(), v->size(), v->data());
}

void CudaAdamW::UploadMoments(const ParamArena<float>& m, const ParamArena<float>& v,
                              int64_t step) {
  CHECK_EQ(m.size(), model_->num_params());
  CHECK_EQ(v.size(), model_->num_params());
  kc::CopyToDevice(model_->context(), m.data(), m.size(), m_.data());
  kc::CopyToDevice(model_->context(), v.data(), v.size(), v_.data());
  step_ = step;
}

}  // namespace lightrl::model
