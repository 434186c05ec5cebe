// Internal to model/: the decoder layer's branches on the GPU, the twins of
// lightning_layer.h, softmax_layer.h and moe_layer.h over device arrays and kernels/cuda.
// Each mirrors its CPU class step for step (the same fused projections, the same order of
// operations), so the CPU classes document the math.
//
// Thread-safety: const methods; concurrent calls need distinct activations and workspaces.
#ifndef LIGHTRL_MODEL_CUDA_LAYERS_H_
#define LIGHTRL_MODEL_CUDA_LAYERS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/lightning.h"
#include "kernels/cuda/rope.h"
#include "model/config.h"
#include "model/layer_weights.h"
#include "model/param_arena.h"
#include "model/workspace.h"

namespace lightrl::model::internal {

using kernels::cuda::CudaContext;
using DeviceFloats = kernels::cuda::DeviceBuffer<float>;
using DeviceInts = kernels::cuda::DeviceBuffer<int32_t>;
using DeviceBf16s = kernels::cuda::DeviceBuffer<kernels::cuda::bf16>;

// Device scratch that persists between calls (the GPU twin of workspace.h).
class DeviceWorkspace {
 public:
  float* Get(Slot slot, size_t n) {
    DeviceFloats& buffer = buffers_[static_cast<size_t>(slot)];
    buffer.MustResize(n);
    return buffer.data();
  }
  // A buffer for bf16 copies (DeviceWeights::Rounded), one per slot, apart from Get's.
  DeviceBf16s* Bf16(Slot slot) { return &bf16_buffers_[static_cast<size_t>(slot)]; }

 private:
  DeviceFloats buffers_[static_cast<size_t>(Slot::kCount)];
  DeviceBf16s bf16_buffers_[static_cast<size_t>(Slot::kCount)];
};

// Resizes a kept activation to at least n elements and returns it.
inline float* Sized(DeviceFloats* buffer, size_t n) {
  buffer->MustResize(n);
  return buffer->data();
}
inline int32_t* Sized(DeviceInts* buffer, size_t n) {
  buffer->MustResize(n);
  return buffer->data();
}

// An activation as an operand of the trunk's products: its FP32 rows and, in the bf16
// trunk, their bf16 copy when one was made (same layout; null: the product rounds the rows
// into scratch itself). A value that feeds several products is rounded once. In the bf16
// trunk f32 may be null where only the copy exists.
struct Operand {
  const float* f32;
  const kernels::cuda::bf16* bf16 = nullptr;

  // The operand from element `offset` on (a block of rows).
  Operand From(size_t offset) const {
    return {f32 + offset, bf16 == nullptr ? nullptr : bf16 + offset};
  }
};

// The weights as the layers see them: the FP32 arena, its bf16 copy (bf16 trunk only) and
// the gradient arena, all on the device; `precision` is the trunk's.
struct DeviceWeights {
  const CudaContext* ctx;
  const float* params;
  const kernels::cuda::bf16* params16;
  float* grads;
  kernels::cuda::GemmPrecision precision;

  // x [n] as an operand: in the bf16 trunk with its bf16 copy, written into *copy (resized
  // to n); in the FP32 trunk as it is (copy untouched).
  Operand Rounded(const float* x, size_t n, DeviceBf16s* copy) const;
  // The copy that Rounded wrote into `copy` in a kept forward, for its backward (null in the
  // FP32 trunk).
  const kernels::cuda::bf16* Kept(const DeviceBf16s& copy) const;
  // y[rows×n] = x[rows×k] · W[n×k]ᵀ with W at arena offset w.
  void Project(const Operand& x, int rows, int k, size_t w, int n, float* y) const;
  // dx[rows×k] = dy[rows×n] · W[n×k] (+ beta · dx).
  void ProjectInputGrad(const Operand& dy, int rows, int n, size_t w, int k, float* dx,
                        float beta) const;
  // grad(W)[n×k] += dy[rows×n]ᵀ · x[rows×k].
  void ProjectWeightGrad(const Operand& dy, int rows, int n, const Operand& x, int k,
                         size_t w) const;
};

// Where a batch's rows sit: host offsets of its sequences and device positions.
struct BatchLayout {
  const kernels::cuda::LightningPlan* lightning;
  const kernels::cuda::AttentionPlan* attention;
  const int32_t* positions;  // device [rows]
};

class CudaLightningLayer {
 public:
  struct Activations {
    DeviceFloats proj, act, core, inv_rms, normed, gated;
    DeviceFloats states;  // the lightning core's block states, for its backward
    DeviceBf16s gated16;  // bf16 trunk: gated's copy (the output projection's input)
  };

