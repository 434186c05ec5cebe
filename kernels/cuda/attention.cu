#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/common.cuh"

namespace lightrl::kernels::cuda {
namespace {

constexpr int kThreads = 256;  // 16 × 16: thread (ty, tx) owns rows ty+16r, columns tx+16q
constexpr int kTile = 64;
// Rows of the shared tiles start 16-byte aligned, so the inner loops read four values per
// shared load (the same products in the same order as one value at a time).
template <int kDim>
constexpr int kRowPitch = kDim + 4;
constexpr int kScorePitch = kTile + 4;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// A 64-row tile of one sequence: rows [start + t0, start + min(t0 + 64, len)).
struct Tile {
  int32_t start;
  int32_t len;
  int32_t t0;
  int32_t pad;
};

// Loads rows [t0, t0+64) of a sequence's head (zero beyond len or d) into
// tile[64][kRowPitch].
template <int kDim>
__device__ inline void LoadRows(const float* base, int64_t ld, int64_t col0, const Tile& t, int d,
                                float* tile) {
  for (int idx = threadIdx.x; idx < kTile * kDim; idx += kThreads) {
    const int rr = idx / kDim, col = idx % kDim, row = t.t0 + rr;
    float value = 0;
    if (row < t.len && col < d)
      value = base[(t.start + static_cast<int64_t>(row)) * ld + col0 + col];
    tile[rr * kRowPitch<kDim> + col] = value;
  }
}

// s[r][q] = Σ_k a[(ty+16r)][k] · b[(tx+16q)][k] over kDim columns of two [64][kRowPitch]
// tiles, k in order.
template <int kDim>
__device__ inline void TileDot(const float* a, const float* b, float s[4][4]) {
  constexpr int kPitch = kRowPitch<kDim>;
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
#pragma unroll
  for (int r = 0; r < 4; ++r)
#pragma unroll
    for (int q = 0; q < 4; ++q) s[r][q] = 0;
#pragma unroll 2
  for (int k0 = 0; k0 < kDim; k0 += 4) {
    float4 av[4], bv[4];
#pragma unroll
    for (int r = 0; r < 4; ++r)
      av[r] = *reinterpret_cast<const float4*>(a + (ty + 16 * r) * kPitch + k0);
#pragma unroll
    for (int q = 0; q < 4; ++q)
      bv[q] = *reinterpret_cast<const float4*>(b + (tx + 16 * q) * kPitch + k0);
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        s[r][q] += av[r].x * bv[q].x;
        s[r][q] += av[r].y * bv[q].y;
        s[r][q] += av[r].z * bv[q].z;
        s[r][q] += av[r].w * bv[q].w;
      }
  }
}

// acc[r][q] += Σ_j p[(ty+16r)][j] · x[j][(tx+16q)] for a [64][kScorePitch] p and a
// [64][kRowPitch] x, j in order.
template <int kDim>
__device__ inline void AccumulateProduct(const float* p, const float* x, float acc[4][kDim / 16]) {
  constexpr int kPitch = kRowPitch<kDim>;
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
#pragma unroll 2
  for (int j0 = 0; j0 < kTile; j0 += 4) {
    float4 pv[4];
#pragma unroll
    for (int r = 0; r < 4; ++r)
      pv[r] = *reinterpret_cast<const float4*>(p + (ty + 16 * r) * kScorePitch + j0);
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) {
      float xv[kDim / 16];
#pragma unroll
      for (int q = 0; q < kDim / 16; ++q) xv[q] = x[(j0 + jj) * kPitch + tx + 16 * q];
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const float pj = jj == 0 ? pv[r].x : jj == 1 ? pv[r].y : jj == 2 ? pv[r].z : pv[r].w;
#pragma unroll
        for (int q = 0; q < kDim / 16; ++q) acc[r][q] += pj * xv[q];
      }
    }
  }
}

// Reductions over the 16 threads that share a row (one half-warp).
__device__ inline float RowMax(float v) {
#pragma unroll
  for (int offset = 8; offset > 0; offset /= 2)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}
