#include "kernels/lightning.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/gradient_check.h"

namespace lightrl::kernels {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::RandomVector;

constexpr int kHeads = 2;
constexpr int kDim = 4;
constexpr int kLd = 3 * kHeads * kDim;

// The plain recurrence S_t = λ S_{t−1} + k_tᵀ v_t, o_t = q_t S_t, per sequence and head.
std::vector<double> Recurrence(const std::vector<double>& qkv, const std::vector<int32_t>& offsets,
                               const std::vector<double>& slopes) {
  const int rows = offsets.back();
  std::vector<double> out(static_cast<size_t>(rows) * kHeads * kDim, 0.0);
  for (size_t s = 0; s + 1 < offsets.size(); ++s) {
    for (int h = 0; h < kHeads; ++h) {
      const double lambda = std::exp(-slopes[h]);
      std::vector<double> state(kDim * kDim, 0.0);
      for (int t = offsets[s]; t < offsets[s + 1]; ++t) {
        const double* q = qkv.data() + t * kLd + 3 * h * kDim;
        const double* k = q + kDim;
        const double* v = q + 2 * kDim;
        for (int r = 0; r < kDim; ++r) {
          for (int c = 0; c < kDim; ++c)
            state[r * kDim + c] = lambda * state[r * kDim + c] + k[r] * v[c];
        }
        for (int c = 0; c < kDim; ++c) {
          double sum = 0;
          for (int r = 0; r < kDim; ++r) sum += q[r] * state[r * kDim + c];
          out[(t * kHeads + h) * kDim + c] = sum;
        }
      }
    }
  }
  return out;
}

struct Case {
  std::vector<int32_t> offsets{0, 13, 14, 30};  // three sequences, one of length 1
  std::vector<double> slopes{0.3, 0.05};
  std::vector<double> qkv = RandomVector(30 * kLd, 11, 0.5);
};

std::vector<double> BlockForm(const Case& c, int block) {
  std::vector<double> out(30 * kHeads * kDim);
  LightningForward(c.qkv.data(), kLd, c.offsets.data(), 3, {kHeads, kDim, block}, c.slopes.data(),
                   out.data());
  return out;
}

TEST(LightningTest, SlopesFollowTransformers) {
  // 8 heads: base 1/2^(8/8) = 0.5, so head h decays at 0.5^(h+1), scaled by the depth factor.
  EXPECT_NEAR(LightningSlope<double>(0, 8, 0, 5), 0.5 * (1 + 1e-5), 1e-15);
  EXPECT_NEAR(LightningSlope<double>(2, 8, 0, 5), 0.125 * (1 + 1e-5), 1e-15);
  const double last_layer = 1 - 4 / (4 + 1e-5) + 1e-5;
  EXPECT_NEAR(LightningSlope<double>(0, 8, 4, 5), 0.5 * last_layer, 1e-15);
  EXPECT_LT(LightningSlope<double>(0, 8, 4, 5), 1e-4);
  EXPECT_NEAR(LightningSlope<float>(3, 8, 2, 5), LightningSlope<double>(3, 8, 2, 5), 1e-7);
}

TEST(LightningTest, BlockFormEqualsRecurrence) {
  const Case c;
  const std::vector<double> expected = Recurrence(c.qkv, c.offsets, c.slopes);
  for (int block : {1, 4, 5, 16, 64}) {
    const std::vector<double> got = BlockForm(c, block);
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got[i], expected[i], 1e-12) << "block " << block << " index " << i;
    }
  }
}

TEST(LightningTest, FloatBlockFormCloseToDoubleRecurrence) {
  const Case c;
  const std::vector<double> expected = Recurrence(c.qkv, c.offsets, c.slopes);
  std::vector<float> qkv(c.qkv.begin(), c.qkv.end()), slopes(c.slopes.begin(), c.slopes.end());
  std::vector<float> out(expected.size());
  LightningForward(qkv.data(), kLd, c.offsets.data(), 3, {kHeads, kDim, 4}, slopes.data(),
                   out.data());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], expected[i], 1e-5);
}

TEST(LightningTest, RowByRowDecodingIsBitIdenticalToTrainingForward) {
  const Case c;
  const int block = 4, len = 13, h = 1;
  std::vector<float> qkv(c.qkv.begin(), c.qkv.end());
  const std::vector<float> slopes(c.slopes.begin(), c.slopes.end());
  std::vector<float> full(30 * kHeads * kDim);
  LightningForward(qkv.data(), kLd, c.offsets.data(), 3, {kHeads, kDim, block}, slopes.data(),
                   full.data());
  const std::vector<float> decay = LightningDecayTable(slopes[h], block);
  std::vector<float> state(kDim * kDim, 0.0f), keys, values, row(kDim);
  for (int t = 0; t < len; ++t) {
    const float* q = qkv.data() + t * kLd + 3 * h * kDim;
    keys.insert(keys.end(), q + kDim, q + 2 * kDim);
    values.insert(values.end(), q + 2 * kDim, q + 3 * kDim);
    const int i = static_cast<int>(keys.size() / kDim) - 1;
    LightningBlockRow(q, keys.data(), kDim, values.data(), kDim, i, state.data(), decay.data(),
                      kDim, row.data());
    for (int d = 0; d < kDim; ++d) ASSERT_EQ(row[d], full[(t * kHeads + h) * kDim + d]) << t;
    if (i + 1 == block) {
      LightningFoldBlock(keys.data(), kDim, values.data(), kDim, block, decay.data(), kDim,
                         state.data());
      keys.clear();
      values.clear();
    }
  }
}

TEST(LightningTest, SequenceForwardLeavesTheStateOfTheLastPartialBlock) {
  const Case c;
  std::vector<double> out(13 * kDim), state(kDim * kDim, 0.0), folded(kDim * kDim, 0.0);
  const std::vector<double> decay = LightningDecayTable(c.slopes[0], 4);
  const LightningHeadView<double> view{
      c.qkv.data(), c.qkv.data() + kDim, c.qkv.data() + 2 * kDim, kLd, kLd, kLd};
  LightningSequenceForward(view, 13, kDim, decay.data(), 4, out.data(), kDim, state.data());
  for (int b = 0; b < 3; ++b) {  // 13 rows = 3 complete blocks + 1 pending row
    LightningFoldBlock(view.k + 4 * b * kLd, kLd, view.v + 4 * b * kLd, kLd, 4, decay.data(), kDim,
                       folded.data());
  }
  for (int e = 0; e < kDim * kDim; ++e) EXPECT_EQ(state[e], folded[e]);
}

TEST(LightningTest, BackwardMatchesFiniteDifferences) {
  Case c;
  const std::vector<double> r = RandomVector(30 * kHeads * kDim, 12);
  for (int block : {3, 64}) {
    auto loss = [&] { return Dot(BlockForm(c, block), r); };
    std::vector<double> dqkv(c.qkv.size(), 0.0);
    LightningBackward(c.qkv.data(), kLd, r.data(), c.offsets.data(), 3, {kHeads, kDim, block},
                      c.slopes.data(), dqkv.data());
    const auto result = CheckGradient(&c.qkv, dqkv, loss, 1e-6, 400);
    EXPECT_TRUE(result.Passes()) << "block " << block << " error " << result.max_error;
  }
}

}  // namespace
}  // namespace lightrl::kernels
