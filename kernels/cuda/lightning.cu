#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/lightning.h"
#include "kernels/cuda/mma_tf32x3.cuh"

namespace lightrl::kernels::cuda {
namespace {

using internal::FragA;
using internal::FragB;
using internal::MakeFragA;
using internal::MakeFragB;
using internal::MmaTf32x3;

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kTile = 64;  // rows and columns of a state tile; query rows of an output tile
constexpr int kKeys = 32;  // rows of a block (keys, or state rows) per step
static_assert(kTile == 16 * kWarps, "each warp of the output kernel owns 16 query rows");

// Pitches (floats) of shared tiles, chosen so that a warp's fragment reads hit distinct
// banks (see mma_tf32x3.cuh for the fragments): a tile read down columns, one float from
// rows 2t and 2t+1 at column g, needs a pitch ≡ 4 (mod 32); a tile read along rows, a float2
// from row g at columns 2t and 2t+1, needs a pitch ≡ 8 (mod 32).
constexpr int ColumnReadPitch(int width) { return width + 4; }
constexpr int PairReadPitch(int width) { return width + 8; }

// Rows of one head: row t of the view starts at base + t·ld + head·head_stride.
// `wide`: rows may be copied 16 bytes at a time (base 16-byte aligned, ld, head_stride and
// the head dim multiples of 4 floats).
struct View {
  const float* base;
  int64_t ld;
  int64_t head_stride;
  bool wide = false;
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

// The lane's place in its warp's fragments: lane = 4·g + t.
struct Lane {
  int warp, g, t;
};

__device__ inline Lane ThisLane() {
  const int lane = threadIdx.x % 32;
  return {static_cast<int>(threadIdx.x / 32), lane / 4, lane % 4};
}

// Asynchronous copy of kFloats (1 or 4) floats global → shared; zero-fills when !valid (src
// is then not read).
template <int kFloats>
__device__ inline void CopyAsync(float* dst, const float* src, bool valid) {
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  if constexpr (kFloats == 4) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(address), "l"(src),
                 "r"(valid ? 16 : 0));
  } else {
    static_assert(kFloats == 1);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" ::"r"(address), "l"(src),
                 "r"(valid ? 4 : 0));
  }
}

__device__ inline void CommitCopies() { asm volatile("cp.async.commit_group;"); }

// Waits until at most `kPending` committed groups of this thread are still in flight.
template <int kPending>
__device__ inline void WaitCopies() {
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending));
}

// Starts copying rows [t0, t0 + kRows) and columns [col0, col0 + kWidth) of a view into tile
// (pitch kPitch), zero beyond m rows or d columns, kFloats floats per copy.
template <int kFloats, int kRows, int kWidth, int kPitch>
__device__ inline void CopyTileAsyncBy(const View& v, const BlockEntry& e, int dir, int h, int t0,
                                       int col0, int m, int d, float* tile) {
  constexpr int kLanes = kWidth / kFloats;  // threads per row
  static_assert(kThreads % kLanes == 0 && kRows % (kThreads / kLanes) == 0);
  constexpr int kRowStep = kThreads / kLanes;
  const int col = threadIdx.x % kLanes * kFloats, first = threadIdx.x / kLanes;
  const bool col_valid = col0 + col < d;
  const float* src =
      v.base + PhysicalRow(e, dir, t0 + first) * v.ld + h * v.head_stride + col0 + col;
  const int64_t step = static_cast<int64_t>(dir) * kRowStep * v.ld;
#pragma unroll
  for (int r = first; r < kRows; r += kRowStep, src += step) {
    const bool valid = col_valid && t0 + r < m;
    CopyAsync<kFloats>(tile + r * kPitch + col, valid ? src : v.base, valid);
  }
}

template <int kRows, int kWidth, int kPitch>
__device__ inline void CopyTileAsync(const View& v, const BlockEntry& e, int dir, int h, int t0,
                                     int col0, int m, int d, float* tile) {
  if (v.wide) {
    CopyTileAsyncBy<4, kRows, kWidth, kPitch>(v, e, dir, h, t0, col0, m, d, tile);
  } else {
    CopyTileAsyncBy<1, kRows, kWidth, kPitch>(v, e, dir, h, t0, col0, m, d, tile);
  }
}

