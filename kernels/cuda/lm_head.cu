#include <algorithm>
#include <cmath>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/lm_head.h"

namespace lightrl::kernels::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Running log-sum-exp of each row: `weighted` is Σ exp(l − max)·(l − max).
struct LseArrays {
  float* max;
  float* sum;
  float* weighted;
  float* target;
};

__global__ void InitLseKernel(LseArrays s, int rows) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  s.max[r] = kNegInf;
  s.sum[r] = 0;
  s.weighted[r] = 0;
  s.target[r] = 0;
}

// One warp per row of the chunk: logits [n, cn] (dense) of rows r0.., vocabulary c0...
__global__ void FoldChunkKernel(const float* logits, int n, int cn, int r0, int c0,
                                const int32_t* targets, LseArrays s) {
  const int lane = threadIdx.x % internal::kWarp;
  const int row = blockIdx.x * kWarpsPerBlock + threadIdx.x / internal::kWarp;
  if (row >= n) return;
  const float* l = logits + static_cast<int64_t>(row) * cn;
  float chunk_max = kNegInf;
  for (int j = lane; j < cn; j += internal::kWarp) chunk_max = fmaxf(chunk_max, l[j]);
  chunk_max = internal::WarpMax(chunk_max);
  const int r = r0 + row;
  const float old_max = s.max[r];
  const float new_max = fmaxf(old_max, chunk_max);
  if (new_max == kNegInf) return;
  float sum = 0, weighted = 0;
  for (int j = lane; j < cn; j += internal::kWarp) {
    const float centered = l[j] - new_max;
    const float e = expf(centered);
    sum += e;
    weighted += e * centered;
  }
  sum = internal::WarpSum(sum);
  weighted = internal::WarpSum(weighted);
  if (lane != 0) return;
  float old_sum = s.sum[r], old_weighted = s.weighted[r];
  if (old_sum > 0) {
    const float shift = old_max - new_max;
    const float scale = expf(shift);
    old_weighted = scale * (old_weighted + shift * old_sum);
    old_sum *= scale;
  }
  s.max[r] = new_max;
  s.sum[r] = old_sum + sum;
  s.weighted[r] = old_weighted + weighted;
  const int t = targets[r];
  if (t >= c0 && t < c0 + cn) s.target[r] = l[t - c0];
}

__global__ void FinishKernel(LseArrays s, int rows, float* logprob, float* entropy, float* lse) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const float log_sum = logf(s.sum[r]);
  const float row_lse = s.max[r] + log_sum;
  lse[r] = row_lse;
  logprob[r] = s.target[r] - row_lse;
  if (entropy != nullptr) entropy[r] = log_sum - s.weighted[r] / s.sum[r];
}

// logits [n, cn] of rows r0.. → d(loss)/d(raw logits) in place.
__global__ void ChunkGradKernel(float* logits, int n, int cn, int r0, int c0,
                                const int32_t* targets, const float* lse, const float* entropy,
                                const float* dlogprob, const float* dentropy,
                                float inv_temperature) {
  const int64_t total = static_cast<int64_t>(n) * cn;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int r = r0 + static_cast<int>(i / cn);
    const int j = static_cast<int>(i % cn);
    const float g = dlogprob[r];
    const float ge = dentropy != nullptr ? dentropy[r] : 0.0f;
    const float h = dentropy != nullptr ? entropy[r] : 0.0f;
    const float centered = logits[i] - lse[r];
    const float p = expf(centered);
    float d = -p * g - ge * p * (centered + h);
    if (c0 + j == targets[r]) d += g;
    logits[i] = d * inv_temperature;
  }
}

