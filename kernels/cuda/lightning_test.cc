// GPU lightning attention against the CPU reference (kernels/lightning.h): the block-form
// forward and backward over packed batches, the final state for decoding, and decoding by
// the recurrence.
#include "kernels/cuda/lightning.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cuda/test_util.h"
#include "kernels/lightning.h"

namespace lightrl::kernels::cuda {
namespace {

using testing::GpuTest;
using testing::RandomFloats;
using testing::RelativeError;

struct Case {
  int heads, dim, block, layer;
  std::vector<int> lengths;
  int ld_pad = 5;  // extra floats per qkv row; 0 keeps rows 16-byte aligned (wide copies)
};

std::vector<int32_t> Offsets(const std::vector<int>& lengths) {
  std::vector<int32_t> offsets = {0};
  for (int len : lengths) offsets.push_back(offsets.back() + len);
  return offsets;
}

std::vector<float> Slopes(int heads, int layer) {
  std::vector<float> slopes;
  for (int h = 0; h < heads; ++h) slopes.push_back(LightningSlope<float>(h, heads, layer, 8));
  return slopes;
}

class LightningTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(LightningTest, ForwardBackwardAndFinalStateMatchCpu) {
  const Case& c = GetParam();
  const LightningShape shape{c.heads, c.dim, c.block};
  const auto offsets = Offsets(c.lengths);
  const int n = offsets.back(), inner = c.heads * c.dim, ld = 3 * inner + c.ld_pad;
  const auto qkv = RandomFloats(static_cast<size_t>(n) * ld, n + c.dim, 0.5f);
  const auto dout = RandomFloats(static_cast<size_t>(n) * inner, n + 1);
  const auto slopes = Slopes(c.heads, c.layer);
  std::vector<float> out(static_cast<size_t>(n) * inner), dqkv(qkv.size(), 0.0f);
  kernels::LightningForward(qkv.data(), ld, offsets.data(), static_cast<int>(c.lengths.size()),
                            shape, slopes.data(), out.data());
  kernels::LightningBackward(qkv.data(), ld, dout.data(), offsets.data(),
                             static_cast<int>(c.lengths.size()), shape, slopes.data(), dqkv.data());

  auto d_qkv = Upload(qkv);
  auto d_out = Output(out.size());
  const size_t state_size = static_cast<size_t>(c.dim) * c.dim;
  auto d_states = Output(c.lengths.size() * c.heads * state_size);
  const LightningPlan plan(ctx(), offsets, c.block);
  const LightningDecay decay(ctx(), shape, slopes.data());
  auto d_block_states = Output(LightningStateFloats(plan, shape));
  LightningForward(ctx(), d_qkv.data(), ld, plan, shape, decay, d_out.data(), d_states.data(),
                   nullptr, d_block_states.data());
  EXPECT_LT(RelativeError(d_out.Download(), out), 1e-5);
  testing::ExpectClean(d_out, "out");
  testing::ExpectClean(d_states, "final states");

  // Final state of each (sequence, head) in double: Σ_u λ^{len−1−u} k_uᵀ v_u.
  const std::vector<float> states = d_states.Download();
  std::vector<float> expected(states.size());
  for (size_t s = 0; s < c.lengths.size(); ++s) {
    for (int h = 0; h < c.heads; ++h) {
      const double lambda = std::exp(-static_cast<double>(slopes[h]));
      for (int r = 0; r < c.dim; ++r) {
        for (int col = 0; col < c.dim; ++col) {
          double sum = 0;
          for (int u = offsets[s]; u < offsets[s + 1]; ++u) {
            const float* row = qkv.data() + static_cast<size_t>(u) * ld + 3 * h * c.dim;
            sum += std::pow(lambda, offsets[s + 1] - 1 - u) * row[c.dim + r] * row[2 * c.dim + col];
          }
          expected[((s * c.heads + h) * c.dim + r) * c.dim + col] = static_cast<float>(sum);
        }
      }
    }
  }
  EXPECT_LT(RelativeError(states, expected), 1e-5);

  testing::ExpectClean(d_block_states, "block states");

