#include "kernels/lm_head.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/gradient_check.h"

namespace lightrl::kernels {
namespace {

using testing::CheckGradient;
using testing::RandomVector;

constexpr int kRows = 11, kDim = 6, kVocab = 37;
const LmHeadOptions kOptions{.row_tile = 4, .vocab_chunk = 8, .inv_temperature = 1.25, .gemm = {}};

std::vector<int32_t> Targets() {
  std::vector<int32_t> t(kRows);
  for (int r = 0; r < kRows; ++r) t[r] = (r * 7 + 3) % kVocab;
  return t;
}

// Materialized log-softmax of the scaled logits: logprob of the targets and entropies.
template <typename T>
void Naive(const std::vector<T>& h, const std::vector<T>& w, double inv_t, std::vector<T>* logprob,
           std::vector<T>* entropy) {
  const std::vector<int32_t> targets = Targets();
  for (int r = 0; r < kRows; ++r) {
    std::vector<T> l(kVocab);
    T max = -1e30;
    for (int v = 0; v < kVocab; ++v) {
      T dot = 0;
      for (int c = 0; c < kDim; ++c) dot += h[r * kDim + c] * w[v * kDim + c];
      l[v] = dot * static_cast<T>(inv_t);
      max = std::max(max, l[v]);
    }
    T sum = 0;
    for (T x : l) sum += std::exp(x - max);
    const T lse = max + std::log(sum);
    T ent = 0;
    for (T x : l) ent -= std::exp(x - lse) * (x - lse);
    (*logprob)[r] = l[targets[r]] - lse;
    (*entropy)[r] = ent;
  }
}

template <typename T>
void Fused(const std::vector<T>& h, const std::vector<T>& w, const LmHeadOptions& options,
           std::vector<T>* logprob, std::vector<T>* entropy, std::vector<T>* lse) {
  std::vector<T> scratch(LmHeadScratchSize(options, kDim));
  const std::vector<int32_t> targets = Targets();
  LmHeadForward(h.data(), kRows, kDim, w.data(), kVocab, targets.data(), options, scratch.data(),
                logprob->data(), entropy->data(), lse->data());
}

TEST(LmHeadTest, MatchesNaiveLogSoftmaxInFloat) {
  const std::vector<double> hd = RandomVector(kRows * kDim, 1),
                            wd = RandomVector(kVocab * kDim, 2, 0.7);
  const std::vector<float> h(hd.begin(), hd.end()), w(wd.begin(), wd.end());
  std::vector<float> lp(kRows), ent(kRows), lse(kRows), lp_ref(kRows), ent_ref(kRows);
  Fused(h, w, kOptions, &lp, &ent, &lse);
  Naive(h, w, kOptions.inv_temperature, &lp_ref, &ent_ref);
  for (int r = 0; r < kRows; ++r) {
    EXPECT_NEAR(lp[r], lp_ref[r], 1e-6);
    EXPECT_NEAR(ent[r], ent_ref[r], 1e-6);
  }
}

TEST(LmHeadTest, ScratchIsAllTheExtraMemoryAndIndependentOfRowsAndVocab) {
  const std::vector<double> h = RandomVector(kRows * kDim, 3), w = RandomVector(kVocab * kDim, 4);
  const size_t need = LmHeadScratchSize(kOptions, kDim);
  EXPECT_EQ(need, static_cast<size_t>(kOptions.row_tile) * (kDim + kOptions.vocab_chunk));
  // Guard words after the scratch must survive forward and backward.
  std::vector<double> scratch(need + 64, 0.0);
  for (size_t i = need; i < scratch.size(); ++i) scratch[i] = 12345.0 + i;
  const std::vector<int32_t> targets = Targets();
  std::vector<double> lp(kRows), ent(kRows), lse(kRows), dh(kRows * kDim), dw(kVocab * kDim, 0.0);
  const std::vector<double> g = RandomVector(kRows, 5);
  LmHeadForward(h.data(), kRows, kDim, w.data(), kVocab, targets.data(), kOptions, scratch.data(),
                lp.data(), ent.data(), lse.data());
  LmHeadBackward(h.data(), kRows, kDim, w.data(), kVocab, targets.data(), kOptions, lse.data(),
                 ent.data(), g.data(), g.data(), scratch.data(), dh.data(), dw.data());
  for (size_t i = need; i < scratch.size(); ++i) EXPECT_EQ(scratch[i], 12345.0 + i);
}

TEST(LmHeadTest, BackwardMatchesFiniteDifferences) {
  std::vector<double> h = RandomVector(kRows * kDim, 6), w = RandomVector(kVocab * kDim, 7);
  const std::vector<double> g = RandomVector(kRows, 8), ge = RandomVector(kRows, 9);
  auto loss = [&] {
    std::vector<double> lp(kRows), ent(kRows), lse(kRows);
    Fused(h, w, kOptions, &lp, &ent, &lse);
    double total = 0;
    for (int r = 0; r < kRows; ++r) total += g[r] * lp[r] + ge[r] * ent[r];
    return total;
  };
  std::vector<double> lp(kRows), ent(kRows), lse(kRows), dh(h.size()), dw(w.size(), 0.0);
  Fused(h, w, kOptions, &lp, &ent, &lse);
  std::vector<double> scratch(LmHeadScratchSize(kOptions, kDim));
  const std::vector<int32_t> targets = Targets();
  LmHeadBackward(h.data(), kRows, kDim, w.data(), kVocab, targets.data(), kOptions, lse.data(),
                 ent.data(), g.data(), ge.data(), scratch.data(), dh.data(), dw.data());
  EXPECT_TRUE(CheckGradient(&h, dh, loss).Passes());
  EXPECT_TRUE(CheckGradient(&w, dw, loss, 1e-6, 300).Passes());
}

TEST(LmHeadTest, MaterializedLogitsReproduceTheFusedValuesBitForBit) {
  const std::vector<double> hd = RandomVector(kRows * kDim, 10),
                            wd = RandomVector(kVocab * kDim, 11);
  const std::vector<float> h(hd.begin(), hd.end()), w(wd.begin(), wd.end());
  std::vector<float> lp(kRows), ent(kRows), lse(kRows);
  Fused(h, w, kOptions, &lp, &ent, &lse);
  // Three rows at a time, as a decoding batch would ask for them.
  std::vector<float> scratch(LmHeadScratchSize(kOptions, kDim)), logits(3 * kVocab);
  const std::vector<int32_t> targets = Targets();
  for (int r0 = 0; r0 + 3 <= kRows; r0 += 3) {
    LmHeadLogits(h.data() + r0 * kDim, 3, kDim, w.data(), kVocab, kOptions, scratch.data(),
                 logits.data());
    for (int r = 0; r < 3; ++r) {
      const LseState<float> state = RowLse(logits.data() + r * kVocab, kVocab, kOptions);
      EXPECT_EQ(state.Lse(), lse[r0 + r]);
      EXPECT_EQ(state.Entropy(), ent[r0 + r]);
      EXPECT_EQ(logits[r * kVocab + targets[r0 + r]] - state.Lse(), lp[r0 + r]);
    }
  }
}

TEST(LmHeadTest, Bf16HeadDiffersSlightly) {
  const std::vector<double> hd = RandomVector(kRows * kDim, 12),
                            wd = RandomVector(kVocab * kDim, 13);
  const std::vector<float> h(hd.begin(), hd.end()), w(wd.begin(), wd.end());
  std::vector<float> lp(kRows), ent(kRows), lse(kRows), lp16(kRows), ent16(kRows), lse16(kRows);
  LmHeadOptions bf16 = kOptions;
  bf16.gemm.bf16_inputs = true;
  Fused(h, w, kOptions, &lp, &ent, &lse);
  Fused(h, w, bf16, &lp16, &ent16, &lse16);
  double max_diff = 0;
  for (int r = 0; r < kRows; ++r) max_diff = std::max(max_diff, double(std::abs(lp[r] - lp16[r])));
  EXPECT_GT(max_diff, 1e-5);
  EXPECT_LT(max_diff, 0.2);
}

}  // namespace
}  // namespace lightrl::kernels