// One block per row: logsoftmax = l − lse (materialized), then the target entry and entropy.
__global__ void LogSoftmaxRowsKernel(const float* logits, int vocab, const int32_t* targets,
                                     float* logsoftmax, float* logprob, float* entropy) {
  const int64_t r = blockIdx.x;
  const float* l = logits + r * vocab;
  float m = kNegInf;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) m = fmaxf(m, l[j]);
  __shared__ float shared_max[internal::kWarp];
  m = internal::WarpMax(m);
  if (threadIdx.x % internal::kWarp == 0) shared_max[threadIdx.x / internal::kWarp] = m;
  __syncthreads();
  m = kNegInf;
  for (int w = 0; w < static_cast<int>(blockDim.x) / internal::kWarp; ++w)
    m = fmaxf(m, shared_max[w]);
  float sum = 0;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) sum += expf(l[j] - m);
  sum = internal::BlockSum(sum);
  const float row_lse = m + logf(sum);
  float* out = logsoftmax + r * vocab;
  float neg_entropy = 0;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
    const float lp = l[j] - row_lse;
    out[j] = lp;
    neg_entropy += expf(lp) * lp;
  }
  neg_entropy = internal::BlockSum(neg_entropy);
  if (threadIdx.x == 0) {
    logprob[r] = out[targets[r]];
    if (entropy != nullptr) entropy[r] = -neg_entropy;
  }
}

void Check(const LmHeadOptions& options) {
  CHECK(options.row_tile > 0 && options.vocab_chunk > 0 && options.inv_temperature > 0);
}

// The hidden rows of one tile as a GEMM operand (with its bf16 copy in bf16 mode).
Matrix TileOperand(const CudaContext& ctx, const float* hidden, int r0, int n, int dim,
                   const LmHeadOptions& options, bf16* bf16_tile) {
  Matrix m{hidden + static_cast<int64_t>(r0) * dim, dim, nullptr};
  if (options.precision == GemmPrecision::kBf16) {
    ConvertToBf16(ctx, m.f32, dim, n, dim, bf16_tile, dim);
    m.bf16_copy = bf16_tile;
  }
  return m;
}

Matrix ChunkOperand(const Matrix& weight, int c0, int dim) {
  return {
      weight.f32 + static_cast<int64_t>(c0) * dim, dim,
      weight.bf16_copy == nullptr ? nullptr : weight.bf16_copy + static_cast<int64_t>(c0) * dim};
}

}  // namespace

size_t LmHeadScratchBytes(const LmHeadOptions& options, int rows, int dim) {
  const size_t tile = static_cast<size_t>(std::min(rows, options.row_tile));
  size_t bytes = tile * options.vocab_chunk * sizeof(float) + 4 * sizeof(float) * rows;
  if (options.precision == GemmPrecision::kBf16) {
    bytes += tile * dim * sizeof(bf16) + tile * options.vocab_chunk * sizeof(bf16);
  }
  return bytes;
}