__device__ inline float RowSum(float v) {
#pragma unroll
  for (int offset = 8; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <int kDim>
__global__ void __launch_bounds__(kThreads)
    ForwardKernel(const float* q, int64_t ldq, const float* k, int64_t ldk, const float* v,
                  int64_t ldv, const Tile* tiles, int heads, int group, int d, float scale,
                  float* out, float* lse) {
  constexpr int kPitch = kRowPitch<kDim>;
  extern __shared__ float shared[];
  float* qs = shared;
  float* ks = qs + kTile * kPitch;
  float* vs = ks + kTile * kPitch;
  float* ps = vs + kTile * kPitch;
  const Tile t = tiles[blockIdx.x];
  const int h = blockIdx.y, g = h / group;
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
  LoadRows<kDim>(q, ldq, static_cast<int64_t>(h) * d, t, d, qs);
  float acc[4][kDim / 16] = {};
  float row_max[4], row_sum[4];
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    row_max[r] = kNegInf;
    row_sum[r] = 0;
  }
  for (int j0 = 0; j0 <= t.t0; j0 += kTile) {
    __syncthreads();
    const Tile keys{t.start, t.len, j0, 0};
    LoadRows<kDim>(k, ldk, static_cast<int64_t>(g) * d, keys, d, ks);
    LoadRows<kDim>(v, ldv, static_cast<int64_t>(g) * d, keys, d, vs);
    __syncthreads();
    float s[4][4];
    TileDot<kDim>(qs, ks, s);
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int i = t.t0 + ty + 16 * r;
      float tile_max = kNegInf;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int j = j0 + tx + 16 * c;
        s[r][c] = (j <= i && j < t.len) ? s[r][c] * scale : kNegInf;
        tile_max = fmaxf(tile_max, s[r][c]);
      }
      const float new_max = fmaxf(row_max[r], RowMax(tile_max));
      const float rescale = expf(row_max[r] - new_max);
      float tile_sum = 0;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float p = expf(s[r][c] - new_max);
        tile_sum += p;
        ps[(ty + 16 * r) * kScorePitch + tx + 16 * c] = p;
      }
      row_sum[r] = row_sum[r] * rescale + RowSum(tile_sum);
      row_max[r] = new_max;
#pragma unroll
      for (int c = 0; c < kDim / 16; ++c) acc[r][c] *= rescale;
    }
    __syncthreads();
    AccumulateProduct<kDim>(ps, vs, acc);
  }
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int i = t.t0 + ty + 16 * r;
    if (i >= t.len) continue;
    const int64_t row = t.start + static_cast<int64_t>(i);
    float* o = out + row * heads * d + static_cast<int64_t>(h) * d;
#pragma unroll
    for (int c = 0; c < kDim / 16; ++c) {
      const int col = tx + 16 * c;
      if (col < d) o[col] = acc[r][c] / row_sum[r];
    }
    if (tx == 0) lse[row * heads + h] = row_max[r] + logf(row_sum[r]);
  }
}

