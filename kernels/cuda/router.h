// Mixture-of-experts routing and token permutation on the GPU. Routing follows the
// contract of kernels/router.h (softmax, top-k with ties to the lower index, weights
// renormalized to sum to 1, the load-balancing statistics); the permutation is the MoE
// layer's: a stable counting sort of the (row, slot) pairs by expert, the gather of rows
// into expert order, and the weighted combination back in ascending expert order (as
// transformers' index_add does). Every reduction has a fixed order (no atomics), so the
// results do not change from run to run.
// Thread-safety: see device.h.
#ifndef LIGHTRL_KERNELS_CUDA_ROUTER_H_
#define LIGHTRL_KERNELS_CUDA_ROUTER_H_

#include <cstdint>

#include "kernels/cuda/device.h"

namespace lightrl::kernels::cuda {

inline constexpr int kMaxCudaExperts = 256;
inline constexpr int kMaxCudaTopK = 16;

// logits, probs: [rows, experts]; indices, weights: [rows, top_k].
void RouterForward(const CudaContext& ctx, const float* logits, int rows, int experts, int top_k,
                   float* probs, int32_t* indices, float* weights);

// dlogits [rows, experts] (written) from dweights [rows, top_k] and, when not null, a direct
// gradient on every row's probabilities that depends only on the expert
// (dprob_per_expert: device [experts], the load-balancing loss).
void RouterBackward(const CudaContext& ctx, const float* probs, const int32_t* indices,
                    const float* weights, const float* dweights, const float* dprob_per_expert,
                    int rows, int experts, int top_k, float* dlogits);

// routed[e] += #(row, slot) sent to e; prob_sum[e] += Σ_rows p[row, e] (device doubles).
void RouterAccumulateStats(const CudaContext& ctx, const float* probs, const int32_t* indices,
                           int rows, int experts, int top_k, double* routed, double* prob_sum);

// Stable counting sort of the pairs (row, slot) = p by indices[p]: slot_position[p] is p's
// place in expert order, expert_offsets [experts + 1] each expert's range.
void DispatchByExpert(const CudaContext& ctx, const int32_t* indices, int pairs, int experts,
                      int32_t* slot_position, int32_t* expert_offsets);

// gathered[slot_position[p], :] = x[p / top_k, :]; FP32, or bf16 (the bf16 trunk's copies).
void GatherForExperts(const CudaContext& ctx, const float* x, int rows, int top_k, int hidden,
                      const int32_t* slot_position, float* gathered);
void GatherForExperts(const CudaContext& ctx, const bf16* x, int rows, int top_k, int hidden,
                      const int32_t* slot_position, bf16* gathered);

// z[r, :] = Σ over the row's slots in ascending expert order of weights · expert_out[slot].
void CombineExperts(const CudaContext& ctx, const float* expert_out, const int32_t* slot_position,
                    const int32_t* indices, const float* weights, int rows, int top_k, int hidden,
                    float* z);

// The backward of CombineExperts: d_expert_out[slot_position[p], :] = dz[r, :] · weights[p]
// and dweights[p] = dz[r, :] · expert_out[slot_position[p], :].
void CombineExpertsBackward(const CudaContext& ctx, const float* dz, const float* expert_out,
                            const int32_t* slot_position, const float* weights, int rows, int top_k,
                            int hidden, float* d_expert_out, float* dweights);

// dx[r, :] += Σ_slots d_gathered[slot_position[r·top_k + s], :], slots in order.
void GatherForExpertsBackward(const CudaContext& ctx, const float* d_gathered,
                              const int32_t* slot_position, int rows, int top_k, int hidden,
                              float* dx);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_ROUTER_H_
