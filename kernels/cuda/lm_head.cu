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

// Where the chunk's d(logits) goes: in place over the FP32 logits when hi is null, else
// as bf16 (hi = bf16(d)) and, when lo is not null, the bf16x3 remainder lo = bf16(d − hi).
struct GradOut {
  bf16* hi;
  bf16* lo;
};

// logits [n, cn] of rows r0.. → d(loss)/d(raw logits). Blocks stride over columns (x) and
// rows (y).
__global__ void ChunkGradKernel(float* logits, int n, int cn, int r0, int c0,
                                const int32_t* targets, const float* lse, const float* entropy,
                                const float* dlogprob, const float* dentropy, float inv_temperature,
                                GradOut out) {
  for (int local = blockIdx.y; local < n; local += gridDim.y) {
    const int r = r0 + local;
    const float g = dlogprob[r];
    const float ge = dentropy != nullptr ? dentropy[r] : 0.0f;
    const float h = dentropy != nullptr ? entropy[r] : 0.0f;
    const float row_lse = lse[r];
    const int target = targets[r] - c0;
    const int64_t row = static_cast<int64_t>(local) * cn;
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < cn; j += gridDim.x * blockDim.x) {
      const int64_t i = row + j;
      const float centered = logits[i] - row_lse;
      const float p = expf(centered);
      float d = -p * g - ge * p * (centered + h);
      if (j == target) d += g;
      d *= inv_temperature;
      if (out.hi == nullptr) {
        logits[i] = d;
        continue;
      }
      const bf16 hi = __float2bfloat16_rn(d);
      out.hi[i] = hi;
      if (out.lo != nullptr) out.lo[i] = __float2bfloat16_rn(d - __bfloat162float(hi));
    }
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

// The head's products for one precision: the logits of a row tile × vocabulary chunk and,
// from their gradient, the contributions to dhidden and dweight. Operands are prepared once
// per tile (the hidden rows) and once per chunk (the weight rows): kBf16 rounds them to bf16
// (the weight's bf16 copy is used when the Matrix carries one); kBf16x3 splits them, the
// tile into [hi | lo | hi] and the chunk into [hi | hi | lo] column blocks, so the logits
// are one bf16 product with K = 3·dim (lo·hi + hi·lo + hi·hi, no partial sums through
// memory), and the gradient products take the same arrays as split pairs.
class HeadGemms {
 public:
  HeadGemms(const CudaContext& ctx, const Matrix& weight, int dim, int tile_rows,
            const LmHeadOptions& options, bool backward)
      : ctx_(ctx),
        weight_(weight),
        dim_(dim),
        precision_(options.precision),
        alpha_(static_cast<float>(options.inv_temperature)),
        tile16_(ctx, TileParts(options.precision) * tile_rows * static_cast<size_t>(dim)),
        chunk16_(ctx,
                 ChunkParts(options.precision) * options.vocab_chunk * static_cast<size_t>(dim)),
        grad16_(ctx, backward ? GradParts(options.precision) * tile_rows *
                                    static_cast<size_t>(options.vocab_chunk)
                              : 0) {}

  // bf16 scratch elements per element of the tile, of the chunk and of its gradient.
  static size_t TileParts(GemmPrecision p) { return Parts(p, 1, 3); }
  static size_t ChunkParts(GemmPrecision p) { return Parts(p, 0, 3); }
  static size_t GradParts(GemmPrecision p) { return Parts(p, 1, 2); }

  // The tile: rows [r0, r0 + n) of hidden [·, dim].
  void SetTile(const float* hidden, int r0, int n) {
    tile_rows_ = n;
    tile_ = hidden + static_cast<int64_t>(r0) * dim_;
    if (precision_ == GemmPrecision::kBf16) {
      ConvertToBf16(ctx_, tile_, dim_, n, dim_, tile16_.data(), dim_);
    } else if (precision_ == GemmPrecision::kBf16x3) {
      bf16* t = tile16_.data();
      SplitToBf16(ctx_, tile_, dim_, n, dim_, t, t + dim_, 3 * dim_, t + 2 * dim_);
    }
  }

  // out [n, cn] (stride ldc) ← the tile's scaled logits over vocabulary rows [c0, c0 + cn).
  void Logits(int c0, int cn, float* out, int ldc) {
    c0_ = c0;
    cn_ = cn;
    const float* w = weight_.f32 + static_cast<int64_t>(c0) * dim_;
    const int n = tile_rows_;
    switch (precision_) {
      case GemmPrecision::kFp32:
        Gemm(ctx_, precision_, Transpose::kNo, Transpose::kYes, n, cn, dim_, alpha_,
             {tile_, dim_, nullptr}, {w, dim_, nullptr}, 0.0f, out, ldc);
        return;
      case GemmPrecision::kBf16:
        Gemm(ctx_, precision_, Transpose::kNo, Transpose::kYes, n, cn, dim_, alpha_,
             {tile_, dim_, tile16_.data()}, ChunkOperand(), 0.0f, out, ldc);
        return;
      case GemmPrecision::kBf16x3: {
        bf16* c = chunk16_.data();
        SplitToBf16(ctx_, w, dim_, cn, dim_, c, c + 2 * dim_, 3 * dim_, c + dim_);
        Gemm(ctx_, GemmPrecision::kBf16, Transpose::kNo, Transpose::kYes, n, cn, 3 * dim_, alpha_,
             {nullptr, 3 * dim_, tile16_.data()}, {nullptr, 3 * dim_, c}, 0.0f, out, ldc);
        return;
      }
    }
  }

  // Where the gradient kernel writes d(logits) of the current chunk.
  GradOut grad_out() {
    switch (precision_) {
      case GemmPrecision::kFp32:
        return {nullptr, nullptr};
      case GemmPrecision::kBf16:
        return {grad16_.data(), nullptr};
      case GemmPrecision::kBf16x3:
        return {grad16_.data(), grad16_.data() + GradSize()};
    }
    return {nullptr, nullptr};
  }

  // dh [n, dim] ← (or += unless first) d(logits)·W_chunk; dweight_chunk [cn, dim] +=
  // d(logits)ᵀ·tile. grad_logits: the FP32 d(logits) (kFp32) of the current chunk.
  void Backprop(const float* grad_logits, float* dh, bool first, float* dweight) {
    const float beta = first ? 0.0f : 1.0f;
    const int n = tile_rows_, cn = cn_;
    float* dw = dweight + static_cast<int64_t>(c0_) * dim_;
    switch (precision_) {
      case GemmPrecision::kFp32:
      case GemmPrecision::kBf16: {
        const Matrix grad{grad_logits, cn, grad_out().hi};
        const Matrix tile{tile_, dim_,
                          precision_ == GemmPrecision::kBf16 ? tile16_.data() : nullptr};
        Gemm(ctx_, precision_, Transpose::kNo, Transpose::kNo, n, dim_, cn, 1.0f, grad,
             ChunkOperand(), beta, dh, dim_);
        Gemm(ctx_, precision_, Transpose::kYes, Transpose::kNo, cn, dim_, n, 1.0f, grad, tile, 1.0f,
             dw, dim_);
        return;
      }
      case GemmPrecision::kBf16x3: {
        const GradOut g = grad_out();
        const SplitMatrix grad{g.hi, g.lo, cn};
        const bf16* c = chunk16_.data();
        const bf16* t = tile16_.data();
        SplitGemm(ctx_, Transpose::kNo, Transpose::kNo, n, dim_, cn, 1.0f, grad,
                  {c, c + 2 * dim_, 3 * dim_}, beta, dh, dim_);
        SplitGemm(ctx_, Transpose::kYes, Transpose::kNo, cn, dim_, n, 1.0f, grad,
                  {t, t + dim_, 3 * dim_}, 1.0f, dw, dim_);
        return;
      }
    }
  }

 private:
  Matrix ChunkOperand() const {
    const int64_t offset = static_cast<int64_t>(c0_) * dim_;
    return {weight_.f32 + offset, dim_,
            weight_.bf16_copy == nullptr ? nullptr : weight_.bf16_copy + offset};
  }
  static size_t Parts(GemmPrecision p, size_t bf16, size_t bf16x3) {
    return p == GemmPrecision::kBf16 ? bf16 : p == GemmPrecision::kBf16x3 ? bf16x3 : 0;
  }
  size_t GradSize() const { return static_cast<size_t>(tile_rows_) * cn_; }

  const CudaContext& ctx_;
  const Matrix weight_;
  const int dim_;
  const GemmPrecision precision_;
  const float alpha_;
  Scratch<bf16> tile16_, chunk16_, grad16_;
  const float* tile_ = nullptr;
  int tile_rows_ = 0, c0_ = 0, cn_ = 0;
};

}  // namespace