// The A fragment of rows [row0, row0 + 16) at k-step k of a tile read along rows.
__device__ inline FragA RowPairFragA(const float* tile, int pitch, int row0, int k, const Lane& l) {
  const float* top = tile + (row0 + l.g) * pitch + k + 2 * l.t;
  const float2 a = *reinterpret_cast<const float2*>(top);
  const float2 b = *reinterpret_cast<const float2*>(top + 8 * pitch);
  return MakeFragA(a.x, b.x, a.y, b.y);
}

// The B fragment of columns [col0, col0 + 8) at k-step k of a tile read down columns.
__device__ inline FragB ColumnFragB(const float* tile, int pitch, int col0, int k, const Lane& l) {
  const float* even = tile + (k + 2 * l.t) * pitch + col0 + l.g;
  return MakeFragB(even[0], even[pitch]);
}

// U_b[r, c] = Σ_j E[m−1−j] b_j[r] c_j[c] over the block's rows (U = Bᵀ C with the keys as
// the k dimension), one 64×64 tile per CTA; each warp owns a 32×32 quarter. Chunks of kKeys
// rows are double-buffered.
__global__ void __launch_bounds__(kThreads)
    BlockOuterKernel(View b, View c, int dir, const BlockEntry* blocks, const float* decay,
                     int block, int d, int heads, float* kv) {
  constexpr int kPitch = ColumnReadPitch(kTile);
  __shared__ __align__(16) float bs[2][kKeys * kPitch];
  __shared__ __align__(16) float cs[2][kKeys * kPitch];
  __shared__ float row_decay[2][kKeys];  // E[m−1−j], 0 beyond the block
  const int blk = blockIdx.x, h = blockIdx.y;
  const int tiles = (d + kTile - 1) / kTile;
  const int ti = blockIdx.z / tiles, tj = blockIdx.z % tiles;
  const BlockEntry e = blocks[blk];
  const int m = e.rows;
  const float* E = decay + static_cast<int64_t>(h) * (block + 1);
  const Lane l = ThisLane();
  const int r0 = (l.warp / 2) * 32, c0 = (l.warp % 2) * 32;
  const auto start_chunk = [&](int chunk) {
    const int j0 = chunk * kKeys, buffer = chunk % 2;
    CopyTileAsync<kKeys, kTile, kPitch>(b, e, dir, h, j0, ti * kTile, m, d, bs[buffer]);
    CopyTileAsync<kKeys, kTile, kPitch>(c, e, dir, h, j0, tj * kTile, m, d, cs[buffer]);
    CommitCopies();
    if (threadIdx.x < kKeys) {
      const int j = j0 + threadIdx.x;
      row_decay[buffer][threadIdx.x] = j < m ? E[m - 1 - j] : 0.0f;
    }
  };
  float acc[2][4][4] = {};
  const int chunks = (m + kKeys - 1) / kKeys;
  start_chunk(0);
  for (int chunk = 0; chunk < chunks; ++chunk) {
    if (chunk + 1 < chunks) {
      start_chunk(chunk + 1);
      WaitCopies<1>();
    } else {
      WaitCopies<0>();
    }
    __syncthreads();
    const float* bt = bs[chunk % 2];
    const float* ct = cs[chunk % 2];
    const float* scale = row_decay[chunk % 2];
#pragma unroll
    for (int k = 0; k < kKeys; k += 8) {
      // A[r][j] = E[m−1−j] bt[j][r]: read down columns like a B fragment.
      const float even_scale = scale[k + 2 * l.t], odd_scale = scale[k + 2 * l.t + 1];
      FragA a[2];
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        const float* even = bt + (k + 2 * l.t) * kPitch + r0 + 16 * mt + l.g;
        a[mt] = MakeFragA(even[0] * even_scale, even[8] * even_scale, even[kPitch] * odd_scale,
                          even[kPitch + 8] * odd_scale);
      }
      FragB f[4];
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) f[nt] = ColumnFragB(ct, kPitch, c0 + 8 * nt, k, l);
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) MmaTf32x3<4>(acc[mt], a[mt], f);
    }
    __syncthreads();  // the buffer is refilled by the next iteration's start_chunk
  }
  float* out = kv + (static_cast<int64_t>(blk) * heads + h) * d * d;
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row = ti * kTile + r0 + 16 * mt + l.g + 8 * half;
      if (row >= d) continue;
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        const int col = tj * kTile + c0 + 8 * nt + 2 * l.t;
        if (col < d) out[row * d + col] = acc[mt][nt][2 * half];
        if (col + 1 < d) out[row * d + col + 1] = acc[mt][nt][2 * half + 1];
      }
    }
  }
}

