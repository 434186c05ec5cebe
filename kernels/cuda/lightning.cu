#include <algorithm>
#include <cstdint>
#include <span>
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

constexpr int kThreads = 128;        // threads of the state-fold kernel (4 warps)
constexpr int kOutputThreads = 256;  // threads of the output kernel (8 warps)
constexpr int kTile = 64;  // rows and columns of a state tile; query rows of an output tile
constexpr int kKeys = 32;  // rows of a block (keys, or state rows) per step
static_assert(kTile == 16 * (kOutputThreads / 64), "each output row group is 16 rows, 2 warps");

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
// (pitch kPitch), zero beyond m rows or d columns, kFloats floats per copy, by the kCount
// threads of the CTA.
template <int kCount, int kFloats, int kRows, int kWidth, int kPitch>
__device__ inline void CopyTileAsyncBy(const View& v, const BlockEntry& e, int dir, int h, int t0,
                                       int col0, int m, int d, float* tile) {
  constexpr int kLanes = kWidth / kFloats;  // threads per row
  static_assert(kCount % kLanes == 0 && kRows % (kCount / kLanes) == 0);
  constexpr int kRowStep = kCount / kLanes;
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

template <int kRows, int kWidth, int kPitch, int kCount = kThreads>
__device__ inline void CopyTileAsync(const View& v, const BlockEntry& e, int dir, int h, int t0,
                                     int col0, int m, int d, float* tile) {
  if (v.wide) {
    CopyTileAsyncBy<kCount, 4, kRows, kWidth, kPitch>(v, e, dir, h, t0, col0, m, d, tile);
  } else {
    CopyTileAsyncBy<kCount, 1, kRows, kWidth, kPitch>(v, e, dir, h, t0, col0, m, d, tile);
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

// One state pass: U = Σ λ^{…} b_jᵀ c_j over each block of the direction `dir` (blocks: that
// direction's table), into kv [blocks, heads, d, d].
struct StatePass {
  View b, c;
  int dir;
  const BlockEntry* blocks;
  float* kv;
};
constexpr int kMaxStatePasses = 2;
struct StatePasses {
  StatePass pass[kMaxStatePasses];
};

// U_b[r, c] = Σ_j E[m−1−j] b_j[r] c_j[c] over the block's rows (U = Bᵀ C with the keys as
// the k dimension), one 64×64 tile per CTA (blockIdx.z = pass · tiles² + tile); each warp
// owns a 32×32 quarter. Chunks of kKeys rows are double-buffered.
__global__ void __launch_bounds__(kThreads, 4)
    BlockOuterKernel(const __grid_constant__ StatePasses passes, const float* decay, int block,
                     int d, int heads) {
  constexpr int kPitch = ColumnReadPitch(kTile);
  __shared__ __align__(16) float bs[2][kKeys * kPitch];
  __shared__ __align__(16) float cs[2][kKeys * kPitch];
  __shared__ float row_decay[2][kKeys];  // E[m−1−j], 0 beyond the block
  const int blk = blockIdx.x, h = blockIdx.y;
  const int tiles = (d + kTile - 1) / kTile;
  const StatePass& pass = passes.pass[blockIdx.z / (tiles * tiles)];
  const int tile = blockIdx.z % (tiles * tiles);
  const int ti = tile / tiles, tj = tile % tiles;
  const BlockEntry e = pass.blocks[blk];
  const int m = e.rows;
  const float* E = decay + static_cast<int64_t>(h) * (block + 1);
  const Lane l = ThisLane();
  const int r0 = (l.warp / 2) * 32, c0 = (l.warp % 2) * 32;
  const auto start_chunk = [&](int chunk) {
    const int j0 = chunk * kKeys, buffer = chunk % 2;
    CopyTileAsync<kKeys, kTile, kPitch>(pass.b, e, pass.dir, h, j0, ti * kTile, m, d, bs[buffer]);
    CopyTileAsync<kKeys, kTile, kPitch>(pass.c, e, pass.dir, h, j0, tj * kTile, m, d, cs[buffer]);
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
  float* out = pass.kv + (static_cast<int64_t>(blk) * heads + h) * d * d;
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

// Replaces each block's U_b by S_b (the state at its start), for each pass (blockIdx.z =
// pass · z_per_pass + …), and writes pass 0's final states when final_states is not null.
// The loads of kAhead blocks are issued before their serial updates.
__global__ void ScanKernel(const __grid_constant__ StatePasses passes, int z_per_pass,
                           const int32_t* __restrict__ seq_blocks, const float* __restrict__ decay,
                           int block, int d, int heads, float* __restrict__ final_states,
                           const int32_t* __restrict__ final_slots) {
  constexpr int kAhead = 8;
  const int s = blockIdx.x, h = blockIdx.y, p = blockIdx.z / z_per_pass;
  const StatePass& pass = passes.pass[p];
  const BlockEntry* __restrict__ blocks = pass.blocks;
  float* __restrict__ kv = pass.kv;
  const int64_t e = static_cast<int64_t>(blockIdx.z % z_per_pass) * blockDim.x + threadIdx.x;
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
  if (final_states != nullptr && p == 0) {
    const int64_t seq = final_slots != nullptr ? final_slots[s] : s;
    final_states[(seq * heads + h) * dd + e] = state;
  }
}

// One output pass: out_i = λ^{i+1} a_i S_b + Σ_{j≤i} λ^{i−j} (a_i · b_j) c_j over each block of
// the direction `dir`, with S_b from kv (a StatePass of the same direction), or its transpose.
struct OutputPass {
  View a, b, c;
  OutView out;
  int dir;
  const BlockEntry* blocks;
  const float* kv;
  bool transposed;
};
constexpr int kMaxOutputPasses = 3;
struct OutputPasses {
  OutputPass pass[kMaxOutputPasses];
};

// Shared tiles of the output kernel: 64 query rows (read along rows), two step buffers, each
// kKeys keys (read along rows) followed by kKeys values (read down columns) or kKeys rows of
// the state (read down columns), and the 64 × kKeys scores of a step.
template <int kDim>
struct OutputTiles {
  static constexpr int kQPitch = PairReadPitch(kDim);
  static constexpr int kKPitch = PairReadPitch(kDim);
  static constexpr int kVPitch = ColumnReadPitch(kDim);
  static constexpr int kStepFloats = kKeys * (kKPitch + kVPitch);
  static constexpr int kScoresOffset = kTile * kQPitch + 2 * kStepFloats;
  static constexpr int kFloats = kScoresOffset + kTile * kKeys;
};

// The index of score (row, col) in the scores tile: row-major with the float pairs of a row
// permuted (pair slot ^ 4·(row % 4)), so that a warp's pair reads and writes of rows g and
// columns 2t, 2t + 1 hit distinct banks.
__device__ inline int ScoreIndex(int row, int col) {
  return row * kKeys + (col ^ ((row & 3) << 3));
}

// Waits for the two warps of row group `group` (warps group and group + 4) at barrier
// 1 + group (0 is __syncthreads').
__device__ inline void GroupBarrier(int group) {
  switch (group) {
    case 0:
      asm volatile("bar.sync 1, 64;" ::: "memory");
      break;
    case 1:
      asm volatile("bar.sync 2, 64;" ::: "memory");
      break;
    case 2:
      asm volatile("bar.sync 3, 64;" ::: "memory");
      break;
    default:
      asm volatile("bar.sync 4, 64;" ::: "memory");
      break;
  }
}

// Starts copying rows [k0, k0 + kKeys) of the transpose of the d×d state (row-major at
// state) into tile (pitch kPitch): tile[k][n] = state[n][k0 + k], zero beyond d. A warp
// reads 8 consecutive columns of 4 state rows and writes 8 tile rows of 4 consecutive
// columns, which land in distinct banks when kPitch ≡ 4 (mod 32).
template <int kDim, int kPitch>
__device__ inline void CopyTransposedAsync(const float* state, int d, int k0, float* tile) {
  static_assert(kDim * kKeys % kOutputThreads == 0 && kKeys % 8 == 0);
#pragma unroll
  for (int e = threadIdx.x; e < kDim * kKeys; e += kOutputThreads) {
    const int lane = e % 32, group = e / 32;
    const int k = group % (kKeys / 8) * 8 + lane % 8, n = group / (kKeys / 8) * 4 + lane / 8;
    const bool valid = n < d && k0 + k < d;
    CopyAsync<1>(tile + k * kPitch + n,
                 valid ? state + static_cast<int64_t>(n) * d + k0 + k : state, valid);
  }
}

// o_i for 64 rows of one block of one head (see the header comment), for each output pass
// (blockIdx.z = tile rank · passes + pass; the tiles with the most keys first). The 8 warps
// form 4 row groups of 16 rows: warp w owns rows [16(w % 4), +16) of the tile and output
// columns [(w / 4)·kDim/2, +kDim/2). The steps (kDim / kKeys chunks of the state when the
// block has one, then the key chunks up to the tile's last row) are double-buffered. In a
// key step, the two warps of a row group each score half of the chunk's keys and exchange
// the scores through shared memory.
template <int kDim>
__global__ void __launch_bounds__(kOutputThreads, 2)
    BlockOutputKernel(const __grid_constant__ OutputPasses passes, int num_passes,
                      const float* decay, int block, int d, int heads) {
  using Tiles = OutputTiles<kDim>;
  constexpr int kHalf = kDim / 2;
  constexpr int kColTiles = kHalf / 8;
  constexpr int kHalfKeys = kKeys / 2;
  extern __shared__ __align__(16) float shared[];
  float* qs = shared;
  float* scores = shared + Tiles::kScoresOffset;
  const int blk = blockIdx.x, h = blockIdx.y;
  const OutputPass& pass = passes.pass[blockIdx.z % num_passes];
  const BlockEntry e = pass.blocks[blk];
  const int m = e.rows;
  const int i0 = (gridDim.z / num_passes - 1 - blockIdx.z / num_passes) * kTile;
  if (i0 >= m) return;
  const float* E = decay + static_cast<int64_t>(h) * (block + 1);
  const Lane l = ThisLane();
  const int group = l.warp % 4, half = l.warp / 4;
  const int w0 = 16 * group;          // the group's first row in the tile
  const int n0 = half * kColTiles;    // the warp's first column tile
  const bool active = i0 + w0 < m;    // whether the group has rows of the block
  const int last_row = i0 + w0 + 15;  // the group's last row (in the block)
  const int row_top = i0 + w0 + l.g;  // the block rows of the lane's two accumulator rows
  const int row_bottom = row_top + 8;
  const float* state = pass.kv + (static_cast<int64_t>(blk) * heads + h) * d * d;
  const View state_view{state, d, 0, d % 4 == 0};
  const BlockEntry state_rows{0, d, 0, 0};
  const int state_steps = e.index_in_seq > 0 ? kDim / kKeys : 0;
  const int keys = min(i0 + kTile, m);  // the keys up to the tile's last row
  const int steps = state_steps + (keys + kKeys - 1) / kKeys;
  const auto key_buffer = [&](int step) {
    return qs + kTile * Tiles::kQPitch + (step % 2) * Tiles::kStepFloats;
  };
  const auto value_buffer = [&](int step) { return key_buffer(step) + kKeys * Tiles::kKPitch; };
  const auto start_step = [&](int step) {
    if (step < state_steps && pass.transposed) {
      CopyTransposedAsync<kDim, Tiles::kVPitch>(state, d, step * kKeys, key_buffer(step));
    } else if (step < state_steps) {
      CopyTileAsync<kKeys, kDim, Tiles::kVPitch, kOutputThreads>(
          state_view, state_rows, 1, 0, step * kKeys, 0, d, d, key_buffer(step));
    } else {
      const int j0 = (step - state_steps) * kKeys;
      CopyTileAsync<kKeys, kDim, Tiles::kKPitch, kOutputThreads>(pass.b, e, pass.dir, h, j0, 0, m,
                                                                 d, key_buffer(step));
      CopyTileAsync<kKeys, kDim, Tiles::kVPitch, kOutputThreads>(pass.c, e, pass.dir, h, j0, 0, m,
                                                                 d, value_buffer(step));
    }
    CommitCopies();
  };
  CopyTileAsync<kTile, kDim, Tiles::kQPitch, kOutputThreads>(pass.a, e, pass.dir, h, i0, 0, m, d,
                                                             qs);
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
          FragB g[kColTiles];
#pragma unroll
          for (int nt = 0; nt < kColTiles; ++nt) {
            g[nt] = ColumnFragB(kt_tile, Tiles::kVPitch, 8 * (n0 + nt), k, l);
          }
          MmaTf32x3<kColTiles>(acc, f, g);
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
    } else if (const int j0 = (step - state_steps) * kKeys; active && j0 <= last_row) {
      // Intra-block term for keys [j0, j0 + kKeys) when one precedes a row of the group: the
      // warp scores keys [jh, jh + kHalfKeys) (p = q kᵀ, then the decay mask λ^{i−j} for
      // j ≤ i) into the scores tile, then o += p v over the halves that precede a row.
      if (const int jh = j0 + kHalfKeys * half; jh <= last_row) {
        float p[kHalfKeys / 8][4] = {};
#pragma unroll
        for (int k = 0; k < kDim; k += 8) {
          const FragA f = RowPairFragA(qs, Tiles::kQPitch, w0, k, l);
          FragB g[kHalfKeys / 8];
#pragma unroll
          for (int nt = 0; nt < kHalfKeys / 8; ++nt) {
            const float2 key = *reinterpret_cast<const float2*>(
                kt_tile + (kHalfKeys * half + 8 * nt + l.g) * Tiles::kKPitch + k + 2 * l.t);
            g[nt] = MakeFragB(key.x, key.y);
          }
          MmaTf32x3<kHalfKeys / 8>(p, f, g);
        }
#pragma unroll
        for (int nt = 0; nt < kHalfKeys / 8; ++nt) {
          const int j = jh + 8 * nt + 2 * l.t;
#pragma unroll
          for (int q = 0; q < 4; ++q) {
            const int i = q < 2 ? row_top : row_bottom, jj = j + (q & 1);
            p[nt][q] = jj <= i && i < m ? p[nt][q] * E[i - jj] : 0.0f;
          }
          const int col = kHalfKeys * half + 8 * nt + 2 * l.t;
          *reinterpret_cast<float2*>(scores + ScoreIndex(w0 + l.g, col)) =
              make_float2(p[nt][0], p[nt][1]);
          *reinterpret_cast<float2*>(scores + ScoreIndex(w0 + l.g + 8, col)) =
              make_float2(p[nt][2], p[nt][3]);
        }
      }
      GroupBarrier(group);
      // Scores of keys [8kt, 8kt + 8) as the A fragment of k-step kt (with the k order of
      // mma_tf32x3.cuh); only the halves scored above are read.
#pragma unroll
      for (int kt = 0; kt < kKeys / 8; ++kt) {
        if (j0 + 8 * kt > last_row) break;
        const float2 top =
            *reinterpret_cast<const float2*>(scores + ScoreIndex(w0 + l.g, 8 * kt + 2 * l.t));
        const float2 bottom =
            *reinterpret_cast<const float2*>(scores + ScoreIndex(w0 + l.g + 8, 8 * kt + 2 * l.t));
        const FragA f = MakeFragA(top.x, bottom.x, top.y, bottom.y);
        FragB g[kColTiles];
#pragma unroll
        for (int nt = 0; nt < kColTiles; ++nt) {
          g[nt] = ColumnFragB(vt_tile, Tiles::kVPitch, 8 * (n0 + nt), 8 * kt, l);
        }
        MmaTf32x3<kColTiles>(acc, f, g);
      }
    }
    __syncthreads();  // the buffers are refilled by the next iteration's start_step
  }
  if (!active) return;
#pragma unroll
  for (int nt = 0; nt < kColTiles; ++nt) {
    const int col = 8 * (n0 + nt) + 2 * l.t;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int i = r == 0 ? row_top : row_bottom;
      if (i >= m) continue;
      float* row =
          pass.out.base + PhysicalRow(e, pass.dir, i) * pass.out.ld + h * pass.out.head_stride;
      if (col < d) row[col] = acc[nt][2 * r];
      if (col + 1 < d) row[col + 1] = acc[nt][2 * r + 1];
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

View MakeView(const float* base, int64_t ld, int64_t head_stride, int d) {
  const bool wide = reinterpret_cast<uintptr_t>(base) % 16 == 0 && ld % 4 == 0 &&
                    head_stride % 4 == 0 && d % 4 == 0;
  return {base, ld, head_stride, wide};
}

const BlockEntry* Blocks(const LightningPlan& plan, int dir) {
  return reinterpret_cast<const BlockEntry*>(plan.blocks(dir < 0));
}

// Writes the states of each pass: pass.kv[blk, h] = S at the start of block blk (plan order
// of the pass's direction), S = Σ λ^{…} b_jᵀ c_j over the sequence's earlier blocks; the
// passes run in the same launches. Optionally pass 0's final states (see LightningForward).
void BlockStates(const CudaContext& ctx, std::span<const StatePass> passes,
                 const LightningPlan& plan, const LightningShape& shape, const float* decay,
                 float* final_states = nullptr, const int32_t* final_slots = nullptr) {
  CHECK(!passes.empty() && passes.size() <= kMaxStatePasses);
  StatePasses all{};
  std::copy(passes.begin(), passes.end(), all.pass);
  const int d = shape.dim, heads = shape.heads, count = static_cast<int>(passes.size());
  const int64_t dd = static_cast<int64_t>(d) * d;
  const int tiles = (d + kTile - 1) / kTile;
  BlockOuterKernel<<<dim3(plan.num_blocks(), heads, count * tiles * tiles), kThreads, 0,
                     ctx.stream()>>>(all, decay, shape.block, d, heads);
  LIGHTRL_CUDA_CHECK_LAUNCH();
  const int z_per_pass = static_cast<int>((dd + 255) / 256);
  ScanKernel<<<dim3(plan.num_seqs(), heads, count * z_per_pass), 256, 0, ctx.stream()>>>(
      all, z_per_pass, plan.seq_blocks(), decay, shape.block, d, heads, final_states, final_slots);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

template <int kDim>
void LaunchOutputs(const CudaContext& ctx, dim3 grid, const OutputPasses& passes, int count,
                   const float* decay, const LightningShape& shape) {
  constexpr size_t kBytes = OutputTiles<kDim>::kFloats * sizeof(float);
  internal::AllowSharedMemory<BlockOutputKernel<kDim>>(kBytes);
  BlockOutputKernel<kDim><<<grid, kOutputThreads, kBytes, ctx.stream()>>>(
      passes, count, decay, shape.block, shape.dim, shape.heads);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

// Runs the output passes (each reading the states of a BlockStates pass of its direction) in
// one launch.
void BlockOutputs(const CudaContext& ctx, std::span<const OutputPass> passes,
                  const LightningPlan& plan, const LightningShape& shape, const float* decay) {
  CHECK(!passes.empty() && passes.size() <= kMaxOutputPasses);
  OutputPasses all{};
  std::copy(passes.begin(), passes.end(), all.pass);
  const int count = static_cast<int>(passes.size());
  const dim3 grid(plan.num_blocks(), shape.heads,
                  count * ((plan.compute_block() + kTile - 1) / kTile));
  if (shape.dim <= 32) {
    LaunchOutputs<32>(ctx, grid, all, count, decay, shape);
  } else if (shape.dim <= 64) {
    LaunchOutputs<64>(ctx, grid, all, count, decay, shape);
  } else {
    LaunchOutputs<128>(ctx, grid, all, count, decay, shape);
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

size_t LightningStateFloats(const LightningPlan& plan, const LightningShape& shape) {
  return static_cast<size_t>(plan.num_blocks()) * shape.heads * shape.dim * shape.dim;
}

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
  const std::vector<BlockEntry> forward = MakeBlocks(seq_offsets, compute_block(), 1, &seq_blocks);
  const std::vector<BlockEntry> reversed = MakeBlocks(seq_offsets, compute_block(), -1, nullptr);
  num_blocks_ = static_cast<int>(forward.size());
  Upload(ctx, forward, &forward_);
  Upload(ctx, reversed, &reversed_);
  seq_blocks_.MustResize(seq_blocks.size());
  CopyToDevice(ctx, seq_blocks.data(), seq_blocks.size(), seq_blocks_.data());
}

void LightningForward(const CudaContext& ctx, const float* qkv, int ld, const LightningPlan& plan,
                      const LightningShape& shape, const LightningDecay& decay, float* out,
                      float* final_states, const int32_t* final_slots, float* block_states) {
  CheckShape(shape, decay);
  CHECK_EQ(plan.block(), shape.block);
  if (plan.num_blocks() == 0) return;
  const int d = shape.dim;
  const int64_t ldo = static_cast<int64_t>(shape.heads) * d;
  const View q = MakeView(qkv, ld, 3 * d, d), k = MakeView(qkv + d, ld, 3 * d, d),
             v = MakeView(qkv + 2 * d, ld, 3 * d, d);
  Scratch<float> scratch(ctx, block_states != nullptr ? 0 : LightningStateFloats(plan, shape));
  float* states = block_states != nullptr ? block_states : scratch.data();
  const StatePass state_pass{k, v, 1, Blocks(plan, 1), states};
  BlockStates(ctx, {&state_pass, 1}, plan, shape, decay.data(), final_states, final_slots);
  const OutputPass output_pass{q, k, v, {out, ldo, d}, 1, Blocks(plan, 1), states, false};
  BlockOutputs(ctx, {&output_pass, 1}, plan, shape, decay.data());
}

void LightningBackward(const CudaContext& ctx, const float* qkv, int ld, const float* dout,
                       const LightningPlan& plan, const LightningShape& shape,
                       const LightningDecay& decay, float* dqkv, const float* block_states) {
  CheckShape(shape, decay);
  CHECK_EQ(plan.block(), shape.block);
  if (plan.num_blocks() == 0) return;
  const int d = shape.dim;
  const int64_t ldo = static_cast<int64_t>(shape.heads) * d;
  const View q = MakeView(qkv, ld, 3 * d, d), k = MakeView(qkv + d, ld, 3 * d, d),
             v = MakeView(qkv + 2 * d, ld, 3 * d, d);
  const View g = MakeView(dout, ldo, d, d);
  const size_t state_floats = LightningStateFloats(plan, shape);
  const bool recompute = block_states == nullptr;
  Scratch<float> states(ctx, (recompute ? 2 : 1) * state_floats);
  float* reversed_states = states.data();
  float* recomputed_states = reversed_states + state_floats;
  // dq_t = Σ_{u≤t} λ^{t−u} (g_t·v_u) k_u: the forward with (q, k, v) := (g, v, k), whose
  // states Σ vᵀk are the transposes of the forward's Σ kᵀv.
  // dk_u = Σ_{t≥u} λ^{t−u} (v_u·g_t) q_t and dv_u = Σ_{t≥u} λ^{t−u} (k_u·q_t) g_t: the forward
  // in reversed time with (v, g, q) and (k, q, g), whose states Σ gᵀq and Σ qᵀg are
  // transposes of each other.
  const StatePass state_passes[] = {{g, q, -1, Blocks(plan, -1), reversed_states},
                                    {k, v, 1, Blocks(plan, 1), recomputed_states}};
  const OutputPass output_passes[] = {
      {g,
       v,
       k,
       {dqkv, ld, 3 * d},
       1,
       Blocks(plan, 1),
       recompute ? recomputed_states : block_states,
       true},
      {v, g, q, {dqkv + d, ld, 3 * d}, -1, Blocks(plan, -1), reversed_states, false},
      {k, q, g, {dqkv + 2 * d, ld, 3 * d}, -1, Blocks(plan, -1), reversed_states, true}};
  BlockStates(ctx, std::span(state_passes, recompute ? 2 : 1), plan, shape, decay.data());
  BlockOutputs(ctx, output_passes, plan, shape, decay.data());
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