// delta[row, h] = Σ_c dout[row, h, c] · out[row, h, c]; one warp per (row, head).
__global__ void DeltaKernel(const float* out, const float* dout, int64_t pairs, int d,
                            float* delta) {
  const int64_t pair =
      (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / internal::kWarp;
  const int lane = threadIdx.x % internal::kWarp;
  if (pair >= pairs) return;
  float sum = 0;
  for (int c = lane; c < d; c += internal::kWarp) sum += dout[pair * d + c] * out[pair * d + c];
  sum = internal::WarpSum(sum);
  if (lane == 0) delta[pair] = sum;
}

template <int kDim>
__global__ void __launch_bounds__(kThreads)
    BackwardDqKernel(const float* q, int64_t ldq, const float* k, int64_t ldk, const float* v,
                     int64_t ldv, const float* lse, const float* delta, const float* dout,
                     const Tile* tiles, int heads, int group, int d, float scale, float* dq) {
  constexpr int kPitch = kRowPitch<kDim>;
  extern __shared__ float shared[];
  float* qs = shared;
  float* dos = qs + kTile * kPitch;
  float* ks = dos + kTile * kPitch;
  float* vs = ks + kTile * kPitch;
  float* ds = vs + kTile * kPitch;
  const Tile t = tiles[blockIdx.x];
  const int h = blockIdx.y, g = h / group;
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
  const int64_t ldo = static_cast<int64_t>(heads) * d;
  LoadRows<kDim>(q, ldq, static_cast<int64_t>(h) * d, t, d, qs);
  LoadRows<kDim>(dout, ldo, static_cast<int64_t>(h) * d, t, d, dos);
  float row_lse[4], row_delta[4];
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int i = t.t0 + ty + 16 * r;
    const int64_t row = t.start + static_cast<int64_t>(min(i, t.len - 1));
    row_lse[r] = lse[row * heads + h];
    row_delta[r] = delta[row * heads + h];
  }
  float acc[4][kDim / 16] = {};
  for (int j0 = 0; j0 <= t.t0; j0 += kTile) {
    __syncthreads();
    const Tile keys{t.start, t.len, j0, 0};
    LoadRows<kDim>(k, ldk, static_cast<int64_t>(g) * d, keys, d, ks);
    LoadRows<kDim>(v, ldv, static_cast<int64_t>(g) * d, keys, d, vs);
    __syncthreads();
    float s[4][4], dp[4][4];
    TileDot<kDim>(qs, ks, s);
    TileDot<kDim>(dos, vs, dp);
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int i = t.t0 + ty + 16 * r;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int j = j0 + tx + 16 * c;
        const bool keep = j <= i && i < t.len;
        const float p = keep ? expf(s[r][c] * scale - row_lse[r]) : 0.0f;
        ds[(ty + 16 * r) * kScorePitch + tx + 16 * c] = p * (dp[r][c] - row_delta[r]) * scale;
      }
    }
    __syncthreads();
    AccumulateProduct<kDim>(ds, ks, acc);
  }
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int i = t.t0 + ty + 16 * r;
    if (i >= t.len) continue;
    float* o = dq + (t.start + static_cast<int64_t>(i)) * ldq + static_cast<int64_t>(h) * d;
#pragma unroll
    for (int c = 0; c < kDim / 16; ++c) {
      const int col = tx + 16 * c;
      if (col < d) o[col] = acc[r][c];
    }
  }
}

// One key tile of one query head h: its contributions to dk and dv, summed over every query
// tile at or after the key tile, written to dk_out/dv_out (strides ld_dk, ld_dv) at column
// out_col_per_head · h. The tiles are read in reverse order (see AttentionPlan).
template <int kDim>
__global__ void __launch_bounds__(kThreads)
    BackwardDkvKernel(const float* q, int64_t ldq, const float* k, int64_t ldk, const float* v,
                      int64_t ldv, const float* lse, const float* delta, const float* dout,
                      const Tile* tiles, int heads, int group, int d, float scale, float* dk_out,
                      int64_t ld_dk, float* dv_out, int64_t ld_dv, int out_col_per_head) {
  constexpr int kPitch = kRowPitch<kDim>;
  extern __shared__ float shared[];
  float* ks = shared;
  float* vs = ks + kTile * kPitch;
  float* qs = vs + kTile * kPitch;
  float* dos = qs + kTile * kPitch;
  float* pt = dos + kTile * kPitch;          // [key][query]
  float* dst = pt + kTile * kScorePitch;     // [key][query]
  float* stats = dst + kTile * kScorePitch;  // lse then delta of the query tile
  const Tile t = tiles[gridDim.x - 1 - blockIdx.x];
  const int h = blockIdx.y, g = h / group;
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
  const int64_t ldo = static_cast<int64_t>(heads) * d;
  LoadRows<kDim>(k, ldk, static_cast<int64_t>(g) * d, t, d, ks);
  LoadRows<kDim>(v, ldv, static_cast<int64_t>(g) * d, t, d, vs);
  float dk_acc[4][kDim / 16] = {}, dv_acc[4][kDim / 16] = {};
  for (int i0 = t.t0; i0 < t.len; i0 += kTile) {
    __syncthreads();
    const Tile queries{t.start, t.len, i0, 0};
    LoadRows<kDim>(q, ldq, static_cast<int64_t>(h) * d, queries, d, qs);
    LoadRows<kDim>(dout, ldo, static_cast<int64_t>(h) * d, queries, d, dos);
    if (threadIdx.x < kTile) {
      const int i = i0 + threadIdx.x;
      const int64_t row = t.start + static_cast<int64_t>(min(i, t.len - 1));
      stats[threadIdx.x] = lse[row * heads + h];
      stats[kTile + threadIdx.x] = delta[row * heads + h];
    }
    __syncthreads();
    float s[4][4], dp[4][4];
    TileDot<kDim>(ks, qs, s);  // s[key r][query c]
    TileDot<kDim>(vs, dos, dp);
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int j = t.t0 + ty + 16 * r;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int qi = tx + 16 * c, i = i0 + qi;
        const bool keep = j <= i && i < t.len && j < t.len;
        const float p = keep ? expf(s[r][c] * scale - stats[qi]) : 0.0f;
        pt[(ty + 16 * r) * kScorePitch + qi] = p;
        dst[(ty + 16 * r) * kScorePitch + qi] = p * (dp[r][c] - stats[kTile + qi]) * scale;
      }
    }
    __syncthreads();
    AccumulateProduct<kDim>(pt, dos, dv_acc);
    AccumulateProduct<kDim>(dst, qs, dk_acc);
  }
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int j = t.t0 + ty + 16 * r;
    if (j >= t.len) continue;
    const int64_t row = t.start + static_cast<int64_t>(j);
    float* dko = dk_out + row * ld_dk + static_cast<int64_t>(h) * out_col_per_head;
    float* dvo = dv_out + row * ld_dv + static_cast<int64_t>(h) * out_col_per_head;
