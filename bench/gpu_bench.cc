// lightrl-bench-gpu: the GPU kernels against their peers on the same card, in one run.
//
//   lightrl-bench-gpu [--sections=ceilings,lm_head,head_precision,lightning] [--repeats=5]
//                     [--warmup=2] [--lm_tokens=16384] [--lm_hidden=2048] [--lm_vocab=131072]
//                     [--precision_rows=64]
//                     [--lightning_tokens=4096,32768] [--lightning_heads=16]
//                     [--lightning_dim=128] [--lightning_block=256]
//                     [--peer=bench/gpu_lightning_peer.py] [--python=python3]
// Exits 1 if any result is wrong.
//
// ceilings: the card's FP32 rate (an 8192³ FP32 cuBLAS GEMM, no TF32) and its memory
//   bandwidth (a 1 GiB device-to-device copy, bytes read plus written). Every floor below
//   uses these two measured numbers.
// lm_head: the fused FP32 LM head (log-prob of a target, entropy; never writes the logits)
//   against one FP32 cuBLAS GEMM producing the logits alone, and against the unfused path
//   (GEMM, then a separate log-softmax pass); time and peak device memory beyond the shared
//   inputs. Wrong results: rows whose fused log-prob or entropy differs from the unfused one
//   by more than 1e-3 + 1e-4·|value|. The backward is timed against three GEMMs (the
//   recomputed logits, dhidden and dweight).
// head_precision: the LM head's GEMM modes (plain FP32, bf16x3, bf16; kernels/cuda/gemm.h)
//   on the lm_* shape: the logits of --precision_rows rows and their log-softmax against an
//   exact reference (double products on the host) and against the plain FP32 GEMM, as
//   relative L2 errors and largest absolute differences; and the fused forward + backward
//   time of each mode. Wrong results: a mode whose log-probs differ from the reference by
//   more than its bound (FP32 and bf16x3 1e-3, bf16 0.5).
// lightning: the block-form lightning attention forward and backward (FP32) against
//   transformers' MiniMaxLightningAttention (PyTorch, FP32, same card, run by --peer) with
//   its projections replaced by identities, and as a fraction of the floor
//   max(FLOPs / FP32 rate, bytes / bandwidth). Wrong results: outputs and gradients whose
//   relative L2 error against the CPU reference (kernels/lightning.h) exceeds 1e-4.
#include <gflags/gflags.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cuda/device.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/lightning.h"
#include "kernels/cuda/lm_head.h"
#include "kernels/lightning.h"
#include "kernels/parallel.h"

DEFINE_string(sections, "ceilings,lm_head,head_precision,lightning",
              "Comma-separated sections to run.");
DEFINE_int32(repeats, 5, "Timed runs per measurement (the median is reported).");
DEFINE_int32(warmup, 2, "Untimed runs before the timed ones.");
DEFINE_int32(lm_tokens, 16384, "LM head: rows (tokens).");
DEFINE_int32(lm_hidden, 2048, "LM head: hidden size.");
DEFINE_int32(lm_vocab, 131072, "LM head: vocabulary size.");
DEFINE_int32(precision_rows, 64, "Head precision: rows compared against the exact logits.");
DEFINE_string(lightning_tokens, "4096,32768", "Lightning: comma-separated sequence lengths.");
DEFINE_int32(lightning_heads, 16, "Lightning: heads.");
DEFINE_int32(lightning_dim, 128, "Lightning: head dimension.");
DEFINE_int32(lightning_block, 256, "Lightning: block size.");
DEFINE_string(peer, "bench/gpu_lightning_peer.py", "The PyTorch/transformers peer script.");
DEFINE_string(python, "python3", "Python interpreter with torch and transformers.");

