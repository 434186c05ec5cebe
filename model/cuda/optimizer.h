// AdamW on the GPU over a CudaModel's device arenas: the twin of optimizer.h (PyTorch's
// AdamW, weight decay on matrices only, FP32 moments), with the global gradient-norm
// clipping. The model's bf16 weight copy is refreshed after every step.
//
// Thread-safety: not thread-safe; the thread that drives the model steps the optimizer.
#ifndef LIGHTRL_MODEL_CUDA_OPTIMIZER_H_
#define LIGHTRL_MODEL_CUDA_OPTIMIZER_H_

#include <cstdint>

#include "kernels/cuda/device.h"
#include "model/cuda/model.h"
#include "model/optimizer.h"

namespace lightrl::model {

class CudaAdamW {
 public:
  // `model` must outlive the optimizer. ResourceExhausted when the moments do not fit.
  static StatusOr<std::unique_ptr<CudaAdamW>> Create(CudaModel* model, const AdamWOptions& options);

  // params ← AdamW(params, grads) on the device.
  void Step();
  // The L2 norm of every gradient together (summed in FP64).
  double GradNorm() const;
  // Scales the gradients so that their norm is at most max_norm (no-op for max_norm <= 0 or
  // a smaller norm); returns the norm before clipping (optimizer.h's ClipGradNorm).
  double ClipGradNorm(double max_norm);

  const AdamWOptions& options() const { return options_; }
  void set_options(const AdamWOptions& options) { options_ = options; }
  int64_t step() const { return step_; }
  // Copies the moments out (checkpoints); the arenas must have the model's layout.
  void DownloadMoments(ParamArena<float>* m, ParamArena<float>* v) const;
  // Replaces the moments and the step count (restoring a checkpoint); same layout.
  void UploadMoments(const ParamArena<float>& m, const ParamArena<float>& v, int64_t step);

 private:
  CudaAdamW(CudaModel* model, const AdamWOptions& options) : model_(model), options_(options) {}

  CudaModel* model_;
  AdamWOptions options_;
  int64_t step_ = 0;
  kernels::cuda::DeviceBuffer<float> m_, v_;
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_CUDA_OPTIMIZER_H_
