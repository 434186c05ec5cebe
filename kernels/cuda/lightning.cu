#include <algorithm>
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/lightning.h"

namespace lightrl::kernels::cuda {
namespace {

constexpr int kThreads = 256;  // 16 × 16 threads, each owning rows ty+16a and columns tx+16b
constexpr int kTile = 64;      // query rows, key rows and state rows per tile
constexpr int kKvChunk = 32;   // rows per step of the outer-product kernel

// Rows of one head: row t of the view starts at base + t·ld + head·head_stride.
struct View {
  const float* base;
  int64_t ld;
  int64_t head_stride;
};

struct OutView {
  float* base;
  int64_t ld;
  int64_t head_stride;
};

// A block of one sequence: logical row i is physical row row0 + dir·i.
struct BlockEntry {
  int32_t row0;
  int32_t rows;
  int32_t index_in_seq;
  int32_t pad;
};

__device__ inline int64_t PhysicalRow(const BlockEntry& e, int dir, int i) {
  return static_cast<int64_t>(e.row0) + static_cast<int64_t>(dir) * i;
}

// U_b[r, c] = Σ_j E[m−1−j] b_j[r] c_j[c] over the block's rows, one 64×64 tile per CTA.
__global__ void __launch_bounds__(kThreads)
    BlockOuterKernel(View b, View c, int dir, const BlockEntry* blocks, const float* decay,
                     int block, int d, int heads, float* kv) {
  __shared__ float bs[kKvChunk][kTile];
  __shared__ float cs[kKvChunk][kTile];
  const int blk = blockIdx.x, h = blockIdx.y;
  const int tiles = (d + kTile - 1) / kTile;
  const int ti = blockIdx.z / tiles, tj = blockIdx.z % tiles;
  const BlockEntry e = blocks[blk];
  const int m = e.rows;
  const float* E = decay + static_cast<int64_t>(h) * (block + 1);
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  float acc[4][4] = {};
  for (int j0 = 0; j0 < m; j0 += kKvChunk) {
    for (int idx = tid; idx < kKvChunk * kTile; idx += kThreads) {
      const int jj = idx / kTile, col = idx % kTile, j = j0 + jj;
      const int r = ti * kTile + col, cc = tj * kTile + col;
      float bv = 0, cv = 0;
      if (j < m) {
        const int64_t row = PhysicalRow(e, dir, j);
        if (r < d) bv = b.base[row * b.ld + h * b.head_stride + r] * E[m - 1 - j];
        if (cc < d) cv = c.base[row * c.ld + h * c.head_stride + cc];
      }
      bs[jj][col] = bv;
      cs[jj][col] = cv;
    }
    __syncthreads();
#pragma unroll 4
    for (int jj = 0; jj < kKvChunk; ++jj) {
      float bv[4], cv[4];
#pragma unroll
      for (int a = 0; a < 4; ++a) bv[a] = bs[jj][ty + 16 * a];
#pragma unroll
      for (int q = 0; q < 4; ++q) cv[q] = cs[jj][tx + 16 * q];
#pragma unroll
      for (int a = 0; a < 4; ++a)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc[a][q] += bv[a] * cv[q];
    }
    __syncthreads();
  }
  float* out = kv + (static_cast<int64_t>(blk) * heads + h) * d * d;
#pragma unroll
  for (int a = 0; a < 4; ++a) {
    const int r = ti * kTile + ty + 16 * a;
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int cc = tj * kTile + tx + 16 * q;
      if (r < d && cc < d) out[static_cast<int64_t>(r) * d + cc] = acc[a][q];
    }
  }
}

// Replaces each block's U_b by S_b (the state at its start) and writes the final state.
__global__ void ScanKernel(const BlockEntry* blocks, const int32_t* seq_blocks, const float* decay,
                           int block, int d, int heads, float* kv, float* final_states,
                           const int32_t* final_slots) {
  const int s = blockIdx.x, h = blockIdx.y;
  const int64_t e = static_cast<int64_t>(blockIdx.z) * blockDim.x + threadIdx.x;
  const int64_t dd = static_cast<int64_t>(d) * d;
  if (e >= dd) return;
  const float* E = decay + static_cast<int64_t>(h) * (block + 1);
  float state = 0;
  for (int blk = seq_blocks[s]; blk < seq_blocks[s + 1]; ++blk) {
    float* slot = kv + (static_cast<int64_t>(blk) * heads + h) * dd + e;
    const float update = *slot;
    *slot = state;
    state = state * E[blocks[blk].rows] + update;
  }
  if (final_states != nullptr) {
    const int64_t seq = final_slots != nullptr ? final_slots[s] : s;
    final_states[(seq * heads + h) * dd + e] = state;
  }
}

template <int kDim>
constexpr int OutSharedFloats() {
  return 3 * kTile * (kDim + 1) + kTile * (kTile + 1);
}

// Loads rows [t0, t0+64) of a view (zero beyond m rows or d columns) into tile[64][kDim+1].
template <int kDim>
__device__ inline void LoadRows(const View& v, const BlockEntry& e, int dir, int h, int t0, int m,
                                int d, float* tile) {
  for (int idx = threadIdx.x; idx < kTile * kDim; idx += kThreads) {
    const int rr = idx / kDim, col = idx % kDim, t = t0 + rr;
    float value = 0;
    if (t < m && col < d) value = v.base[PhysicalRow(e, dir, t) * v.ld + h * v.head_stride + col];
    tile[rr * (kDim + 1) + col] = value;
  }
}

// o_i for 64 rows of one block of one head (see the header comment).
template <int kDim>
__global__ void __launch_bounds__(kThreads)
    BlockOutputKernel(View a, View b, View c, OutView out, int dir, const BlockEntry* blocks,
                      const float* decay, int block, int d, int heads, const float* kv) {
  constexpr int kCols = kDim / 16;  // output columns per thread
  constexpr int kPitch = kDim + 1;
  extern __shared__ float shared[];
  float* qs = shared;
  float* ks = qs + kTile * kPitch;
  float* vs = ks + kTile * kPitch;
  float* ps = vs + kTile * kPitch;  // [64][65]
  const int blk = blockIdx.x, h = blockIdx.y;
  const BlockEntry e = blocks[blk];
  const int m = e.rows;
  const int i0 = blockIdx.z * kTile;
  if (i0 >= m) return;
  const float* E = decay + static_cast<int64_t>(h) * (block + 1);
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  float acc[4][kCols] = {};
  LoadRows<kDim>(a, e, dir, h, i0, m, d, qs);
  if (e.index_in_seq > 0) {
    // Inter-block term: (q_i S) with S the state at the block's start, then λ^{i+1}.
    const float* state = kv + (static_cast<int64_t>(blk) * heads + h) * d * d;
    constexpr int kStateRows = kDim < kTile ? kDim : kTile;
    for (int k0 = 0; k0 < d; k0 += kStateRows) {
      __syncthreads();
      for (int idx = tid; idx < kStateRows * kDim; idx += kThreads) {
        const int kk = idx / kDim, col = idx % kDim;
        ks[kk * kPitch + col] =
            (k0 + kk < d && col < d) ? state[static_cast<int64_t>(k0 + kk) * d + col] : 0.0f;
      }
      __syncthreads();
#pragma unroll 4
      for (int kk = 0; kk < kStateRows; ++kk) {
        float qv[4], sv[kCols];
#pragma unroll
        for (int r = 0; r < 4; ++r) qv[r] = qs[(ty + 16 * r) * kPitch + k0 + kk];
#pragma unroll
        for (int q = 0; q < kCols; ++q) sv[q] = ks[kk * kPitch + tx + 16 * q];
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
          for (int q = 0; q < kCols; ++q) acc[r][q] += qv[r] * sv[q];
      }
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int i = i0 + ty + 16 * r;
      const float scale = i < m ? E[i + 1] : 0.0f;
#pragma unroll
      for (int q = 0; q < kCols; ++q) acc[r][q] *= scale;
    }
  }
  // Intra-block term over key tiles up to the diagonal one.
  for (int j0 = 0; j0 <= i0; j0 += kTile) {
    __syncthreads();
    LoadRows<kDim>(b, e, dir, h, j0, m, d, ks);
    LoadRows<kDim>(c, e, dir, h, j0, m, d, vs);
    __syncthreads();
    float s[4][4] = {};
#pragma unroll 4
    for (int k = 0; k < kDim; ++k) {
      float qv[4], kv_[4];
#pragma unroll
      for (int r = 0; r < 4; ++r) qv[r] = qs[(ty + 16 * r) * kPitch + k];
#pragma unroll
      for (int q = 0; q < 4; ++q) kv_[q] = ks[(tx + 16 * q) * kPitch + k];
#pragma unroll
      for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int q = 0; q < 4; ++q) s[r][q] += qv[r] * kv_[q];
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int i = i0 + ty + 16 * r;
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const int j = j0 + tx + 16 * q;
        const bool keep = j <= i && i < m;
        ps[(ty + 16 * r) * (kTile + 1) + tx + 16 * q] = keep ? s[r][q] * E[i - j] : 0.0f;
      }
    }
    __syncthreads();
#pragma unroll 4
    for (int jj = 0; jj < kTile; ++jj) {
      float pv[4], vv[kCols];
#pragma unroll
      for (int r = 0; r < 4; ++r) pv[r] = ps[(ty + 16 * r) * (kTile + 1) + jj];
#pragma unroll
      for (int q = 0; q < kCols; ++q) vv[q] = vs[jj * kPitch + tx + 16 * q];
#pragma unroll
      for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int q = 0; q < kCols; ++q) acc[r][q] += pv[r] * vv[q];
    }
  }
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int i = i0 + ty + 16 * r;
    if (i >= m) continue;
    float* row = out.base + PhysicalRow(e, dir, i) * out.ld + h * out.head_stride;