// Replaces each block's U_b by S_b (the state at its start) and writes the final state. The
// loads of kAhead blocks are issued before their serial updates.
__global__ void ScanKernel(const BlockEntry* __restrict__ blocks,
                           const int32_t* __restrict__ seq_blocks, const float* __restrict__ decay,
                           int block, int d, int heads, float* __restrict__ kv,
                           float* __restrict__ final_states,
                           const int32_t* __restrict__ final_slots) {
  constexpr int kAhead = 8;
  const int s = blockIdx.x, h = blockIdx.y;
  const int64_t e = static_cast<int64_t>(blockIdx.z) * blockDim.x + threadIdx.x;
  const int64_t dd = static_cast<int64_t>(d) * d;
  if (e >= dd) return;
  const float* E = decay + static_cast<int64_t>(h) * (block + 1);
  const int first = seq_blocks[s], last = seq_blocks[s + 1];
  const auto slot = [&](int blk) { return kv + (static_cast<int64_t>(blk) * heads + h) * dd + e; };
  float state = 0;
  for (int blk0 = first; blk0 < last; blk0 += kAhead) {
    float update[kAhead], scale[kAhead];
#pragma unroll
    for (int q = 0; q < kAhead; ++q) {
      if (blk0 + q >= last) break;
      update[q] = *slot(blk0 + q);
      scale[q] = E[blocks[blk0 + q].rows];
    }
#pragma unroll
    for (int q = 0; q < kAhead; ++q) {
      if (blk0 + q >= last) break;
      *slot(blk0 + q) = state;
      state = state * scale[q] + update[q];
    }
  }
  if (final_states != nullptr) {
    const int64_t seq = final_slots != nullptr ? final_slots[s] : s;
    final_states[(seq * heads + h) * dd + e] = state;
  }
}

// Shared tiles of the output kernel: 64 query rows (read along rows), then two step buffers,
// each kKeys keys (read along rows) followed by kKeys values (read down columns), or a
// chunk of the state: kKeys of its rows (read down columns) or, transposed, all its rows and
// kKeys of its columns (read along rows).
template <int kDim>
struct OutputTiles {
  static constexpr int kQPitch = PairReadPitch(kDim);
  static constexpr int kKPitch = PairReadPitch(kDim);
  static constexpr int kVPitch = ColumnReadPitch(kDim);
  static constexpr int kTransposedPitch = PairReadPitch(kKeys);
  static constexpr int kStepFloats = kKeys * (kKPitch + kVPitch);
  static constexpr int kFloats = kTile * kQPitch + 2 * kStepFloats;
  static_assert(kDim * kTransposedPitch <= kStepFloats);
};