#pragma unroll
    for (int c = 0; c < kDim / 16; ++c) {
      const int col = tx + 16 * c;
      if (col < d) {
        dko[col] = dk_acc[r][c];
        dvo[col] = dv_acc[r][c];
      }
    }
  }
}

// dk[row, g·d + c] = Σ over the group's heads h (in order) of part[row, h·d + c]; the same
// for dv. One thread per (row, g, c).
__global__ void SumGroupHeadsKernel(const float* dk_part, const float* dv_part, int64_t rows,
                                    int kv_heads, int group, int d, float* dk, int64_t ldk,
                                    float* dv, int64_t ldv) {
  const int64_t width = static_cast<int64_t>(kv_heads) * d;
  const int64_t total = rows * width;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / width, col = i % width;  // col = g·d + c
    const int64_t g = col / d, c = col % d;
    const float* kp = dk_part + row * width * group + g * group * d + c;
    const float* vp = dv_part + row * width * group + g * group * d + c;
    float k_sum = 0, v_sum = 0;
    for (int h = 0; h < group; ++h) {
      k_sum += kp[h * d];
      v_sum += vp[h * d];
    }
    dk[row * ldk + col] = k_sum;
    dv[row * ldv + col] = v_sum;
  }
}

__global__ void KvCacheWriteKernel(const float* k, int64_t ldk, const float* v, int64_t ldv,
                                   int rows, const int32_t* slots, const int32_t* positions,
                                   int width, KvCacheView cache) {
  const int64_t total = static_cast<int64_t>(rows) * width;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / width, c = i % width;
    const int64_t at = (static_cast<int64_t>(slots[r]) * cache.capacity + positions[r]) * width + c;
    cache.keys[at] = k[r * ldk + c];
    cache.values[at] = v[r * ldv + c];
  }
}

constexpr int kDecodeWarps = 4;

