// Lightning attention on the GPU: the block form of Lightning Attention-2 for training and
// prefill, and the token recurrence for decoding, FP32 in and out with FP32-accurate
// products and an FP32 d×d state. kernels/lightning.h is the CPU reference and defines the
// layout (per head [q | k | v] column blocks of width d in a row of qkv) and the decay (the
// same LightningDecayTable values are used).
//
// The block form runs in three kernels per pass:
//   1. every block's decayed outer-product sum U_b = Σ_j λ^{m−1−j} k_jᵀ v_j, in parallel;
//   2. a scan over each sequence's blocks: S_b (the state at block b's start) and
//      S_{b+1} = λ^m S_b + U_b, elementwise over the d×d entries;
//   3. every block's rows: o_i = λ^{i+1} q_i S_b + Σ_{j≤i} λ^{i−j} (q_i·k_j) v_j, 64 rows per
//      CTA of 8 warps (4 row groups × 2 column halves; the two warps of a row group each
//      score half of a key chunk and exchange the scores through shared memory), keys and
//      state rows in double-buffered chunks of 32.
// Kernels 1 and 3 run their products on the tensor cores as 3xTF32 (kernels/cuda/
// mma_tf32x3.cuh: each operand split into two TF32 parts, three products, FP32 sums), which
// keeps the error against the CPU reference at the level of FP32 arithmetic (~3e-7
// relative). The backward is three output passes (dq forward in time; dk and dv in reversed
// time over views with negative row strides), as the CPU backward; dk and dv share one state
// pass, their states being transposes of each other; dq reads the forward's states
// transposed, kept by the forward when the caller asks (else recomputed in the same
// launches as the dk/dv state pass). The three output passes share one launch.
//
// The kernels split each sequence into blocks of min(block, kLightningComputeBlock) rows,
// whatever the model's block: with a per-token decay the output is the same function of the
// inputs for any block length, and shorter blocks trade intra-block products (which grow with
// the block) for more states (on an H100, 128 rows beat 256 and 64; docs/benchmarks.md).
//
// Head dims up to kMaxCudaLightningHeadDim. Extra device memory from the stream-ordered
// pool: LightningStateFloats for the states of each state pass a call runs (the forward's
// one unless the caller keeps them; the backward's one or two).
// Thread-safety: see device.h.
#ifndef LIGHTRL_KERNELS_CUDA_LIGHTNING_H_
#define LIGHTRL_KERNELS_CUDA_LIGHTNING_H_

#include <algorithm>
#include <cstdint>
#include <span>

#include "kernels/cuda/device.h"
#include "kernels/lightning.h"

namespace lightrl::kernels::cuda {

inline constexpr int kMaxCudaLightningHeadDim = 128;
inline constexpr int kLightningComputeBlock = 128;

// The per-head decay tables E[n] = exp(−s_h·n), n = 0..block, on the device: the values of
// kernels::LightningDecayTable. A model keeps one per layer.
class LightningDecay {
 public:
  // slopes: host [shape.heads].
  LightningDecay(const CudaContext& ctx, const LightningShape& shape, const float* slopes);
  const float* data() const { return table_.data(); }
  const LightningShape& shape() const { return shape_; }

 private:
  LightningShape shape_;
  DeviceBuffer<float> table_;
};

// The compute blocks (compute_block() rows) of a packed batch (sequence s is rows
// [seq_offsets[s], seq_offsets[s+1])) for a model whose block is `block`, in time order and
// in reversed time, on the device. Built once per batch and shared by every lightning layer
// of a forward and backward.
class LightningPlan {
 public:
  LightningPlan(const CudaContext& ctx, std::span<const int32_t> seq_offsets, int block);
  int block() const { return block_; }
  int compute_block() const { return std::min(block_, kLightningComputeBlock); }
  int num_seqs() const { return num_seqs_; }
  int num_blocks() const { return num_blocks_; }
  // Device tables, 4 ints per block ({first row, rows, index in sequence, 0}), and each
  // sequence's first block plus the total (num_seqs + 1 ints).
  const int32_t* blocks(bool reversed) const { return (reversed ? reversed_ : forward_).data(); }
  const int32_t* seq_blocks() const { return seq_blocks_.data(); }

 private:
  int block_, num_seqs_ = 0, num_blocks_ = 0;
  DeviceBuffer<int32_t> forward_, reversed_, seq_blocks_;
};

// Floats of the block states of a batch: compute blocks × heads × d².
size_t LightningStateFloats(const LightningPlan& plan, const LightningShape& shape);

// Forward over every sequence of the plan's batch (qkv and out are device arrays laid out
// as in kernels/lightning.h; decay.shape() must equal shape and plan.block() shape.block).
// When final_states is not null, the state after the last row of sequence s (every row
// folded in: what decoding continues from) is written to final_states +
// (final_slots ? final_slots[s] : s) · heads·d² (final_slots: device
// [num_seqs]). When block_states is not null (device, LightningStateFloats floats), the
// state at each compute block's start is kept there for the backward.
void LightningForward(const CudaContext& ctx, const float* qkv, int ld, const LightningPlan& plan,
                      const LightningShape& shape, const LightningDecay& decay, float* out,
                      float* final_states = nullptr, const int32_t* final_slots = nullptr,
                      float* block_states = nullptr);

// Given dout [N, heads·d], writes dq/dk/dv into the matching columns of dqkv (row stride
// ld; other columns untouched). block_states: those a forward of the same qkv, plan and
// shape kept, which spares one of the two state passes; null: recomputed.
void LightningBackward(const CudaContext& ctx, const float* qkv, int ld, const float* dout,
                       const LightningPlan& plan, const LightningShape& shape,
                       const LightningDecay& decay, float* dqkv,
                       const float* block_states = nullptr);

// One decoding step for each of `rows` rows of qkv (row stride ld): with S the state of the
// row's slot (states: device [slots, heads, d, d]; slots: device [rows], distinct),
// S ← λ S + k_tᵀ v_t and out_t = q_t S.
void LightningDecodeStep(const CudaContext& ctx, const float* qkv, int ld, int rows,
                         const int32_t* slots, const LightningShape& shape,
                         const LightningDecay& decay, float* states, float* out);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_LIGHTNING_H_