#pragma unroll
    for (int q = 0; q < kCols; ++q) {
      const int col = tx + 16 * q;
      if (col < d) row[col] = acc[r][q];
    }
  }
}

__global__ void DecodeStepKernel(const float* qkv, int64_t ld, const int32_t* slots,
                                 const float* decay, int block, int d, int heads, float* states,
                                 float* out) {
  extern __shared__ float qk[];  // q then k, d each
  const int64_t row = blockIdx.x;
  const int h = blockIdx.y;
  const float* q = qkv + row * ld + static_cast<int64_t>(3) * h * d;
  for (int i = threadIdx.x; i < 2 * d; i += blockDim.x) qk[i] = q[i];
  __syncthreads();
  const int c = threadIdx.x;
  if (c >= d) return;
  const float lambda = decay[static_cast<int64_t>(h) * (block + 1) + 1];
  const float v = q[2 * d + c];
  float* state = states + (static_cast<int64_t>(slots[row]) * heads + h) * d * d;
  float acc = 0;
  for (int r = 0; r < d; ++r) {
    const float s = state[static_cast<int64_t>(r) * d + c] * lambda + qk[d + r] * v;
    state[static_cast<int64_t>(r) * d + c] = s;
    acc += qk[r] * s;
  }
  out[row * heads * d + static_cast<int64_t>(h) * d + c] = acc;
}

