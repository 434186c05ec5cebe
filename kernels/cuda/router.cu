#include <algorithm>
#include <climits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/router.h"

namespace lightrl::kernels::cuda {
namespace {

constexpr int kRowsPerBlock = 8;  // one warp per row

__global__ void RouterForwardKernel(const float* logits, int rows, int experts, int top_k,
                                    float* probs, int32_t* indices, float* weights) {
  const int lane = threadIdx.x % internal::kWarp;
  const int64_t row =
      static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / internal::kWarp;
  if (row >= rows) return;
  const float* l = logits + row * experts;
  float* p = probs + row * experts;
  float max_logit = -INFINITY;
  for (int e = lane; e < experts; e += internal::kWarp) max_logit = fmaxf(max_logit, l[e]);
  max_logit = internal::WarpMax(max_logit);
  float sum = 0;
  for (int e = lane; e < experts; e += internal::kWarp) {
    const float value = expf(l[e] - max_logit);
    p[e] = value;
    sum += value;
  }
  sum = internal::WarpSum(sum);
  for (int e = lane; e < experts; e += internal::kWarp) p[e] /= sum;
  __syncwarp();
  int chosen[kMaxCudaTopK];
  float chosen_sum = 0;
  for (int slot = 0; slot < top_k; ++slot) {
    float best_p = -1;
    int best = INT_MAX;
    for (int e = lane; e < experts; e += internal::kWarp) {
      bool taken = false;
      for (int s = 0; s < slot; ++s) taken |= chosen[s] == e;
      if (!taken && (p[e] > best_p || (p[e] == best_p && e < best))) {
        best_p = p[e];
        best = e;
      }
    }
#pragma unroll
    for (int offset = internal::kWarp / 2; offset > 0; offset /= 2) {
      const float other_p = __shfl_xor_sync(0xffffffffu, best_p, offset);
      const int other = __shfl_xor_sync(0xffffffffu, best, offset);
      if (other_p > best_p || (other_p == best_p && other < best)) {
        best_p = other_p;
        best = other;
      }
    }
    chosen[slot] = best;
    chosen_sum += p[best];
  }
  if (lane == 0) {
    for (int slot = 0; slot < top_k; ++slot) {
      indices[row * top_k + slot] = chosen[slot];
      weights[row * top_k + slot] = p[chosen[slot]] / chosen_sum;
    }
  }
}

__global__ void RouterBackwardKernel(const float* probs, const int32_t* indices,
                                     const float* weights, const float* dweights,
                                     const float* dprob_per_expert, int rows, int experts,
                                     int top_k, float* dlogits) {
  const int lane = threadIdx.x % internal::kWarp;
  const int64_t row =
      static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / internal::kWarp;
  if (row >= rows) return;
  const float* p = probs + row * experts;
  const int32_t* idx = indices + row * top_k;
  const float* w = weights + row * top_k;
  const float* dw = dweights + row * top_k;
  float* dl = dlogits + row * experts;
  for (int e = lane; e < experts; e += internal::kWarp) {
    dl[e] = dprob_per_expert != nullptr ? dprob_per_expert[e] : 0.0f;
  }
  __syncwarp();
  if (lane == 0) {
    float chosen_sum = 0, weighted = 0;
    for (int slot = 0; slot < top_k; ++slot) {
      chosen_sum += p[idx[slot]];
      weighted += dw[slot] * w[slot];
    }
    for (int slot = 0; slot < top_k; ++slot) dl[idx[slot]] += (dw[slot] - weighted) / chosen_sum;
  }
  __syncwarp();
  float mean = 0;
  for (int e = lane; e < experts; e += internal::kWarp) mean += p[e] * dl[e];
  mean = internal::WarpSum(mean);
  for (int e = lane; e < experts; e += internal::kWarp) dl[e] = p[e] * (dl[e] - mean);
}

__global__ void RouterStatsKernel(const float* probs, const int32_t* indices, int rows, int experts,
                                  int top_k, double* routed, double* prob_sum) {
  const int e = blockIdx.x;
  double p_sum = 0, count = 0;
  for (int r = threadIdx.x; r < rows; r += blockDim.x) {
    p_sum += probs[static_cast<int64_t>(r) * experts + e];
    for (int s = 0; s < top_k; ++s) count += indices[static_cast<int64_t>(r) * top_k + s] == e;
  }
  p_sum = internal::BlockSum(p_sum);
  count = internal::BlockSum(count);
  if (threadIdx.x == 0) {
    routed[e] += count;
    prob_sum[e] += p_sum;
  }
}

// One CTA: per-thread counts of each expert over contiguous pair ranges, a scan in
// (expert, thread) order, then each thread places its pairs.
__global__ void DispatchKernel(const int32_t* indices, int pairs, int experts,
                               int32_t* slot_position, int32_t* expert_offsets) {
  extern __shared__ int32_t counts[];  // [experts][threads], then offsets [experts + 1]
  const int threads = blockDim.x, t = threadIdx.x;
  int32_t* offsets = counts + experts * threads;
  const int chunk = (pairs + threads - 1) / threads;
  const int begin = min(pairs, t * chunk), end = min(pairs, begin + chunk);
  for (int e = 0; e < experts; ++e) counts[e * threads + t] = 0;
  for (int p = begin; p < end; ++p) ++counts[indices[p] * threads + t];
  __syncthreads();
  for (int e = t; e < experts; e += threads) {
    int32_t running = 0;
    for (int u = 0; u < threads; ++u) {
      const int32_t c = counts[e * threads + u];
      counts[e * threads + u] = running;
      running += c;
    }
    offsets[e + 1] = running;
  }
  __syncthreads();
  if (t == 0) {
    offsets[0] = 0;
    for (int e = 0; e < experts; ++e) offsets[e + 1] += offsets[e];
    for (int e = 0; e <= experts; ++e) expert_offsets[e] = offsets[e];
  }
  __syncthreads();
  for (int p = begin; p < end; ++p) {
    const int e = indices[p];
    slot_position[p] = offsets[e] + counts[e * threads + t]++;
  }
}

__global__ void CombineBackwardKernel(const float* dz, const float* expert_out,
                                      const int32_t* slot_position, const float* weights, int pairs,
                                      int top_k, int hidden, float* d_expert_out, float* dweights) {
  const int lane = threadIdx.x % internal::kWarp;
  const int64_t p =
      static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / internal::kWarp;
  if (p >= pairs) return;
  const float* g = dz + (p / top_k) * hidden;
  const int64_t slot = slot_position[p];
  const float* y = expert_out + slot * hidden;
  float* dy = d_expert_out + slot * hidden;
  const float w = weights[p];
  float dot = 0;
  for (int c = lane; c < hidden; c += internal::kWarp) {
    dot += g[c] * y[c];
    dy[c] = g[c] * w;
  }
  dot = internal::WarpSum(dot);
  if (lane == 0) dweights[p] = dot;
}

unsigned RowBlocks(int64_t rows) {
  return static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock);
}

}  // namespace