  CudaLightningLayer(const CudaContext& ctx, const ModelConfig& config, const ParamLayout& layout,
                     int layer);

  // y [rows, hidden] from a. With final_states, each sequence's last state goes to its slot
  // (final_slots) for decoding.
  void Forward(const DeviceWeights& w, const Operand& a, int rows, const BatchLayout& batch,
               Activations* act, float* y, float* final_states = nullptr,
               const int32_t* final_slots = nullptr) const;
  // Adds ∂L/∂a to da and the weight gradients, given dy.
  void Backward(const DeviceWeights& w, const Operand& a, int rows, const BatchLayout& batch,
                Activations* act, const float* dy, float* da, DeviceWorkspace* ws) const;
  // One row per slot (slots: device [rows]) through the recurrence; states: [slots, state].
  void Decode(const DeviceWeights& w, const Operand& a, int rows, const int32_t* slots,
              float* states, Activations* act, float* y) const;
  size_t StateFloats() const { return static_cast<size_t>(heads_) * dim_ * dim_; }

 private:
  void Project(const DeviceWeights& w, const Operand& a, int rows, Activations* act) const;
  void Finish(const DeviceWeights& w, int rows, Activations* act, float* y) const;

  int hidden_, heads_, dim_, inner_, block_;
  std::unique_ptr<kernels::cuda::LightningDecay> decay_;
  LightningWeights offsets_;
};

class CudaSoftmaxLayer {
 public:
  struct Activations {
    DeviceFloats proj, out, lse;
    DeviceBf16s out16;  // bf16 trunk: out's copy (the output projection's input)
  };

  CudaSoftmaxLayer(const CudaContext& ctx, const ModelConfig& config, const ParamLayout& layout,
                   int layer);

  // With cache, the keys/values of row r are also stored at (cache_slots[r], positions[r]).
  void Forward(const DeviceWeights& w, const Operand& a, int rows, const BatchLayout& batch,
               Activations* act, float* y, const kernels::cuda::KvCacheView* cache = nullptr,
               const int32_t* cache_slots = nullptr) const;
  void Backward(const DeviceWeights& w, const Operand& a, int rows, const BatchLayout& batch,
                Activations* act, const float* dy, float* da, DeviceWorkspace* ws) const;
  // Row r is at position positions[r] of slot slots[r]; it is stored, then attends over
  // positions [0, lengths[r]) (lengths = positions + 1).
  void Decode(const DeviceWeights& w, const Operand& a, int rows, const int32_t* slots,
              const int32_t* positions, const int32_t* lengths,
              const kernels::cuda::KvCacheView& cache, Activations* act, float* y) const;
  int kv_width() const { return kv_; }

 private:
  void Project(const DeviceWeights& w, const Operand& a, int rows, const int32_t* positions,
               Activations* act) const;

  int hidden_, inner_, kv_, width_;
  kernels::AttentionShape shape_;
  std::unique_ptr<kernels::cuda::RopeFrequencies> q_rope_, k_rope_;
  SoftmaxWeights offsets_;
};

// Routing statistics of a forward on the device: routed [E] then prob_sum [E] (doubles).
struct DeviceRouterStats {
  double* values;
  double rows = 0;
};

class CudaMoeLayer {
 public:
  struct Activations {
    DeviceFloats probs, weights, gathered, gate_up, inner, expert_out;
    // bf16 trunk: the experts' inputs (gathered from the input's copy; `gathered` is then
    // unused) and inner, rounded once.
    DeviceBf16s gathered16, inner16;
    DeviceInts experts, slot_position, expert_offsets;
    std::vector<int32_t> host_offsets;  // [E + 1]
  };

  CudaMoeLayer(const ModelConfig& config, const ParamLayout& layout, int layer);

  void Forward(const DeviceWeights& w, const Operand& b, int rows, Activations* act, float* z,
               DeviceRouterStats* stats) const;
  // aux_dprob: device [E] (nullable), ∂(coef · balancing loss)/∂p per expert.
  void Backward(const DeviceWeights& w, const Operand& b, int rows, Activations* act,
                const float* dz, const float* aux_dprob, float* db, DeviceWorkspace* ws) const;

 private:
  int hidden_, inter_, experts_, top_k_;
  MoeWeights offsets_;
};

}  // namespace lightrl::model::internal

#endif  // LIGHTRL_MODEL_CUDA_LAYERS_H_