std::vector<BlockEntry> MakeBlocks(std::span<const int32_t> seq_offsets, int block, int dir,
                                   std::vector<int32_t>* seq_blocks) {
  std::vector<BlockEntry> blocks;
  const int num_seqs = static_cast<int>(seq_offsets.size()) - 1;
  for (int s = 0; s < num_seqs; ++s) {
    if (seq_blocks != nullptr) seq_blocks->push_back(static_cast<int32_t>(blocks.size()));
    const int len = seq_offsets[s + 1] - seq_offsets[s];
    int index = 0;
    for (int t0 = 0; t0 < len; t0 += block) {
      const int m = std::min(block, len - t0);
      const int row0 = dir > 0 ? seq_offsets[s] + t0 : seq_offsets[s + 1] - 1 - t0;
      blocks.push_back({row0, m, index++, 0});
    }
  }
  if (seq_blocks != nullptr) seq_blocks->push_back(static_cast<int32_t>(blocks.size()));
  return blocks;
}

void Upload(const CudaContext& ctx, const std::vector<BlockEntry>& blocks,
            DeviceBuffer<int32_t>* out) {
  static_assert(sizeof(BlockEntry) == 4 * sizeof(int32_t));
  out->MustResize(4 * blocks.size());
  CopyToDevice(ctx, reinterpret_cast<const int32_t*>(blocks.data()), 4 * blocks.size(),
               out->data());
}