// o_i for 64 rows of one block of one head (see the header comment); warp w owns rows
// [16w, 16w + 16) of the tile and all kDim output columns. The steps (kDim / kKeys chunks of
// the state when the block has one, then the key chunks up to the tile's last row) are
// double-buffered. With kTransposedState, S is read as the transpose of the stored state.
template <int kDim, bool kTransposedState>
__global__ void __launch_bounds__(kThreads)
    BlockOutputKernel(View a, View b, View c, OutView out, int dir, const BlockEntry* blocks,
                      const float* decay, int block, int d, int heads, const float* kv) {
  using Tiles = OutputTiles<kDim>;
  constexpr int kColTiles = kDim / 8;
  constexpr int kGroup = kColTiles < 8 ? kColTiles : 8;  // column tiles issued together
  extern __shared__ __align__(16) float shared[];
  float* qs = shared;
  const int blk = blockIdx.x, h = blockIdx.y;
  const BlockEntry e = blocks[blk];
  const int m = e.rows;
  const int i0 = (gridDim.z - 1 - blockIdx.z) * kTile;  // the longest tiles (most keys) first
  if (i0 >= m) return;
  const float* E = decay + static_cast<int64_t>(h) * (block + 1);
  const Lane l = ThisLane();
  const int w0 = 16 * l.warp;         // the warp's first row in the tile
  const bool active = i0 + w0 < m;    // whether the warp has rows of the block
  const int row_top = i0 + w0 + l.g;  // the block rows of the lane's two accumulator rows
  const int row_bottom = row_top + 8;
  const View state{kv + (static_cast<int64_t>(blk) * heads + h) * d * d, d, 0, d % 4 == 0};
  const BlockEntry state_rows{0, d, 0, 0};
  const int state_steps = e.index_in_seq > 0 ? kDim / kKeys : 0;
  const int keys = min(i0 + kTile, m);  // the keys up to the tile's last row
  const int steps = state_steps + (keys + kKeys - 1) / kKeys;
  const auto key_buffer = [&](int step) {
    return qs + kTile * Tiles::kQPitch + (step % 2) * Tiles::kStepFloats;
  };
  const auto value_buffer = [&](int step) { return key_buffer(step) + kKeys * Tiles::kKPitch; };
  const auto start_step = [&](int step) {
    if (step < state_steps && kTransposedState) {
      CopyTileAsync<kDim, kKeys, Tiles::kTransposedPitch>(state, state_rows, 1, 0, 0, step * kKeys,
                                                          d, d, key_buffer(step));
    } else if (step < state_steps) {
      CopyTileAsync<kKeys, kDim, Tiles::kVPitch>(state, state_rows, 1, 0, step * kKeys, 0, d, d,
                                                 key_buffer(step));
    } else {
      const int j0 = (step - state_steps) * kKeys;
      CopyTileAsync<kKeys, kDim, Tiles::kKPitch>(b, e, dir, h, j0, 0, m, d, key_buffer(step));
      CopyTileAsync<kKeys, kDim, Tiles::kVPitch>(c, e, dir, h, j0, 0, m, d, value_buffer(step));
    }
    CommitCopies();
  };
  // The B fragment of S (rows k0 + [k, k + 8), columns [8nt, 8nt + 8)) from a state chunk.
  const auto state_frag = [&](const float* chunk, int nt, int k) {
    if constexpr (kTransposedState) {
      const float2 pair = *reinterpret_cast<const float2*>(
          chunk + (8 * nt + l.g) * Tiles::kTransposedPitch + k + 2 * l.t);
      return MakeFragB(pair.x, pair.y);
    } else {
      return ColumnFragB(chunk, Tiles::kVPitch, 8 * nt, k, l);
    }
  };
  CopyTileAsync<kTile, kDim, Tiles::kQPitch>(a, e, dir, h, i0, 0, m, d, qs);
  start_step(0);
  float acc[kColTiles][4] = {};
  for (int step = 0; step < steps; ++step) {
    if (step + 1 < steps) {
      start_step(step + 1);
      WaitCopies<1>();
    } else {
      WaitCopies<0>();
    }
    __syncthreads();
    const float* kt_tile = key_buffer(step);
    const float* vt_tile = value_buffer(step);
    if (step < state_steps) {
      // Inter-block term: (q_i S) with S the state at the block's start; λ^{i+1} after the
      // last state chunk.
      const int k0 = step * kKeys;
      if (active) {
#pragma unroll
        for (int k = 0; k < kKeys; k += 8) {
          const FragA f = RowPairFragA(qs, Tiles::kQPitch, w0, k0 + k, l);
#pragma unroll
          for (int n0 = 0; n0 < kColTiles; n0 += kGroup) {
            FragB g[kGroup];
#pragma unroll
            for (int nt = 0; nt < kGroup; ++nt) g[nt] = state_frag(kt_tile, n0 + nt, k);
            MmaTf32x3<kGroup>(acc + n0, f, g);
          }
        }
      }
      if (step == state_steps - 1) {
        const float top = row_top < m ? E[row_top + 1] : 0.0f;
        const float bottom = row_bottom < m ? E[row_bottom + 1] : 0.0f;
#pragma unroll
        for (int nt = 0; nt < kColTiles; ++nt) {
          acc[nt][0] *= top;
          acc[nt][1] *= top;
          acc[nt][2] *= bottom;
          acc[nt][3] *= bottom;
        }
      }
    } else if (const int j0 = (step - state_steps) * kKeys; active && j0 <= i0 + w0 + 15) {
      // Intra-block term for keys [j0, j0 + kKeys) when one precedes a row of the warp: scores
      // p = q kᵀ (keys as columns), the decay mask λ^{i−j} for j ≤ i, then o += p v.
      float p[kKeys / 8][4] = {};
#pragma unroll
      for (int k = 0; k < kDim; k += 8) {
        const FragA f = RowPairFragA(qs, Tiles::kQPitch, w0, k, l);
        FragB g[kKeys / 8];
#pragma unroll
        for (int nt = 0; nt < kKeys / 8; ++nt) {
          const float2 key = *reinterpret_cast<const float2*>(
              kt_tile + (8 * nt + l.g) * Tiles::kKPitch + k + 2 * l.t);
          g[nt] = MakeFragB(key.x, key.y);
        }
        MmaTf32x3<kKeys / 8>(p, f, g);
      }
#pragma unroll
      for (int nt = 0; nt < kKeys / 8; ++nt) {
        const int j = j0 + 8 * nt + 2 * l.t;
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const int i = q < 2 ? row_top : row_bottom, jj = j + (q & 1);
          p[nt][q] = jj <= i && i < m ? p[nt][q] * E[i - jj] : 0.0f;
        }
      }
      // The scores' C tile of keys [8kt, 8kt + 8) is the A fragment of k-step kt.
#pragma unroll
      for (int kt = 0; kt < kKeys / 8; ++kt) {
        const FragA f = MakeFragA(p[kt][0], p[kt][2], p[kt][1], p[kt][3]);
#pragma unroll
        for (int n0 = 0; n0 < kColTiles; n0 += kGroup) {
          FragB g[kGroup];
#pragma unroll
          for (int nt = 0; nt < kGroup; ++nt) {
            g[nt] = ColumnFragB(vt_tile, Tiles::kVPitch, 8 * (n0 + nt), 8 * kt, l);
          }
          MmaTf32x3<kGroup>(acc + n0, f, g);
        }
      }
    }
    __syncthreads();  // the buffer is refilled by the next iteration's start_step
  }
  if (!active) return;