void RouterForward(const CudaContext& ctx, const float* logits, int rows, int experts, int top_k,
                   float* probs, int32_t* indices, float* weights) {
  CHECK(top_k >= 1 && top_k <= experts && top_k <= kMaxCudaTopK) << "top-k " << top_k;
  if (rows <= 0) return;
  RouterForwardKernel<<<RowBlocks(rows), kRowsPerBlock * internal::kWarp, 0, ctx.stream()>>>(
      logits, rows, experts, top_k, probs, indices, weights);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

void RouterBackward(const CudaContext& ctx, const float* probs, const int32_t* indices,
                    const float* weights, const float* dweights, const float* dprob_per_expert,
                    int rows, int experts, int top_k, float* dlogits) {
  if (rows <= 0) return;
  RouterBackwardKernel<<<RowBlocks(rows), kRowsPerBlock * internal::kWarp, 0, ctx.stream()>>>(
      probs, indices, weights, dweights, dprob_per_expert, rows, experts, top_k, dlogits);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

void RouterAccumulateStats(const CudaContext& ctx, const float* probs, const int32_t* indices,
                           int rows, int experts, int top_k, double* routed, double* prob_sum) {
  if (rows <= 0) return;
  RouterStatsKernel<<<experts, 256, 0, ctx.stream()>>>(probs, indices, rows, experts, top_k, routed,
                                                       prob_sum);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

void DispatchByExpert(const CudaContext& ctx, const int32_t* indices, int pairs, int experts,
                      int32_t* slot_position, int32_t* expert_offsets) {
  CHECK(experts >= 1 && experts <= kMaxCudaExperts) << "experts " << experts;
  // counts take experts × threads ints of at most 48 KiB.
  const int threads = std::max(32, std::min(256, 12288 / experts / 32 * 32));
  const size_t bytes = (static_cast<size_t>(experts) * threads + experts + 1) * sizeof(int32_t);
  DispatchKernel<<<1, threads, bytes, ctx.stream()>>>(indices, pairs, experts, slot_position,
                                                      expert_offsets);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

namespace {

template <typename T>
void GatherRowsForExperts(const CudaContext& ctx, const T* x, int rows, int top_k, int hidden,
                          const int32_t* slot_position, T* gathered) {
  internal::ForEachRowColumn(ctx, rows * top_k, hidden, [=] __device__(int64_t p, int64_t c) {
    gathered[static_cast<int64_t>(slot_position[p]) * hidden + c] = x[(p / top_k) * hidden + c];
  });
}

}  // namespace

void GatherForExperts(const CudaContext& ctx, const float* x, int rows, int top_k, int hidden,
                      const int32_t* slot_position, float* gathered) {
  GatherRowsForExperts(ctx, x, rows, top_k, hidden, slot_position, gathered);
}

void GatherForExperts(const CudaContext& ctx, const bf16* x, int rows, int top_k, int hidden,
                      const int32_t* slot_position, bf16* gathered) {
  GatherRowsForExperts(ctx, x, rows, top_k, hidden, slot_position, gathered);
}

void CombineExperts(const CudaContext& ctx, const float* expert_out, const int32_t* slot_position,
                    const int32_t* indices, const float* weights, int rows, int top_k, int hidden,
                    float* z) {
  internal::ForEachRowColumn(ctx, rows, hidden, [=] __device__(int64_t r, int64_t c) {
    const int64_t first = r * top_k;
    float sum = 0;
    int previous = -1;
    for (int n = 0; n < top_k; ++n) {  // slots in ascending expert order
      int pick = -1;
      for (int s = 0; s < top_k; ++s) {
        const int e = indices[first + s];
        if (e > previous && (pick < 0 || e < indices[first + pick])) pick = s;
      }
      previous = indices[first + pick];
      sum += expert_out[static_cast<int64_t>(slot_position[first + pick]) * hidden + c] *
             weights[first + pick];
    }
    z[r * hidden + c] = sum;
  });
}

void CombineExpertsBackward(const CudaContext& ctx, const float* dz, const float* expert_out,
                            const int32_t* slot_position, const float* weights, int rows, int top_k,
                            int hidden, float* d_expert_out, float* dweights) {
  const int pairs = rows * top_k;
  if (pairs <= 0) return;
  CombineBackwardKernel<<<RowBlocks(pairs), kRowsPerBlock * internal::kWarp, 0, ctx.stream()>>>(
      dz, expert_out, slot_position, weights, pairs, top_k, hidden, d_expert_out, dweights);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

void GatherForExpertsBackward(const CudaContext& ctx, const float* d_gathered,
                              const int32_t* slot_position, int rows, int top_k, int hidden,
                              float* dx) {
  internal::ForEachRowColumn(ctx, rows, hidden, [=] __device__(int64_t r, int64_t c) {
    float sum = dx[r * hidden + c];
    for (int s = 0; s < top_k; ++s) {
      sum += d_gathered[static_cast<int64_t>(slot_position[r * top_k + s]) * hidden + c];
    }
    dx[r * hidden + c] = sum;
  });
}

}  // namespace lightrl::kernels::cuda
