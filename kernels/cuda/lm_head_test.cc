// The fused GPU LM head against the CPU reference (kernels/lm_head.h): log-probs, entropy
// and lse over several row tiles and vocabulary chunks, the backward and the materialized
// logits, for the FP32 head's two GEMM modes (plain FP32 and bf16x3); the bf16 head; the
// unfused path; and scratch that does not grow with the vocabulary.
#include "kernels/cuda/lm_head.h"

#include <gtest/gtest.h>

#include "kernels/cuda/test_util.h"
#include "kernels/lm_head.h"

namespace lightrl::kernels::cuda {
namespace {

using testing::GpuTest;
using testing::RandomFloats;
using testing::RelativeError;

struct Problem {
  int rows, dim, vocab;
  std::vector<float> hidden, weight, dlogprob, dentropy;
  std::vector<int32_t> targets;
};

Problem MakeProblem(int rows, int dim, int vocab, uint64_t seed) {
  Problem p;
  p.rows = rows;
  p.dim = dim;
  p.vocab = vocab;
  p.hidden = RandomFloats(static_cast<size_t>(rows) * dim, seed, 1.0f);
  p.weight = RandomFloats(static_cast<size_t>(vocab) * dim, seed + 1, 0.5f);
  p.dlogprob = RandomFloats(rows, seed + 2);
  p.dentropy = RandomFloats(rows, seed + 3);
  for (int r = 0; r < rows; ++r)
    p.targets.push_back(static_cast<int32_t>((r * 7919 + seed) % vocab));
  return p;
}

class LmHeadTest : public GpuTest {
 protected:
  // CPU forward + backward with the given head options.
  void Cpu(const Problem& p, const kernels::LmHeadOptions& options, std::vector<float>* logprob,
           std::vector<float>* entropy, std::vector<float>* lse, std::vector<float>* dhidden,
           std::vector<float>* dweight) {
    std::vector<float> scratch(kernels::LmHeadScratchSize(options, p.dim));
    logprob->resize(p.rows);
    entropy->resize(p.rows);
    lse->resize(p.rows);
    kernels::LmHeadForward(p.hidden.data(), p.rows, p.dim, p.weight.data(), p.vocab,
                           p.targets.data(), options, scratch.data(), logprob->data(),
                           entropy->data(), lse->data());
    dhidden->resize(p.hidden.size());
    *dweight = std::vector<float>(p.weight.size(), 0.25f);
    kernels::LmHeadBackward(p.hidden.data(), p.rows, p.dim, p.weight.data(), p.vocab,
                            p.targets.data(), options, lse->data(), entropy->data(),
                            p.dlogprob.data(), p.dentropy.data(), scratch.data(), dhidden->data(),
                            dweight->data());
  }
};

TEST_F(LmHeadTest, Fp32HeadMatchesCpuAcrossTilesAndChunks) {
  const Problem p = MakeProblem(300, 64, 5000, 1);
  struct Mode {
    GemmPrecision precision;
    double logprob_abs, grad_relative, logits_relative;
  };
  // bf16x3 keeps 16 mantissa bits per operand: a logit (up to ~20 here) moves by ~1e-5 of
  // its size, a log-prob by up to ~2e-4 (plain FP32 2e-5; bf16 ~1e-2).
  for (const Mode mode : {Mode{GemmPrecision::kFp32, 2e-5, 1e-5, 1e-6},
                          Mode{GemmPrecision::kBf16x3, 3e-4, 1e-4, 2e-5}}) {
    for (double temperature : {1.0, 0.7}) {
      SCOPED_TRACE("precision " + std::to_string(static_cast<int>(mode.precision)) + " T " +
                   std::to_string(temperature));
      kernels::LmHeadOptions cpu_options;
      cpu_options.inv_temperature = 1.0 / temperature;
      std::vector<float> logprob, entropy, lse, dhidden, dweight;
      Cpu(p, cpu_options, &logprob, &entropy, &lse, &dhidden, &dweight);

      LmHeadOptions options{.row_tile = 128,
                            .vocab_chunk = 1024,
                            .inv_temperature = 1 / temperature,
                            .precision = mode.precision};
      auto hidden = Upload(p.hidden);
      auto weight = Upload(p.weight);
      auto targets = Upload(p.targets);
      auto d_logprob = Output(p.rows);
      auto d_entropy = Output(p.rows);
      auto d_lse = Output(p.rows);
      const Matrix w{weight.data(), p.dim, nullptr};
      LmHeadForward(ctx(), hidden.data(), p.rows, p.dim, w, p.vocab, targets.data(), options,
                    d_logprob.data(), d_entropy.data(), d_lse.data());
      EXPECT_LT(testing::MaxAbsDiff(d_logprob.Download(), logprob), mode.logprob_abs);
      EXPECT_LT(testing::MaxAbsDiff(d_entropy.Download(), entropy), mode.logprob_abs);
      EXPECT_LT(testing::MaxAbsDiff(d_lse.Download(), lse), mode.logprob_abs);
      testing::ExpectClean(d_logprob, "logprob");
      testing::ExpectClean(d_entropy, "entropy");
      testing::ExpectClean(d_lse, "lse");

      auto dlogprob = Upload(p.dlogprob);
      auto dentropy = Upload(p.dentropy);
      auto d_dhidden = Output(p.hidden.size());
      auto d_dweight = Upload(std::vector<float>(p.weight.size(), 0.25f));
      LmHeadBackward(ctx(), hidden.data(), p.rows, p.dim, w, p.vocab, targets.data(), options,
                     d_lse.data(), d_entropy.data(), dlogprob.data(), dentropy.data(),
                     d_dhidden.data(), d_dweight.data());
      EXPECT_LT(RelativeError(d_dhidden.Download(), dhidden), mode.grad_relative);
      EXPECT_LT(RelativeError(d_dweight.Download(), dweight), mode.grad_relative);
      testing::ExpectClean(d_dhidden, "dhidden");
      testing::ExpectClean(d_dweight, "dweight");

      std::vector<float> cpu_logits(static_cast<size_t>(p.rows) * p.vocab);
      std::vector<float> scratch(kernels::LmHeadScratchSize(cpu_options, p.dim));
      kernels::LmHeadLogits(p.hidden.data(), p.rows, p.dim, p.weight.data(), p.vocab, cpu_options,
                            scratch.data(), cpu_logits.data());
      auto logits = Output(cpu_logits.size());
      LmHeadLogits(ctx(), hidden.data(), p.rows, p.dim, w, p.vocab, options, logits.data());
      EXPECT_LT(RelativeError(logits.Download(), cpu_logits), mode.logits_relative);
      testing::ExpectClean(logits, "logits");
    }
  }
}

TEST_F(LmHeadTest, Bf16HeadMatchesCpuBf16Head) {
  const Problem p = MakeProblem(100, 128, 3000, 7);
  kernels::LmHeadOptions cpu_options;
  cpu_options.gemm.bf16_inputs = true;
  std::vector<float> logprob, entropy, lse, dhidden, dweight;
  Cpu(p, cpu_options, &logprob, &entropy, &lse, &dhidden, &dweight);
  std::vector<float> fp32_logprob, fp32_entropy, fp32_lse, fp32_dhidden, fp32_dweight;
  Cpu(p, {}, &fp32_logprob, &fp32_entropy, &fp32_lse, &fp32_dhidden, &fp32_dweight);

  LmHeadOptions options{.row_tile = 64, .vocab_chunk = 512, .precision = GemmPrecision::kBf16};
  auto hidden = Upload(p.hidden);
  auto weight = Upload(p.weight);
  auto targets = Upload(p.targets);
  auto d_logprob = Output(p.rows);
  auto d_lse = Output(p.rows);
  LmHeadForward(ctx(), hidden.data(), p.rows, p.dim, {weight.data(), p.dim, nullptr}, p.vocab,
                targets.data(), options, d_logprob.data(), nullptr, d_lse.data());
  const std::vector<float> got = d_logprob.Download();
  EXPECT_LT(testing::MaxAbsDiff(got, logprob), 2e-5);
  EXPECT_GT(testing::MaxAbsDiff(got, fp32_logprob), 1e-4) << "the head did not round to bf16";
}

TEST_F(LmHeadTest, UnfusedPathAgreesAndScratchIsIndependentOfVocab) {
  const Problem p = MakeProblem(70, 32, 2000, 11);
  LmHeadOptions options{.row_tile = 32, .vocab_chunk = 256};
  auto hidden = Upload(p.hidden);
  auto weight = Upload(p.weight);
  auto targets = Upload(p.targets);
  const Matrix w{weight.data(), p.dim, nullptr};
  auto fused = Output(p.rows);
  auto fused_entropy = Output(p.rows);
  auto lse = Output(p.rows);
  LmHeadForward(ctx(), hidden.data(), p.rows, p.dim, w, p.vocab, targets.data(), options,
                fused.data(), fused_entropy.data(), lse.data());
  auto logits = Output(static_cast<size_t>(p.rows) * p.vocab);
  auto logsoftmax = Output(static_cast<size_t>(p.rows) * p.vocab);
  auto unfused = Output(p.rows);
  auto unfused_entropy = Output(p.rows);
  LmHeadUnfused(ctx(), hidden.data(), p.rows, p.dim, w, p.vocab, targets.data(), options,
                logits.data(), logsoftmax.data(), unfused.data(), unfused_entropy.data());
  EXPECT_LT(testing::MaxAbsDiff(fused.Download(), unfused.Download()), 2e-5);
  EXPECT_LT(testing::MaxAbsDiff(fused_entropy.Download(), unfused_entropy.Download()), 2e-5);
  testing::ExpectClean(logsoftmax, "logsoftmax");
  // The CPU's materialized logits agree with the GPU's.
  std::vector<float> cpu_logits(static_cast<size_t>(p.rows) * p.vocab);
  kernels::LmHeadOptions cpu_options;
  std::vector<float> scratch(kernels::LmHeadScratchSize(cpu_options, p.dim));
  kernels::LmHeadLogits(p.hidden.data(), p.rows, p.dim, p.weight.data(), p.vocab, cpu_options,
                        scratch.data(), cpu_logits.data());
  EXPECT_LT(RelativeError(logits.Download(), cpu_logits), 1e-6);
  // Scratch measured in the pool: the same for a 10× larger vocabulary, within the bound.
  std::vector<size_t> peaks;
  for (int vocab : {2000, 20000}) {
    const Problem big = MakeProblem(70, 32, vocab, 12);
    auto big_weight = Upload(big.weight);
    auto big_targets = Upload(big.targets);
    ctx().Synchronize();
    ResetScratchPeak(ctx().device());
    LmHeadForward(ctx(), hidden.data(), big.rows, big.dim, {big_weight.data(), big.dim, nullptr},
                  vocab, big_targets.data(), options, fused.data(), fused_entropy.data(),
                  lse.data());
    ctx().Synchronize();
    peaks.push_back(ScratchPeakBytes(ctx().device()));
  }
  EXPECT_EQ(peaks[0], peaks[1]);
  EXPECT_LE(peaks[0], LmHeadScratchBytes(options, 70, 32) + (size_t{8} << 20));  // pool rounding
  EXPECT_GT(peaks[0], 0u);
}

}  // namespace
}  // namespace lightrl::kernels::cuda