size_t LmHeadScratchBytes(const LmHeadOptions& options, int rows, int dim) {
  const size_t tile = static_cast<size_t>(std::min(rows, options.row_tile));
  const size_t chunk = options.vocab_chunk;
  const GemmPrecision p = options.precision;
  return tile * chunk * sizeof(float) + 4 * sizeof(float) * rows +
         (HeadGemms::TileParts(p) * tile * dim + HeadGemms::ChunkParts(p) * chunk * dim +
          HeadGemms::GradParts(p) * tile * chunk) *
             sizeof(bf16);
}

void LmHeadForward(const CudaContext& ctx, const float* hidden, int rows, int dim,
                   const Matrix& weight, int vocab, const int32_t* targets,
                   const LmHeadOptions& options, float* logprob, float* entropy, float* lse) {
  Check(options);
  if (rows <= 0) return;
  const int tile_rows = std::min(rows, options.row_tile);
  Scratch<float> logits(ctx, static_cast<size_t>(tile_rows) * options.vocab_chunk);
  Scratch<float> state(ctx, static_cast<size_t>(4) * rows);
  HeadGemms gemms(ctx, weight, dim, tile_rows, options, /*backward=*/false);
  const LseArrays s{state.data(), state.data() + rows, state.data() + 2 * rows,
                    state.data() + 3 * rows};
  InitLseKernel<<<internal::GridFor(rows, 256), 256, 0, ctx.stream()>>>(s, rows);
  LIGHTRL_CUDA_CHECK_LAUNCH();
  for (int r0 = 0; r0 < rows; r0 += tile_rows) {
    const int n = std::min(tile_rows, rows - r0);
    gemms.SetTile(hidden, r0, n);
    for (int c0 = 0; c0 < vocab; c0 += options.vocab_chunk) {
      const int cn = std::min(options.vocab_chunk, vocab - c0);
      gemms.Logits(c0, cn, logits.data(), cn);
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
  HeadGemms gemms(ctx, weight, dim, tile_rows, options, /*backward=*/true);
  for (int r0 = 0; r0 < rows; r0 += tile_rows) {
    const int n = std::min(tile_rows, rows - r0);
    gemms.SetTile(hidden, r0, n);
    float* dh = dhidden + static_cast<int64_t>(r0) * dim;
    for (int c0 = 0; c0 < vocab; c0 += options.vocab_chunk) {
      const int cn = std::min(options.vocab_chunk, vocab - c0);
      gemms.Logits(c0, cn, logits.data(), cn);
      const dim3 grid(std::min((cn + 255) / 256, 8), std::min(n, 65535));
      ChunkGradKernel<<<grid, 256, 0, ctx.stream()>>>(
          logits.data(), n, cn, r0, c0, targets, lse, entropy, dlogprob, dentropy,
          static_cast<float>(options.inv_temperature), gemms.grad_out());
      LIGHTRL_CUDA_CHECK_LAUNCH();
      gemms.Backprop(logits.data(), dh, c0 == 0, dweight);
    }
  }
}

void LmHeadLogits(const CudaContext& ctx, const float* hidden, int rows, int dim,
                  const Matrix& weight, int vocab, const LmHeadOptions& options, float* logits) {
  Check(options);
  if (rows <= 0) return;
  const int tile_rows = std::min(rows, options.row_tile);
  HeadGemms gemms(ctx, weight, dim, tile_rows, options, /*backward=*/false);
  for (int r0 = 0; r0 < rows; r0 += tile_rows) {
    gemms.SetTile(hidden, r0, std::min(tile_rows, rows - r0));
    for (int c0 = 0; c0 < vocab; c0 += options.vocab_chunk) {
      gemms.Logits(c0, std::min(options.vocab_chunk, vocab - c0),
                   logits + static_cast<int64_t>(r0) * vocab + c0, vocab);
    }
  }
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