void LmHeadForward(const CudaContext& ctx, const float* hidden, int rows, int dim,
                   const Matrix& weight, int vocab, const int32_t* targets,
                   const LmHeadOptions& options, float* logprob, float* entropy, float* lse) {
  Check(options);
  if (rows <= 0) return;
  const int tile_rows = std::min(rows, options.row_tile);
  Scratch<float> logits(ctx, static_cast<size_t>(tile_rows) * options.vocab_chunk);
  Scratch<float> state(ctx, static_cast<size_t>(4) * rows);
  const bool use_bf16 = options.precision == GemmPrecision::kBf16;
  Scratch<bf16> tile16(ctx, use_bf16 ? static_cast<size_t>(tile_rows) * dim : 1);
  const LseArrays s{state.data(), state.data() + rows, state.data() + 2 * rows,
                    state.data() + 3 * rows};
  InitLseKernel<<<internal::GridFor(rows, 256), 256, 0, ctx.stream()>>>(s, rows);
  LIGHTRL_CUDA_CHECK_LAUNCH();
  for (int r0 = 0; r0 < rows; r0 += tile_rows) {
    const int n = std::min(tile_rows, rows - r0);
    const Matrix tile = TileOperand(ctx, hidden, r0, n, dim, options, tile16.data());
    for (int c0 = 0; c0 < vocab; c0 += options.vocab_chunk) {
      const int cn = std::min(options.vocab_chunk, vocab - c0);
      Gemm(ctx, options.precision, Transpose::kNo, Transpose::kYes, n, cn, dim,
           static_cast<float>(options.inv_temperature), tile, ChunkOperand(weight, c0, dim), 0.0f,
           logits.data(), cn);
      FoldChunkKernel<<<(n + kWarpsPerBlock - 1) / kWarpsPerBlock, kWarpsPerBlock * internal::kWarp,
                        0, ctx.stream()>>>(logits.data(), n, cn, r0, c0, targets, s);
      LIGHTRL_CUDA_CHECK_LAUNCH();
    }
  }
  FinishKernel<<<internal::GridFor(rows, 256), 256, 0, ctx.stream()>>>(s, rows, logprob, entropy,
                                                                       lse);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

void LmHeadBackward(const CudaContext& ctx, const float* hidden, int rows, int dim,
                    const Matrix& weight, int vocab, const int32_t* targets,
                    const LmHeadOptions& options, const float* lse, const float* entropy,
                    const float* dlogprob, const float* dentropy, float* dhidden, float* dweight) {
  Check(options);
  CHECK(dentropy == nullptr || entropy != nullptr);
  if (rows <= 0) return;
  const int tile_rows = std::min(rows, options.row_tile);
  Scratch<float> logits(ctx, static_cast<size_t>(tile_rows) * options.vocab_chunk);
  const bool use_bf16 = options.precision == GemmPrecision::kBf16;
  Scratch<bf16> tile16(ctx, use_bf16 ? static_cast<size_t>(tile_rows) * dim : 1);
  Scratch<bf16> grad16(ctx, use_bf16 ? static_cast<size_t>(tile_rows) * options.vocab_chunk : 1);
  for (int r0 = 0; r0 < rows; r0 += tile_rows) {
    const int n = std::min(tile_rows, rows - r0);
    const Matrix tile = TileOperand(ctx, hidden, r0, n, dim, options, tile16.data());
    float* dh = dhidden + static_cast<int64_t>(r0) * dim;
    for (int c0 = 0; c0 < vocab; c0 += options.vocab_chunk) {
      const int cn = std::min(options.vocab_chunk, vocab - c0);
      const Matrix chunk = ChunkOperand(weight, c0, dim);
      Gemm(ctx, options.precision, Transpose::kNo, Transpose::kYes, n, cn, dim,
           static_cast<float>(options.inv_temperature), tile, chunk, 0.0f, logits.data(), cn);
      ChunkGradKernel<<<internal::GridFor(static_cast<int64_t>(n) * cn, 256), 256, 0,
                        ctx.stream()>>>(logits.data(), n, cn, r0, c0, targets, lse, entropy,
                                        dlogprob, dentropy,
                                        static_cast<float>(options.inv_temperature));
      LIGHTRL_CUDA_CHECK_LAUNCH();
      Matrix grad{logits.data(), cn, nullptr};
      if (use_bf16) {
        ConvertToBf16(ctx, logits.data(), cn, n, cn, grad16.data(), cn);
        grad.bf16_copy = grad16.data();
      }
      Gemm(ctx, options.precision, Transpose::kNo, Transpose::kNo, n, dim, cn, 1.0f, grad, chunk,
           c0 == 0 ? 0.0f : 1.0f, dh, dim);
      Gemm(ctx, options.precision, Transpose::kYes, Transpose::kNo, cn, dim, n, 1.0f, grad, tile,
           1.0f, dweight + static_cast<int64_t>(c0) * dim, dim);
    }
  }
}

void LmHeadLogits(const CudaContext& ctx, const float* hidden, int rows, int dim,
                  const Matrix& weight, int vocab, const LmHeadOptions& options, float* logits) {
  Check(options);
  if (rows <= 0) return;
  Gemm(ctx, options.precision, Transpose::kNo, Transpose::kYes, rows, vocab, dim,
       static_cast<float>(options.inv_temperature), Matrix{hidden, dim, nullptr}, weight, 0.0f,
       logits, vocab);
}

void LmHeadUnfused(const CudaContext& ctx, const float* hidden, int rows, int dim,
                   const Matrix& weight, int vocab, const int32_t* targets,
                   const LmHeadOptions& options, float* logits, float* logsoftmax, float* logprob,
                   float* entropy) {
  LmHeadLogits(ctx, hidden, rows, dim, weight, vocab, options, logits);
  if (rows <= 0) return;
  LogSoftmaxRowsKernel<<<rows, 256, 0, ctx.stream()>>>(logits, vocab, targets, logsoftmax, logprob,
                                                       entropy);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

}  // namespace lightrl::kernels::cuda
