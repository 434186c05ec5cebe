// Causal softmax attention on the GPU with grouped-query heads over packed sequences
// (kernels/attention.h is the CPU reference and the contract), FP32.
//
// Training: flash-style tiling (64 queries × 64 keys per step, online softmax, no [N × N]
// matrix in memory); the backward recomputes the probabilities from the kept lse and runs
// one kernel for dq (per query tile and head) and one for dk/dv (per key tile and query
// head; with grouped queries each head's part goes to scratch and a second pass sums the
// group in a fixed order), so every gradient is written once, without atomics.
// Decoding: a KV cache of fixed capacity per slot; each new row is stored at its position
// and attends over the slot's cached rows.
// Head dims up to kMaxCudaAttentionHeadDim. Thread-safety: see device.h.
#ifndef LIGHTRL_KERNELS_CUDA_ATTENTION_H_
#define LIGHTRL_KERNELS_CUDA_ATTENTION_H_

#include <cstdint>
#include <span>

#include "kernels/attention.h"
#include "kernels/cuda/device.h"

namespace lightrl::kernels::cuda {

inline constexpr int kMaxCudaAttentionHeadDim = 128;

// The 64-row tiles of a packed batch's sequences (sequence s is rows
// [seq_offsets[s], seq_offsets[s+1]), offsets from 0), on the device. Built once per batch
// and shared by every softmax layer of a forward and backward.
class AttentionPlan {
 public:
  AttentionPlan(const CudaContext& ctx, std::span<const int32_t> seq_offsets);
  int num_tiles() const { return num_tiles_; }
  int num_rows() const { return num_rows_; }
  const int32_t* tiles() const { return tiles_.data(); }  // 4 ints per tile

 private:
  int num_tiles_ = 0, num_rows_ = 0;
  DeviceBuffer<int32_t> tiles_;
};

// q: [N, heads·d] (stride ldq); k, v: [N, kv_heads·d] (strides ldk, ldv).
// out: [N, heads·d] dense; lse: [N, heads].
void AttentionForward(const CudaContext& ctx, const float* q, int ldq, const float* k, int ldk,
                      const float* v, int ldv, const AttentionPlan& plan,
                      const AttentionShape& shape, float* out, float* lse);

// Writes dq, dk, dv (strides of q, k, v) given dout (dense like out).
void AttentionBackward(const CudaContext& ctx, const float* q, int ldq, const float* k, int ldk,
                       const float* v, int ldv, const float* out, const float* lse,
                       const float* dout, const AttentionPlan& plan, const AttentionShape& shape,
                       float* dq, float* dk, float* dv);

// Keys and values of every decoding slot: [slots, capacity, kv_heads·d] each.
struct KvCacheView {
  float* keys;
  float* values;
  int capacity;
};

// Stores k, v row r (strides ldk, ldv; kv_heads·d values each) at position positions[r] of
// slot slots[r] (device arrays [rows]; positions < capacity, checked by the caller).
void KvCacheWrite(const CudaContext& ctx, const float* k, int ldk, const float* v, int ldv,
                  int rows, const int32_t* slots, const int32_t* positions, int kv_width,
                  const KvCacheView& cache);

// Row r's query (stride ldq) against positions [0, lengths[r]) of slot slots[r]:
// out [rows, heads·d] dense, lse [rows, heads].
void AttentionDecode(const CudaContext& ctx, const float* q, int ldq, int rows,
                     const int32_t* slots, const int32_t* lengths, const AttentionShape& shape,
                     const KvCacheView& cache, float* out, float* lse);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_ATTENTION_H_
