// Rotary position embedding on the GPU: the contract of kernels/rope.h (rotate-half, the
// first rotary_dim dims of each head, in place). The inverse frequencies are computed on the
// host exactly as the CPU op computes them; cos/sin of each angle on the device.
// Thread-safety: see device.h.
#ifndef LIGHTRL_KERNELS_CUDA_ROPE_H_
#define LIGHTRL_KERNELS_CUDA_ROPE_H_

#include <cstdint>

#include "kernels/cuda/device.h"
#include "kernels/rope.h"

namespace lightrl::kernels::cuda {

// The inverse frequencies θ^(−2i/rotary_dim), i < rotary_dim/2, on the device (computed on
// the host as kernels/rope.cc computes them). A model keeps one per shape.
class RopeFrequencies {
 public:
  RopeFrequencies(const CudaContext& ctx, const RopeShape& shape);
  const RopeShape& shape() const { return shape_; }
  const float* data() const { return inv_freq_.data(); }

 private:
  RopeShape shape_;
  DeviceBuffer<float> inv_freq_;
};

// Rotates x in place: rows × (heads · head_dim), row stride ld; positions: device [rows].
void RopeForward(const CudaContext& ctx, float* x, int rows, int ld, const RopeFrequencies& rope,
                 const int32_t* positions);

// The inverse rotation (the backward), in place on the gradient.
void RopeBackward(const CudaContext& ctx, float* dx, int rows, int ld, const RopeFrequencies& rope,
                  const int32_t* positions);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_ROPE_H_