namespace lightrl {
namespace {

namespace cu = kernels::cuda;

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> parts;
  std::stringstream stream(list);
  for (std::string part; std::getline(stream, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

bool Enabled(const std::string& section) {
  const auto sections = Split(FLAGS_sections);
  return std::find(sections.begin(), sections.end(), section) != sections.end();
}

// Median milliseconds of `fn` (enqueued on ctx's stream) over --repeats runs after --warmup.
double MedianMs(const cu::CudaContext& ctx, const std::function<void()>& fn) {
  for (int i = 0; i < FLAGS_warmup; ++i) fn();
  ctx.Synchronize();
  cudaEvent_t start, stop;
  LIGHTRL_CUDA_CHECK(cudaEventCreate(&start));
  LIGHTRL_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<double> times;
  for (int i = 0; i < FLAGS_repeats; ++i) {
    LIGHTRL_CUDA_CHECK(cudaEventRecord(start, ctx.stream()));
    fn();
    LIGHTRL_CUDA_CHECK(cudaEventRecord(stop, ctx.stream()));
    LIGHTRL_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    LIGHTRL_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  LIGHTRL_CUDA_CHECK(cudaEventDestroy(start));
  LIGHTRL_CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::vector<float> RandomFloats(size_t n, uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

cu::DeviceBuffer<float> Upload(const cu::CudaContext& ctx, const std::vector<float>& host) {
  auto buffer = cu::DeviceBuffer<float>::Allocate(host.size());
  CHECK_OK(buffer.status());
  cu::CopyToDevice(ctx, host.data(), host.size(), buffer->data());
  return std::move(*buffer);
}

// `rows` target ids in [0, vocab) on the device (fixed seed).
cu::DeviceBuffer<int32_t> RandomTargets(const cu::CudaContext& ctx, int rows, int vocab) {
  std::vector<int32_t> host(rows);
  std::mt19937 rng(13);
  for (int32_t& t : host) t = static_cast<int32_t>(rng() % vocab);
  auto targets = cu::DeviceBuffer<int32_t>::Allocate(rows);
  CHECK_OK(targets.status());
  cu::CopyToDevice(ctx, host.data(), rows, targets->data());
  return std::move(*targets);
}

cu::DeviceBuffer<float> Zeros(const cu::CudaContext& ctx, int64_t n) {
  auto buffer = cu::DeviceBuffer<float>::Allocate(n);
  CHECK_OK(buffer.status());
  LIGHTRL_CUDA_CHECK(cudaMemsetAsync(buffer->data(), 0, n * sizeof(float), ctx.stream()));
  return std::move(*buffer);
}

std::vector<float> Download(const cu::CudaContext& ctx, const cu::DeviceBuffer<float>& buffer,
                            int64_t n) {
  std::vector<float> host(n);
  cu::CopyToHost(ctx, buffer.data(), n, host.data());
  return host;
}

double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

struct Ceilings {
  double fp32_flops = 0;   // FLOP/s
  double bytes_per_s = 0;  // read + written
};

Ceilings MeasureCeilings(const cu::CudaContext& ctx) {
  Ceilings ceilings;
  const int n = 8192;
  auto a = Upload(ctx, RandomFloats(size_t{n} * n, 1, 1.0f));
  auto b = Upload(ctx, RandomFloats(size_t{n} * n, 2, 1.0f));
  auto c = Zeros(ctx, size_t{n} * n);
  const double gemm_ms = MedianMs(ctx, [&] {
    cu::Gemm(ctx, cu::GemmPrecision::kFp32, kernels::Transpose::kNo, kernels::Transpose::kNo, n, n,
             n, 1.0f, {a.data(), n}, {b.data(), n}, 0.0f, c.data(), n);
  });
  ceilings.fp32_flops = 2.0 * n * n * double(n) / (gemm_ms * 1e-3);
  const size_t words = (size_t{1} << 30) / sizeof(float);
  auto from = Upload(ctx, RandomFloats(words, 3, 1.0f));
  auto to = Zeros(ctx, words);
  const double copy_ms =
      MedianMs(ctx, [&] { cu::CopyOnDevice(ctx, from.data(), words, to.data()); });
  ceilings.bytes_per_s = 2.0 * words * sizeof(float) / (copy_ms * 1e-3);
  std::printf(
      "ceilings: FP32 GEMM %d^3 %.2f ms = %.1f TFLOP/s; D2D copy 1 GiB %.3f ms = %.0f GB/s\n", n,
      gemm_ms, ceilings.fp32_flops / 1e12, copy_ms, ceilings.bytes_per_s / 1e9);
  return ceilings;
}

double GiB(double bytes) { return bytes / double(size_t{1} << 30); }

int BenchLmHead(const cu::CudaContext& ctx) {
  const int rows = FLAGS_lm_tokens, dim = FLAGS_lm_hidden, vocab = FLAGS_lm_vocab;
  auto hidden = Upload(ctx, RandomFloats(int64_t{rows} * dim, 11, 1.0f));
  auto weight = Upload(ctx, RandomFloats(int64_t{vocab} * dim, 12, 0.05f));
  auto targets = RandomTargets(ctx, rows, vocab);
  const cu::Matrix w{weight.data(), dim};
  const cu::LmHeadOptions options;
  const size_t logits_elems = int64_t{rows} * vocab;

  auto logprob = Zeros(ctx, rows), entropy = Zeros(ctx, rows), lse = Zeros(ctx, rows);
  ctx.Synchronize();
  cu::ResetScratchPeak(ctx.device());
  const double fused_ms = MedianMs(ctx, [&] {
    cu::LmHeadForward(ctx, hidden.data(), rows, dim, w, vocab, targets.data(), options,
                      logprob.data(), entropy.data(), lse.data());
  });
  const double fused_bytes = cu::ScratchPeakBytes(ctx.device()) + 3.0 * rows * sizeof(float);

  auto dlogprob = Upload(ctx, RandomFloats(rows, 14, 1.0f));
  auto dentropy = Upload(ctx, RandomFloats(rows, 15, 0.1f));
  auto dhidden = Zeros(ctx, int64_t{rows} * dim), dweight = Zeros(ctx, int64_t{vocab} * dim);
  const double backward_ms = MedianMs(ctx, [&] {
    cu::LmHeadBackward(ctx, hidden.data(), rows, dim, w, vocab, targets.data(), options, lse.data(),
                       entropy.data(), dlogprob.data(), dentropy.data(), dhidden.data(),
                       dweight.data());
  });

  int wrong = 0;
  double gemm_ms = 0, unfused_ms = 0, unfused_bytes = 0;
  {
    auto logits = Zeros(ctx, logits_elems);
    gemm_ms = MedianMs(ctx, [&] {
      cu::Gemm(ctx, cu::GemmPrecision::kFp32, kernels::Transpose::kNo, kernels::Transpose::kYes,
               rows, vocab, dim, 1.0f, {hidden.data(), dim}, w, 0.0f, logits.data(), vocab);
    });
    auto logsoftmax = Zeros(ctx, logits_elems);
    auto ref_logprob = Zeros(ctx, rows), ref_entropy = Zeros(ctx, rows);
    ctx.Synchronize();
    cu::ResetScratchPeak(ctx.device());
    unfused_ms = MedianMs(ctx, [&] {
      cu::LmHeadUnfused(ctx, hidden.data(), rows, dim, w, vocab, targets.data(), options,
                        logits.data(), logsoftmax.data(), ref_logprob.data(), ref_entropy.data());
    });
    unfused_bytes = cu::ScratchPeakBytes(ctx.device()) + 2.0 * logits_elems * sizeof(float) +
                    2.0 * rows * sizeof(float);
    const auto got_lp = Download(ctx, logprob, rows), want_lp = Download(ctx, ref_logprob, rows);
    const auto got_h = Download(ctx, entropy, rows), want_h = Download(ctx, ref_entropy, rows);
    for (int r = 0; r < rows; ++r) {
      const bool lp_ok = std::abs(got_lp[r] - want_lp[r]) <= 1e-3 + 1e-4 * std::abs(want_lp[r]);
      const bool h_ok = std::abs(got_h[r] - want_h[r]) <= 1e-3 + 1e-4 * std::abs(want_h[r]);
      wrong += !(lp_ok && h_ok);
    }
  }
  const auto grad = Download(ctx, dhidden, int64_t{rows} * dim);
  for (float g : grad) wrong += !std::isfinite(g);

  const double flops = 2.0 * rows * dim * double(vocab);
  std::printf("\nLM head FP32, tokens=%d hidden=%d vocab=%d (%.1f GFLOP per GEMM)\n", rows, dim,
              vocab, flops / 1e9);
  std::printf("%-34s %10s %10s %12s\n", "path", "ms", "x GEMM", "peak GiB");
  std::printf("%-34s %10.2f %10.3f %12s\n", "cuBLAS FP32 GEMM (logits only)", gemm_ms, 1.0, "-");
  std::printf("%-34s %10.2f %10.3f %12.3f\n", "GEMM + separate log-softmax", unfused_ms,
              unfused_ms / gemm_ms, GiB(unfused_bytes));
  std::printf("%-34s %10.2f %10.3f %12.3f\n", "fused forward (logprob, entropy)", fused_ms,
              fused_ms / gemm_ms, GiB(fused_bytes));
  std::printf("%-34s %10.2f %10.3f %12s\n", "fused backward (vs 3 GEMMs)", backward_ms,
              backward_ms / (3 * gemm_ms), "-");
  std::printf("fused/unfused peak memory %.4f; fused/GEMM time %.3f; wrong rows %d\n",
              fused_bytes / unfused_bytes, fused_ms / gemm_ms, wrong);
  return wrong;
}

// Times of transformers' lightning attention from the peer script: {forward ms, backward ms},
// or {-1, -1} when it cannot run.
std::pair<double, double> PeerTimes(int tokens) {
  const std::string command =
      FLAGS_python + " " + FLAGS_peer + " --tokens " + std::to_string(tokens) + " --heads " +
      std::to_string(FLAGS_lightning_heads) + " --dim " + std::to_string(FLAGS_lightning_dim) +
      " --block " + std::to_string(FLAGS_lightning_block) + " --repeats " +
      std::to_string(FLAGS_repeats) + " --warmup " + std::to_string(FLAGS_warmup);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, -1};
  double forward = -1, backward = -1;
  char line[512];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::sscanf(line, "peer forward_ms=%lf backward_ms=%lf", &forward, &backward);
  }
  if (pclose(pipe) != 0) return {-1, -1};
  return {forward, backward};
}

int BenchLightning(const cu::CudaContext& ctx, const Ceilings& ceilings) {
  const int heads = FLAGS_lightning_heads, dim = FLAGS_lightning_dim, block = FLAGS_lightning_block;
  const kernels::LightningShape shape{heads, dim, block};
  const int ld = 3 * heads * dim;
  std::vector<float> slopes;
  for (int h = 0; h < heads; ++h) slopes.push_back(kernels::LightningSlope<float>(h, heads, 0, 2));
  const cu::LightningDecay decay(ctx, shape, slopes.data());
  int wrong = 0;
  std::printf(
      "\nLightning attention FP32, heads=%d dim=%d block=%d (computed in blocks of %d), one "
      "sequence\n",
      heads, dim, block, std::min(block, cu::kLightningComputeBlock));
  std::printf("%-8s %-4s %10s %12s %10s %10s %10s %10s\n", "tokens", "pass", "ms", "transformers",
              "speedup", "floor ms", "of floor", "rel.err");
  for (const std::string& tokens_text : Split(FLAGS_lightning_tokens)) {
    const int tokens = std::stoi(tokens_text);
    const auto host_qkv = RandomFloats(int64_t{tokens} * ld, 21, 0.5f);
    const auto host_dout = RandomFloats(int64_t{tokens} * heads * dim, 22, 1.0f);
    auto qkv = Upload(ctx, host_qkv), dout = Upload(ctx, host_dout);
    auto out = Zeros(ctx, int64_t{tokens} * heads * dim), dqkv = Zeros(ctx, int64_t{tokens} * ld);
    const std::vector<int32_t> offsets = {0, tokens};
    const cu::LightningPlan plan(ctx, offsets, block);
    // As in training: the forward keeps its block states for the backward.
    auto states = Zeros(ctx, static_cast<int64_t>(cu::LightningStateFloats(plan, shape)));
    const double forward_ms = MedianMs(ctx, [&] {
      cu::LightningForward(ctx, qkv.data(), ld, plan, shape, decay, out.data(), nullptr, nullptr,
                           states.data());
    });
    const double recompute_ms = MedianMs(ctx, [&] {
      cu::LightningBackward(ctx, qkv.data(), ld, dout.data(), plan, shape, decay, dqkv.data());
    });
    std::vector<float> want_out(int64_t{tokens} * heads * dim), want_dqkv(int64_t{tokens} * ld);
    kernels::LightningForward(host_qkv.data(), ld, offsets.data(), 1, shape, slopes.data(),
                              want_out.data());
    kernels::LightningBackward(host_qkv.data(), ld, host_dout.data(), offsets.data(), 1, shape,
                               slopes.data(), want_dqkv.data());
    const double recompute_error = RelativeError(Download(ctx, dqkv, want_dqkv.size()), want_dqkv);
    const double backward_ms = MedianMs(ctx, [&] {
      cu::LightningBackward(ctx, qkv.data(), ld, dout.data(), plan, shape, decay, dqkv.data(),
                            states.data());
    });
    const double out_error = RelativeError(Download(ctx, out, want_out.size()), want_out);
    const double grad_error = RelativeError(Download(ctx, dqkv, want_dqkv.size()), want_dqkv);
    wrong += !(out_error <= 1e-4) + !(grad_error <= 1e-4) + !(recompute_error <= 1e-4);

    // Per token and head: causal intra-block QKᵀ and PV, 2(m+1)d FLOPs with m the kernels'
    // compute block; q·S and the state fold, 4d². The backward does twice the forward's
    // products.
    const double forward_flops =
        double(tokens) * heads * (2.0 * (plan.compute_block() + 1) * dim + 4.0 * dim * dim);
    const double element_bytes = double(tokens) * heads * dim * sizeof(float);
    const double forward_floor =
        std::max(forward_flops / ceilings.fp32_flops, 4 * element_bytes / ceilings.bytes_per_s) *
        1e3;
    const double backward_floor = std::max(2 * forward_flops / ceilings.fp32_flops,
                                           7 * element_bytes / ceilings.bytes_per_s) *
                                  1e3;
    const auto [peer_forward, peer_backward] = PeerTimes(tokens);
    const auto row = [&](const char* pass, double ms, double peer, double floor, double error) {
      std::printf("%-8d %-4s %10.3f %12s %10s %10.3f %10.3f %10.2e\n", tokens, pass, ms,
                  peer > 0 ? std::to_string(peer).substr(0, 9).c_str() : "n/a",
                  peer > 0 ? std::to_string(peer / ms).substr(0, 7).c_str() : "n/a", floor,
                  floor / ms, error);
    };
    row("fwd", forward_ms, peer_forward, forward_floor, out_error);
    row("bwd", backward_ms, peer_backward, backward_floor, grad_error);
    row("bwd*", recompute_ms, peer_backward, backward_floor, recompute_error);
  }
  std::printf(
      "(fwd keeps its block states and bwd takes them, as training does; bwd* recomputes "
      "them)\nlightning wrong results %d\n",
      wrong);
  return wrong;
}

// Row-wise log-softmax in double of logits [rows, vocab].
std::vector<double> LogSoftmax(const std::vector<double>& logits, int rows, int vocab) {
  std::vector<double> out(logits.size());
  for (int r = 0; r < rows; ++r) {
    const double* l = logits.data() + int64_t{r} * vocab;
    const double max = *std::max_element(l, l + vocab);
    double sum = 0;
    for (int v = 0; v < vocab; ++v) sum += std::exp(l[v] - max);
    const double lse = max + std::log(sum);
    for (int v = 0; v < vocab; ++v) out[int64_t{r} * vocab + v] = l[v] - lse;
  }
  return out;
}

// Relative L2 error and largest absolute difference of got against want.
struct ErrorFigures {
  double relative = 0, max_abs = 0;
};

ErrorFigures Compare(const std::vector<double>& got, const std::vector<double>& want) {
  double diff = 0, norm = 0;
  ErrorFigures e;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = got[i] - want[i];
    diff += d * d;
    norm += want[i] * want[i];
    e.max_abs = std::max(e.max_abs, std::isfinite(d) ? std::abs(d) : INFINITY);
  }
  e.relative = std::sqrt(diff / std::max(norm, 1e-300));
  return e;
}

int BenchHeadPrecision(const cu::CudaContext& ctx) {
  const int rows = FLAGS_lm_tokens, dim = FLAGS_lm_hidden, vocab = FLAGS_lm_vocab;
  const int sample = std::min(FLAGS_precision_rows, rows);
  const std::vector<float> host_hidden = RandomFloats(int64_t{rows} * dim, 11, 1.0f);
  const std::vector<float> host_weight = RandomFloats(int64_t{vocab} * dim, 12, 0.05f);
  auto hidden = Upload(ctx, host_hidden);
  auto weight = Upload(ctx, host_weight);
  const cu::Matrix w{weight.data(), dim};
  std::vector<double> exact(int64_t{sample} * vocab);
  kernels::ParallelFor(vocab, int64_t{sample} * dim, [&](int64_t begin, int64_t end) {
    for (int64_t v = begin; v < end; ++v) {
      const float* wv = host_weight.data() + v * dim;
      for (int r = 0; r < sample; ++r) {
        const float* h = host_hidden.data() + int64_t{r} * dim;
        double sum = 0;
        for (int k = 0; k < dim; ++k) sum += double(h[k]) * wv[k];
        exact[int64_t{r} * vocab + v] = sum;
      }
    }
  });
  const std::vector<double> exact_logp = LogSoftmax(exact, sample, vocab);

  auto targets = RandomTargets(ctx, rows, vocab);
  auto logits = Zeros(ctx, int64_t{sample} * vocab);
  auto logprob = Zeros(ctx, rows), entropy = Zeros(ctx, rows), lse = Zeros(ctx, rows);
  auto dlogprob = Upload(ctx, RandomFloats(rows, 14, 1.0f));
  auto dhidden = Zeros(ctx, int64_t{rows} * dim), dweight = Zeros(ctx, int64_t{vocab} * dim);

  struct Mode {
    const char* name;
    cu::GemmPrecision precision;
    double logp_bound;
  };
  const Mode modes[] = {{"plain FP32", cu::GemmPrecision::kFp32, 1e-3},
                        {"bf16x3", cu::GemmPrecision::kBf16x3, 1e-3},
                        {"bf16", cu::GemmPrecision::kBf16, 0.5}};
  std::printf("\nLM head precision, tokens=%d hidden=%d vocab=%d; errors over %d rows x %d\n", rows,
              dim, vocab, sample, vocab);
  std::printf("%-11s %11s %11s %11s %11s %11s %11s %10s\n", "mode", "logit rel", "logit max",
              "logp max", "rel vs FP32", "logp vs FP32", "fwd ms", "fwd+bwd ms");
  int wrong = 0;
  std::vector<double> fp32_logits, fp32_logp;
  for (const Mode& mode : modes) {
    cu::LmHeadOptions options;
    options.precision = mode.precision;
    cu::LmHeadLogits(ctx, hidden.data(), sample, dim, w, vocab, options, logits.data());
    const std::vector<float> got = Download(ctx, logits, int64_t{sample} * vocab);
    const std::vector<double> got_logits(got.begin(), got.end());
    const std::vector<double> got_logp = LogSoftmax(got_logits, sample, vocab);
    if (mode.precision == cu::GemmPrecision::kFp32) {
      fp32_logits = got_logits;
      fp32_logp = got_logp;
    }
    const ErrorFigures logit_err = Compare(got_logits, exact);
    const ErrorFigures logp_err = Compare(got_logp, exact_logp);
    const ErrorFigures logit_vs_fp32 = Compare(got_logits, fp32_logits);
    const ErrorFigures logp_vs_fp32 = Compare(got_logp, fp32_logp);
    wrong += !(logp_err.max_abs <= mode.logp_bound);
    const double forward_ms = MedianMs(ctx, [&] {
      cu::LmHeadForward(ctx, hidden.data(), rows, dim, w, vocab, targets.data(), options,
                        logprob.data(), entropy.data(), lse.data());
    });
    const double step_ms = MedianMs(ctx, [&] {
      cu::LmHeadForward(ctx, hidden.data(), rows, dim, w, vocab, targets.data(), options,
                        logprob.data(), entropy.data(), lse.data());
      cu::LmHeadBackward(ctx, hidden.data(), rows, dim, w, vocab, targets.data(), options,
                         lse.data(), entropy.data(), dlogprob.data(), nullptr, dhidden.data(),
                         dweight.data());
    });
    std::printf("%-11s %11.3g %11.3g %11.3g %11.3g %11.3g %11.2f %10.2f\n", mode.name,
                logit_err.relative, logit_err.max_abs, logp_err.max_abs, logit_vs_fp32.relative,
                logp_vs_fp32.max_abs, forward_ms, step_ms);
  }
  return wrong;
}

int Run() {
  std::string why;
  if (cu::DeviceCount(&why) == 0) {
    std::fprintf(stderr, "lightrl-bench-gpu: no CUDA device (%s)\n", why.c_str());
    return 2;
  }
  auto ctx = cu::CudaContext::Create(0);
  CHECK_OK(ctx.status());
  const auto info = cu::GetDeviceInfo(0);
  CHECK_OK(info.status());
  std::printf("device: %s, %d SMs, %.1f GiB\n", info->name.c_str(), info->multiprocessors,
              GiB(info->global_memory));
  int wrong = 0;
  Ceilings ceilings;
  if (Enabled("ceilings") || Enabled("lightning")) ceilings = MeasureCeilings(**ctx);
  if (Enabled("lm_head")) wrong += BenchLmHead(**ctx);
  if (Enabled("head_precision")) wrong += BenchHeadPrecision(**ctx);
  if (Enabled("lightning")) wrong += BenchLightning(**ctx, ceilings);
  std::printf("\nwrong results: %d\n", wrong);
  return wrong == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lightrl

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return lightrl::Run();
}