template <int kDim>
void LaunchOutput(const CudaContext& ctx, dim3 grid, const View& a, const View& b, const View& c,
                  const OutView& out, int dir, const BlockEntry* blocks, const float* decay,
                  const LightningShape& shape, const float* kv) {
  constexpr size_t kBytes = OutSharedFloats<kDim>() * sizeof(float);
  static const bool configured = [] {
    LIGHTRL_CUDA_CHECK(cudaFuncSetAttribute(BlockOutputKernel<kDim>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize, kBytes));
    return true;
  }();
  (void)configured;
  BlockOutputKernel<kDim><<<grid, kThreads, kBytes, ctx.stream()>>>(
      a, b, c, out, dir, blocks, decay, shape.block, shape.dim, shape.heads, kv);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

// One block-form pass: out_i = Σ_{j≤i} λ^{i−j} (a_i · b_j) c_j over each sequence in the
// direction `dir`, with (a, b, c) in the roles of (q, k, v).
void RunPass(const CudaContext& ctx, const View& a, const View& b, const View& c,
             const OutView& out, int dir, const LightningPlan& plan, const LightningShape& shape,
             const float* decay, float* final_states, const int32_t* final_slots) {
  const int num_blocks = plan.num_blocks();
  const int num_seqs = plan.num_seqs();
  if (num_blocks == 0) return;
  const auto* blocks = reinterpret_cast<const BlockEntry*>(plan.blocks(dir < 0));
  const int d = shape.dim, heads = shape.heads;
  const int64_t dd = static_cast<int64_t>(d) * d;
  Scratch<float> kv(ctx, static_cast<size_t>(num_blocks) * heads * dd);
  const int tiles = (d + kTile - 1) / kTile;
  BlockOuterKernel<<<dim3(num_blocks, heads, tiles * tiles), kThreads, 0, ctx.stream()>>>(
      b, c, dir, blocks, decay, shape.block, d, heads, kv.data());
  LIGHTRL_CUDA_CHECK_LAUNCH();
  ScanKernel<<<dim3(num_seqs, heads, (dd + 255) / 256), 256, 0, ctx.stream()>>>(
      blocks, plan.seq_blocks(), decay, shape.block, d, heads, kv.data(), final_states,
      final_slots);
  LIGHTRL_CUDA_CHECK_LAUNCH();
  const dim3 grid(num_blocks, heads, (shape.block + kTile - 1) / kTile);
  if (d <= 32) {
    LaunchOutput<32>(ctx, grid, a, b, c, out, dir, blocks, decay, shape, kv.data());
  } else if (d <= 64) {
    LaunchOutput<64>(ctx, grid, a, b, c, out, dir, blocks, decay, shape, kv.data());
  } else {
    LaunchOutput<128>(ctx, grid, a, b, c, out, dir, blocks, decay, shape, kv.data());
  }
}

void CheckShape(const LightningShape& shape, const LightningDecay& decay) {
  CHECK(shape.dim > 0 && shape.dim <= kMaxCudaLightningHeadDim)
      << "lightning head dim " << shape.dim << " (the GPU kernels take at most "
      << kMaxCudaLightningHeadDim << ")";
  CHECK(shape.heads > 0 && shape.block > 0);
  CHECK(decay.shape().heads == shape.heads && decay.shape().block == shape.block);
}

}  // namespace