// One (row, head) per CTA; warp w takes cached positions w, w+4, ... with an online
// softmax, then the warps' partial results are merged.
template <int kDim>
__global__ void DecodeKernel(const float* q, int64_t ldq, const int32_t* slots,
                             const int32_t* lengths, int heads, int group, int d, float scale,
                             KvCacheView cache, int kv_width, float* out, float* lse) {
  constexpr int kPerLane = kDim / internal::kWarp;
  __shared__ float warp_max[kDecodeWarps], warp_sum[kDecodeWarps];
  __shared__ float warp_acc[kDecodeWarps][kDim];
  const int64_t row = blockIdx.x;
  const int h = blockIdx.y, g = h / group;
  const int lane = threadIdx.x % internal::kWarp, warp = threadIdx.x / internal::kWarp;
  const float* qr = q + row * ldq + static_cast<int64_t>(h) * d;
  float qv[kPerLane], acc[kPerLane];
#pragma unroll
  for (int u = 0; u < kPerLane; ++u) {
    const int c = lane + internal::kWarp * u;
    qv[u] = c < d ? qr[c] : 0.0f;
    acc[u] = 0;
  }
  const int n = lengths[row];
  const int64_t slot_base = static_cast<int64_t>(slots[row]) * cache.capacity;
  float m = kNegInf, l = 0;
  for (int j = warp; j < n; j += kDecodeWarps) {
    const int64_t at = (slot_base + j) * kv_width + static_cast<int64_t>(g) * d;
    float dot = 0;
#pragma unroll
    for (int u = 0; u < kPerLane; ++u) {
      const int c = lane + internal::kWarp * u;
      if (c < d) dot += qv[u] * cache.keys[at + c];
    }
    const float s = internal::WarpSum(dot) * scale;
    const float new_max = fmaxf(m, s);
    const float rescale = expf(m - new_max);
    const float p = expf(s - new_max);
    l = l * rescale + p;
#pragma unroll
    for (int u = 0; u < kPerLane; ++u) {
      const int c = lane + internal::kWarp * u;
      acc[u] = acc[u] * rescale + (c < d ? p * cache.values[at + c] : 0.0f);
    }
    m = new_max;
  }
  if (lane == 0) {
    warp_max[warp] = m;
    warp_sum[warp] = l;
  }
#pragma unroll
  for (int u = 0; u < kPerLane; ++u) warp_acc[warp][lane + internal::kWarp * u] = acc[u];
  __syncthreads();
  float total_max = kNegInf;
  for (int w = 0; w < kDecodeWarps; ++w) total_max = fmaxf(total_max, warp_max[w]);
  float total_sum = 0;
  for (int w = 0; w < kDecodeWarps; ++w) {
    if (warp_sum[w] > 0) total_sum += warp_sum[w] * expf(warp_max[w] - total_max);
  }
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    float value = 0;
    for (int w = 0; w < kDecodeWarps; ++w) {
      if (warp_sum[w] > 0) value += warp_acc[w][c] * expf(warp_max[w] - total_max);
    }
    out[row * heads * d + static_cast<int64_t>(h) * d + c] = value / total_sum;
  }
  if (threadIdx.x == 0) lse[row * heads + h] = total_max + logf(total_sum);
}

void CheckShape(const AttentionShape& shape) {
  CHECK(shape.kv_heads > 0 && shape.heads % shape.kv_heads == 0);
  CHECK(shape.head_dim > 0 && shape.head_dim <= kMaxCudaAttentionHeadDim)
      << "attention head dim " << shape.head_dim << " (the GPU kernels take at most "
      << kMaxCudaAttentionHeadDim << ")";
}

