#include "kernels/cuda/activation.h"
#include "kernels/cuda/common.cuh"

namespace lightrl::kernels::cuda {
namespace {

using internal::Sigmoid;

__device__ inline float Silu(float x) { return x * Sigmoid(x); }

__device__ inline float SiluDerivative(float x) {
  const float s = Sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}

}  // namespace

void SiluForward(const CudaContext& ctx, const float* x, int ldx, int rows, int cols, float* y,
                 int ldy) {
  internal::ForEachRowColumn(ctx, rows, cols, [=] __device__(int64_t r, int64_t c) {
    y[r * ldy + c] = Silu(x[r * ldx + c]);
  });
}

void SiluBackward(const CudaContext& ctx, const float* x, int ldx, const float* dy, int lddy,
                  int rows, int cols, float* dx, int lddx) {
  internal::ForEachRowColumn(ctx, rows, cols, [=] __device__(int64_t r, int64_t c) {
    dx[r * lddx + c] = dy[r * lddy + c] * SiluDerivative(x[r * ldx + c]);
  });
}

void SwiGluForward(const CudaContext& ctx, const float* gate_up, int rows, int inter, float* out) {
  internal::ForEachRowColumn(ctx, rows, inter, [=] __device__(int64_t r, int64_t c) {
    const float* gate = gate_up + r * 2 * inter;
    out[r * inter + c] = Silu(gate[c]) * gate[inter + c];
  });
}

void SwiGluBackward(const CudaContext& ctx, const float* gate_up, const float* dout, int rows,
                    int inter, float* dgate_up) {
  internal::ForEachRowColumn(ctx, rows, inter, [=] __device__(int64_t r, int64_t c) {
    const float* gate = gate_up + r * 2 * inter;
    const float d = dout[r * inter + c];
    float* dgate = dgate_up + r * 2 * inter;
    dgate[c] = d * gate[inter + c] * SiluDerivative(gate[c]);
    dgate[inter + c] = d * Silu(gate[c]);
  });
}

void SigmoidGateForward(const CudaContext& ctx, const float* gate, int ldg, const float* x,
                        int rows, int cols, float* y) {
  internal::ForEachRowColumn(ctx, rows, cols, [=] __device__(int64_t r, int64_t c) {
    y[r * cols + c] = Sigmoid(gate[r * ldg + c]) * x[r * cols + c];
  });
}

void SigmoidGateBackward(const CudaContext& ctx, const float* gate, int ldg, const float* x,
                         const float* dy, int rows, int cols, float* dgate, int lddg, float* dx) {
  internal::ForEachRowColumn(ctx, rows, cols, [=] __device__(int64_t r, int64_t c) {
    const float s = Sigmoid(gate[r * ldg + c]);
    const float d = dy[r * cols + c];
    dgate[r * lddg + c] = d * x[r * cols + c] * s * (1.0f - s);
    dx[r * cols + c] = d * s;
  });
}

}  // namespace lightrl::kernels::cuda