LightningDecay::LightningDecay(const CudaContext& ctx, const LightningShape& shape,
                               const float* slopes)
    : shape_(shape) {
  std::vector<float> host;
  for (int h = 0; h < shape.heads; ++h) {
    const std::vector<float> t = LightningDecayTable<float>(slopes[h], shape.block);
    host.insert(host.end(), t.begin(), t.end());
  }
  table_.MustResize(host.size());
  CopyToDevice(ctx, host.data(), host.size(), table_.data());
}

LightningPlan::LightningPlan(const CudaContext& ctx, std::span<const int32_t> seq_offsets,
                             int block)
    : block_(block) {
  CHECK_GT(block, 0);
  num_seqs_ = std::max(0, static_cast<int>(seq_offsets.size()) - 1);
  std::vector<int32_t> seq_blocks;
  const std::vector<BlockEntry> forward = MakeBlocks(seq_offsets, block, 1, &seq_blocks);
  const std::vector<BlockEntry> reversed = MakeBlocks(seq_offsets, block, -1, nullptr);
  num_blocks_ = static_cast<int>(forward.size());
  Upload(ctx, forward, &forward_);
  Upload(ctx, reversed, &reversed_);
  seq_blocks_.MustResize(seq_blocks.size());
  CopyToDevice(ctx, seq_blocks.data(), seq_blocks.size(), seq_blocks_.data());
}

void LightningForward(const CudaContext& ctx, const float* qkv, int ld, const LightningPlan& plan,
                      const LightningShape& shape, const LightningDecay& decay, float* out,
                      float* final_states, const int32_t* final_slots) {
  CheckShape(shape, decay);
  CHECK_EQ(plan.block(), shape.block);
  const int d = shape.dim;
  const int64_t ldo = static_cast<int64_t>(shape.heads) * d;
  RunPass(ctx, {qkv, ld, 3 * d}, {qkv + d, ld, 3 * d}, {qkv + 2 * d, ld, 3 * d}, {out, ldo, d}, 1,
          plan, shape, decay.data(), final_states, final_slots);
}

void LightningBackward(const CudaContext& ctx, const float* qkv, int ld, const float* dout,
                       const LightningPlan& plan, const LightningShape& shape,
                       const LightningDecay& decay, float* dqkv) {
  CheckShape(shape, decay);
  CHECK_EQ(plan.block(), shape.block);
  const int d = shape.dim;
  const int64_t ldo = static_cast<int64_t>(shape.heads) * d;
  const View q{qkv, ld, 3 * d}, k{qkv + d, ld, 3 * d}, v{qkv + 2 * d, ld, 3 * d};
  const View g{dout, ldo, d};
  // dq_t = Σ_{u≤t} λ^{t−u} (g_t·v_u) k_u; dk_u = Σ_{t≥u} λ^{t−u} (v_u·g_t) q_t;
  // dv_u = Σ_{t≥u} λ^{t−u} (k_u·q_t) g_t.
  RunPass(ctx, g, v, k, {dqkv, ld, 3 * d}, 1, plan, shape, decay.data(), nullptr, nullptr);
  RunPass(ctx, v, g, q, {dqkv + d, ld, 3 * d}, -1, plan, shape, decay.data(), nullptr, nullptr);
  RunPass(ctx, k, q, g, {dqkv + 2 * d, ld, 3 * d}, -1, plan, shape, decay.data(), nullptr, nullptr);
}

void LightningDecodeStep(const CudaContext& ctx, const float* qkv, int ld, int rows,
                         const int32_t* slots, const LightningShape& shape,
                         const LightningDecay& decay, float* states, float* out) {
  CheckShape(shape, decay);
  if (rows <= 0) return;
  const int threads = std::max(32, (shape.dim + 31) / 32 * 32);
  DecodeStepKernel<<<dim3(rows, shape.heads), threads, 2 * shape.dim * sizeof(float),
                     ctx.stream()>>>(qkv, ld, slots, decay.data(), shape.block, shape.dim,
                                     shape.heads, states, out);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

}  // namespace lightrl::kernels::cuda