template <int kDim>
void Forward(const CudaContext& ctx, const float* q, int ldq, const float* k, int ldk,
             const float* v, int ldv, const AttentionPlan& tiles, const AttentionShape& shape,
             float* out, float* lse) {
  const size_t bytes = (3 * kTile * kRowPitch<kDim> + kTile * kScorePitch) * sizeof(float);
  internal::AllowSharedMemory<ForwardKernel<kDim>>(bytes);
  ForwardKernel<kDim><<<dim3(tiles.num_tiles(), shape.heads), kThreads, bytes, ctx.stream()>>>(
      q, ldq, k, ldk, v, ldv, reinterpret_cast<const Tile*>(tiles.tiles()), shape.heads,
      shape.heads / shape.kv_heads, shape.head_dim, static_cast<float>(shape.scale), out, lse);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

template <int kDim>
void Backward(const CudaContext& ctx, const float* q, int ldq, const float* k, int ldk,
              const float* v, int ldv, const float* lse, const float* delta, const float* dout,
              const AttentionPlan& tiles, const AttentionShape& shape, float* dq, float* dk,
              float* dv) {
  const int group = shape.heads / shape.kv_heads;
  const float scale = static_cast<float>(shape.scale);
  const size_t dq_bytes = (4 * kTile * kRowPitch<kDim> + kTile * kScorePitch) * sizeof(float);
  internal::AllowSharedMemory<BackwardDqKernel<kDim>>(dq_bytes);
  BackwardDqKernel<kDim>
      <<<dim3(tiles.num_tiles(), shape.heads), kThreads, dq_bytes, ctx.stream()>>>(
          q, ldq, k, ldk, v, ldv, lse, delta, dout, reinterpret_cast<const Tile*>(tiles.tiles()),
          shape.heads, group, shape.head_dim, scale, dq);
  LIGHTRL_CUDA_CHECK_LAUNCH();
  const size_t dkv_bytes =
      (4 * kTile * kRowPitch<kDim> + 2 * kTile * kScorePitch + 2 * kTile) * sizeof(float);
  internal::AllowSharedMemory<BackwardDkvKernel<kDim>>(dkv_bytes);
  const dim3 grid(tiles.num_tiles(), shape.heads);
  const Tile* plan = reinterpret_cast<const Tile*>(tiles.tiles());
  if (group == 1) {  // one query head per kv head: straight into dk, dv
    BackwardDkvKernel<kDim><<<grid, kThreads, dkv_bytes, ctx.stream()>>>(
        q, ldq, k, ldk, v, ldv, lse, delta, dout, plan, shape.heads, group, shape.head_dim, scale,
        dk, ldk, dv, ldv, shape.head_dim);
    LIGHTRL_CUDA_CHECK_LAUNCH();
    return;
  }
  // Each query head's part, then the group's sum in a fixed order (no atomics).
  const int64_t rows = tiles.num_rows(), width = static_cast<int64_t>(shape.heads) * shape.head_dim;
  Scratch<float> parts(ctx, 2 * rows * width);
  float* dk_part = parts.data();
  float* dv_part = dk_part + rows * width;
  BackwardDkvKernel<kDim><<<grid, kThreads, dkv_bytes, ctx.stream()>>>(
      q, ldq, k, ldk, v, ldv, lse, delta, dout, plan, shape.heads, group, shape.head_dim, scale,
      dk_part, width, dv_part, width, shape.head_dim);
  LIGHTRL_CUDA_CHECK_LAUNCH();
  const int64_t outputs = rows * shape.kv_heads * shape.head_dim;
  SumGroupHeadsKernel<<<internal::GridFor(outputs, 256), 256, 0, ctx.stream()>>>(
      dk_part, dv_part, rows, shape.kv_heads, group, shape.head_dim, dk, ldk, dv, ldv);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

}  // namespace

AttentionPlan::AttentionPlan(const CudaContext& ctx, std::span<const int32_t> seq_offsets) {
  static_assert(sizeof(Tile) == 4 * sizeof(int32_t));
  std::vector<Tile> tiles;
  for (size_t s = 0; s + 1 < seq_offsets.size(); ++s) {
    const int len = seq_offsets[s + 1] - seq_offsets[s];
    for (int t0 = 0; t0 < len; t0 += kTile) tiles.push_back({seq_offsets[s], len, t0, 0});
  }
  // Longest first: the forward and dq kernels' work grows with t0, the dk/dv kernel's with
  // the rows after t0 (it reads the tiles in reverse), so the blocks that finish last are
  // short ones.
  std::stable_sort(tiles.begin(), tiles.end(),
                   [](const Tile& a, const Tile& b) { return a.t0 > b.t0; });
  num_tiles_ = static_cast<int>(tiles.size());
  num_rows_ = seq_offsets.empty() ? 0 : seq_offsets.back();
  tiles_.MustResize(4 * tiles.size());
  CopyToDevice(ctx, reinterpret_cast<const int32_t*>(tiles.data()), 4 * tiles.size(),
               tiles_.data());
}

void AttentionForward(const CudaContext& ctx, const float* q, int ldq, const float* k, int ldk,
                      const float* v, int ldv, const AttentionPlan& tiles,
                      const AttentionShape& shape, float* out, float* lse) {
  CheckShape(shape);
  if (tiles.num_tiles() == 0) return;
  if (shape.head_dim <= 32) {
    Forward<32>(ctx, q, ldq, k, ldk, v, ldv, tiles, shape, out, lse);
  } else if (shape.head_dim <= 64) {
    Forward<64>(ctx, q, ldq, k, ldk, v, ldv, tiles, shape, out, lse);
  } else {
    Forward<128>(ctx, q, ldq, k, ldk, v, ldv, tiles, shape, out, lse);
  }
}

void AttentionBackward(const CudaContext& ctx, const float* q, int ldq, const float* k, int ldk,
                       const float* v, int ldv, const float* out, const float* lse,
                       const float* dout, const AttentionPlan& tiles, const AttentionShape& shape,
                       float* dq, float* dk, float* dv) {
  CheckShape(shape);
  if (tiles.num_tiles() == 0) return;
  const int64_t pairs = static_cast<int64_t>(tiles.num_rows()) * shape.heads;
  Scratch<float> delta(ctx, pairs);
  DeltaKernel<<<internal::GridFor(pairs * internal::kWarp, 256), 256, 0, ctx.stream()>>>(
      out, dout, pairs, shape.head_dim, delta.data());
  LIGHTRL_CUDA_CHECK_LAUNCH();
  if (shape.head_dim <= 32) {
    Backward<32>(ctx, q, ldq, k, ldk, v, ldv, lse, delta.data(), dout, tiles, shape, dq, dk, dv);
  } else if (shape.head_dim <= 64) {
    Backward<64>(ctx, q, ldq, k, ldk, v, ldv, lse, delta.data(), dout, tiles, shape, dq, dk, dv);
  } else {
    Backward<128>(ctx, q, ldq, k, ldk, v, ldv, lse, delta.data(), dout, tiles, shape, dq, dk, dv);
  }
}

void KvCacheWrite(const CudaContext& ctx, const float* k, int ldk, const float* v, int ldv,
                  int rows, const int32_t* slots, const int32_t* positions, int kv_width,
                  const KvCacheView& cache) {
  if (rows <= 0) return;
  KvCacheWriteKernel<<<internal::GridFor(static_cast<int64_t>(rows) * kv_width, 256), 256, 0,
                       ctx.stream()>>>(k, ldk, v, ldv, rows, slots, positions, kv_width, cache);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

void AttentionDecode(const CudaContext& ctx, const float* q, int ldq, int rows,
                     const int32_t* slots, const int32_t* lengths, const AttentionShape& shape,
                     const KvCacheView& cache, float* out, float* lse) {
  CheckShape(shape);
  if (rows <= 0) return;
  const int group = shape.heads / shape.kv_heads;
  const int kv_width = shape.kv_heads * shape.head_dim;
  const float scale = static_cast<float>(shape.scale);
  const dim3 grid(rows, shape.heads);
  const int threads = kDecodeWarps * internal::kWarp;
  if (shape.head_dim <= 32) {
    DecodeKernel<32><<<grid, threads, 0, ctx.stream()>>>(q, ldq, slots, lengths, shape.heads, group,
                                                         shape.head_dim, scale, cache, kv_width,
                                                         out, lse);
  } else if (shape.head_dim <= 64) {
    DecodeKernel<64><<<grid, threads, 0, ctx.stream()>>>(q, ldq, slots, lengths, shape.heads, group,
                                                         shape.head_dim, scale, cache, kv_width,
                                                         out, lse);
  } else {
    DecodeKernel<128><<<grid, threads, 0, ctx.stream()>>>(q, ldq, slots, lengths, shape.heads,
                                                          group, shape.head_dim, scale, cache,
                                                          kv_width, out, lse);
  }
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

}  // namespace lightrl::kernels::cuda