#pragma unroll
  for (int nt = 0; nt < kColTiles; ++nt) {
    const int col = 8 * nt + 2 * l.t;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int i = half == 0 ? row_top : row_bottom;
      if (i >= m) continue;
      float* row = out.base + PhysicalRow(e, dir, i) * out.ld + h * out.head_stride;
      if (col < d) row[col] = acc[nt][2 * half];
      if (col + 1 < d) row[col + 1] = acc[nt][2 * half + 1];
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

template <int kDim, bool kTransposedState>
void LaunchOutput(const CudaContext& ctx, dim3 grid, const View& a, const View& b, const View& c,
                  const OutView& out, int dir, const BlockEntry* blocks, const float* decay,
                  const LightningShape& shape, const float* kv) {
  constexpr size_t kBytes = OutputTiles<kDim>::kFloats * sizeof(float);
  internal::AllowSharedMemory<BlockOutputKernel<kDim, kTransposedState>>(kBytes);
  BlockOutputKernel<kDim, kTransposedState><<<grid, kThreads, kBytes, ctx.stream()>>>(
      a, b, c, out, dir, blocks, decay, shape.block, shape.dim, shape.heads, kv);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

View MakeView(const float* base, int64_t ld, int64_t head_stride, int d) {
  const bool wide = reinterpret_cast<uintptr_t>(base) % 16 == 0 && ld % 4 == 0 &&
                    head_stride % 4 == 0 && d % 4 == 0;
  return {base, ld, head_stride, wide};
}

const BlockEntry* Blocks(const LightningPlan& plan, int dir) {
  return reinterpret_cast<const BlockEntry*>(plan.blocks(dir < 0));
}

// The states of a block-form pass in the direction `dir` whose keys and values are b and c:
// states[blk, h] = S at the start of block blk (plan order), S = Σ λ^{…} b_jᵀ c_j over the
// sequence's earlier blocks. Optionally the final states (see LightningForward).
void BlockStates(const CudaContext& ctx, const View& b, const View& c, int dir,
                 const LightningPlan& plan, const LightningShape& shape, const float* decay,
                 float* states, float* final_states = nullptr,
                 const int32_t* final_slots = nullptr) {
  const int d = shape.dim, heads = shape.heads;
  const int64_t dd = static_cast<int64_t>(d) * d;
  const int tiles = (d + kTile - 1) / kTile;
  BlockOuterKernel<<<dim3(plan.num_blocks(), heads, tiles * tiles), kThreads, 0, ctx.stream()>>>(
      b, c, dir, Blocks(plan, dir), decay, shape.block, d, heads, states);
  LIGHTRL_CUDA_CHECK_LAUNCH();
  ScanKernel<<<dim3(plan.num_seqs(), heads, (dd + 255) / 256), 256, 0, ctx.stream()>>>(
      Blocks(plan, dir), plan.seq_blocks(), decay, shape.block, d, heads, states, final_states,
      final_slots);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

// out_i = λ^{i+1} a_i S_b + Σ_{j≤i} λ^{i−j} (a_i · b_j) c_j over each block of the pass in the
// direction `dir`, with S_b from `states` (BlockStates of the same direction), or its
// transpose.
void BlockOutputs(const CudaContext& ctx, const View& a, const View& b, const View& c,
                  const OutView& out, int dir, const LightningPlan& plan,
                  const LightningShape& shape, const float* decay, const float* states,
                  bool transposed_states) {
  const dim3 grid(plan.num_blocks(), shape.heads, (shape.block + kTile - 1) / kTile);
  const BlockEntry* blocks = Blocks(plan, dir);
  const auto launch = [&]<int kDim>() {
    if (transposed_states) {
      LaunchOutput<kDim, true>(ctx, grid, a, b, c, out, dir, blocks, decay, shape, states);
    } else {
      LaunchOutput<kDim, false>(ctx, grid, a, b, c, out, dir, blocks, decay, shape, states);
    }
  };
  if (shape.dim <= 32) {
    launch.template operator()<32>();
  } else if (shape.dim <= 64) {
    launch.template operator()<64>();
  } else {
    launch.template operator()<128>();
  }
}

// Floats of the states of one pass: blocks × heads × d².
size_t StateFloats(const LightningPlan& plan, const LightningShape& shape) {
  return static_cast<size_t>(plan.num_blocks()) * shape.heads * shape.dim * shape.dim;
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
  if (plan.num_blocks() == 0) return;
  const int d = shape.dim;
  const int64_t ldo = static_cast<int64_t>(shape.heads) * d;
  const View q = MakeView(qkv, ld, 3 * d, d), k = MakeView(qkv + d, ld, 3 * d, d),
             v = MakeView(qkv + 2 * d, ld, 3 * d, d);
  Scratch<float> states(ctx, StateFloats(plan, shape));
  BlockStates(ctx, k, v, 1, plan, shape, decay.data(), states.data(), final_states, final_slots);
  BlockOutputs(ctx, q, k, v, {out, ldo, d}, 1, plan, shape, decay.data(), states.data(), false);
}

void LightningBackward(const CudaContext& ctx, const float* qkv, int ld, const float* dout,
                       const LightningPlan& plan, const LightningShape& shape,
                       const LightningDecay& decay, float* dqkv) {
  CheckShape(shape, decay);
  CHECK_EQ(plan.block(), shape.block);
  if (plan.num_blocks() == 0) return;
  const int d = shape.dim;
  const int64_t ldo = static_cast<int64_t>(shape.heads) * d;
  const View q = MakeView(qkv, ld, 3 * d, d), k = MakeView(qkv + d, ld, 3 * d, d),
             v = MakeView(qkv + 2 * d, ld, 3 * d, d);
  const View g = MakeView(dout, ldo, d, d);
  Scratch<float> states(ctx, StateFloats(plan, shape));
  // dq_t = Σ_{u≤t} λ^{t−u} (g_t·v_u) k_u: the forward with (q, k, v) := (g, v, k).
  BlockStates(ctx, v, k, 1, plan, shape, decay.data(), states.data());
  BlockOutputs(ctx, g, v, k, {dqkv, ld, 3 * d}, 1, plan, shape, decay.data(), states.data(), false);
  // dk_u = Σ_{t≥u} λ^{t−u} (v_u·g_t) q_t and dv_u = Σ_{t≥u} λ^{t−u} (k_u·q_t) g_t: the forward
  // in reversed time with (v, g, q) and (k, q, g), whose states Σ gᵀq and Σ qᵀg are
  // transposes of each other.
  BlockStates(ctx, g, q, -1, plan, shape, decay.data(), states.data());
  BlockOutputs(ctx, v, g, q, {dqkv + d, ld, 3 * d}, -1, plan, shape, decay.data(), states.data(),
               false);
  BlockOutputs(ctx, k, q, g, {dqkv + 2 * d, ld, 3 * d}, -1, plan, shape, decay.data(),
               states.data(), true);
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