  // The backward recomputing the forward's states, and taking those the forward kept.
  auto d_dout = Upload(dout);
  for (const float* kept :
       {static_cast<const float*>(nullptr), static_cast<const float*>(d_block_states.data())}) {
    auto d_dqkv = Upload(std::vector<float>(qkv.size(), 0.0f));
    LightningBackward(ctx(), d_qkv.data(), ld, d_dout.data(), plan, shape, decay, d_dqkv.data(),
                      kept);
    EXPECT_LT(RelativeError(d_dqkv.Download(), dqkv), 1e-5)
        << (kept ? "with the forward's states" : "recomputing them");
    testing::ExpectClean(d_dqkv, "dqkv");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LightningTest,
    ::testing::Values(Case{2, 16, 16, 0, {1, 37, 200, 16}}, Case{3, 24, 32, 3, {100, 5, 64}},
                      Case{2, 64, 64, 7, {300, 129}}, Case{2, 128, 256, 1, {600, 1, 257}},
                      Case{1, 96, 128, 5, {260}}, Case{2, 32, 64, 2, {130, 7}, 0},
                      Case{3, 64, 32, 4, {90, 33}, 0}, Case{2, 128, 256, 6, {520, 3}, 0},
                      // A model block that is no multiple of the kernels' compute block.
                      Case{2, 64, 200, 2, {450, 77}, 0}));

class LightningDecodeTest : public GpuTest {};

TEST_F(LightningDecodeTest, DecodingContinuesThePrefilledState) {
  const int heads = 2, dim = 64, block = 32, inner = heads * dim, ld = 3 * inner;
  const LightningShape shape{heads, dim, block};
  const std::vector<int> lengths = {70, 45};
  const std::vector<int> prompt = {33, 1};
  const auto offsets = Offsets(lengths);
  const int n = offsets.back();
  const auto qkv = RandomFloats(static_cast<size_t>(n) * ld, 21, 0.5f);
  const auto slopes = Slopes(heads, 2);
  std::vector<float> expected(static_cast<size_t>(n) * inner);
  kernels::LightningForward(qkv.data(), ld, offsets.data(), 2, shape, slopes.data(),
                            expected.data());

  // Prefill both prompts packed, into slots 1 and 0 of three.
  std::vector<float> prompts;
  for (int s = 0; s < 2; ++s) {
    prompts.insert(prompts.end(), qkv.begin() + static_cast<size_t>(offsets[s]) * ld,
                   qkv.begin() + static_cast<size_t>(offsets[s] + prompt[s]) * ld);
  }
  const std::vector<int32_t> prompt_offsets = {0, prompt[0], prompt[0] + prompt[1]};
  auto d_prompts = Upload(prompts);
  auto d_prompt_out = Output(static_cast<size_t>(prompt_offsets.back()) * inner);
  auto d_states = Output(3 * heads * dim * dim);
  auto d_slots = Upload(std::vector<int32_t>{1, 0});
  const LightningPlan plan(ctx(), prompt_offsets, block);
  const LightningDecay decay(ctx(), shape, slopes.data());
  LightningForward(ctx(), d_prompts.data(), ld, plan, shape, decay, d_prompt_out.data(),
                   d_states.data(), d_slots.data());
  testing::ExpectClean(d_states, "states", /*all_written=*/false);

  // Then one row per sequence per step while both have rows left.
  std::vector<float> got(static_cast<size_t>(n) * inner, NAN);
  const std::vector<float> prompt_out = d_prompt_out.Download();
  for (int s = 0; s < 2; ++s) {
    std::copy(prompt_out.begin() + static_cast<size_t>(prompt_offsets[s]) * inner,
              prompt_out.begin() + static_cast<size_t>(prompt_offsets[s + 1]) * inner,
              got.begin() + static_cast<size_t>(offsets[s]) * inner);
  }
  for (int step = 0;; ++step) {
    std::vector<float> rows;
    std::vector<int32_t> slots, targets;
    for (int s = 0; s < 2; ++s) {
      const int t = prompt[s] + step;
      if (t >= lengths[s]) continue;
      const size_t row = static_cast<size_t>(offsets[s] + t);
      rows.insert(rows.end(), qkv.begin() + row * ld, qkv.begin() + (row + 1) * ld);
      slots.push_back(s == 0 ? 1 : 0);
      targets.push_back(static_cast<int32_t>(row));
    }
    if (targets.empty()) break;
    auto d_rows = Upload(rows);
    auto d_step_slots = Upload(slots);
    auto d_out = Output(targets.size() * inner);
    LightningDecodeStep(ctx(), d_rows.data(), ld, static_cast<int>(targets.size()),
                        d_step_slots.data(), shape, decay, d_states.data(), d_out.data());
    const std::vector<float> out = d_out.Download();
    testing::ExpectClean(d_out, "decode out");
    for (size_t i = 0; i < targets.size(); ++i) {
      std::copy(out.begin() + i * inner, out.begin() + (i + 1) * inner,
                got.begin() + static_cast<size_t>(targets[i]) * inner);
    }
  }
  EXPECT_LT(RelativeError(got, expected), 2e-5);
}

}  // namespace
}  // namespace lightrl::kernels::cuda
