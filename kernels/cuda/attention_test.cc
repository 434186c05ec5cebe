// GPU softmax attention against the CPU reference (kernels/attention.h): the flash-tiled
// forward and backward over packed batches with grouped-query heads, and cached decoding.
#include "kernels/cuda/attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/attention.h"
#include "kernels/cuda/test_util.h"

namespace lightrl::kernels::cuda {
namespace {

using testing::GpuTest;
using testing::RandomFloats;
using testing::RelativeError;

struct Case {
  int heads, kv_heads, dim;
  std::vector<int> lengths;
};

std::vector<int32_t> Offsets(const std::vector<int>& lengths) {
  std::vector<int32_t> offsets = {0};
  for (int len : lengths) offsets.push_back(offsets.back() + len);
  return offsets;
}

class AttentionTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(AttentionTest, ForwardAndBackwardMatchCpu) {
  const Case& c = GetParam();
  const AttentionShape shape{c.heads, c.kv_heads, c.dim, 1.0 / std::sqrt(double(c.dim))};
  const auto offsets = Offsets(c.lengths);
  const int n = offsets.back(), inner = c.heads * c.dim, kv = c.kv_heads * c.dim;
  const int width = inner + 2 * kv;  // q, k, v side by side, as the model packs them
  const auto proj = RandomFloats(static_cast<size_t>(n) * width, n + c.dim, 1.5f);
  const auto dout = RandomFloats(static_cast<size_t>(n) * inner, n + 2);
  const int num_seqs = static_cast<int>(c.lengths.size());
  std::vector<float> out(static_cast<size_t>(n) * inner), lse(static_cast<size_t>(n) * c.heads);
  std::vector<float> dproj(proj.size(), 0.0f);
  const float* p = proj.data();
  kernels::AttentionForward(p, width, p + inner, width, p + inner + kv, width, offsets.data(),
                            num_seqs, shape, out.data(), lse.data());
  kernels::AttentionBackward(p, width, p + inner, width, p + inner + kv, width, out.data(),
                             lse.data(), dout.data(), offsets.data(), num_seqs, shape, dproj.data(),
                             dproj.data() + inner, dproj.data() + inner + kv);

  auto d_proj = Upload(proj);
  auto d_out = Output(out.size());
  auto d_lse = Output(lse.size());
  float* dp = d_proj.data();
  const AttentionPlan plan(ctx(), offsets);
  AttentionForward(ctx(), dp, width, dp + inner, width, dp + inner + kv, width, plan, shape,
                   d_out.data(), d_lse.data());
  EXPECT_LT(RelativeError(d_out.Download(), out), 1e-5);
  EXPECT_LT(RelativeError(d_lse.Download(), lse), 1e-6);
  testing::ExpectClean(d_out, "out");
  testing::ExpectClean(d_lse, "lse");

  auto d_dout = Upload(dout);
  auto d_dproj = Output(proj.size());
  float* g = d_dproj.data();
  AttentionBackward(ctx(), dp, width, dp + inner, width, dp + inner + kv, width, d_out.data(),
                    d_lse.data(), d_dout.data(), plan, shape, g, g + inner, g + inner + kv);
  EXPECT_LT(RelativeError(d_dproj.Download(), dproj), 1e-5);
  testing::ExpectClean(d_dproj, "dq|dk|dv");
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTest,
                         ::testing::Values(Case{4, 2, 16, {1, 70, 130}}, Case{4, 1, 24, {65, 3}},
                                           Case{2, 2, 64, {200}}, Case{4, 2, 128, {129, 64, 1}}));

class AttentionDecodeTest : public GpuTest {};

TEST_F(AttentionDecodeTest, CachedDecodingMatchesTheTrainingRows) {
  const int heads = 4, kv_heads = 2, dim = 64, inner = heads * dim, kv = kv_heads * dim;
  const int width = inner + 2 * kv, capacity = 256;
  const AttentionShape shape{heads, kv_heads, dim, 0.125};
  const std::vector<int> lengths = {90, 140};
  const auto offsets = Offsets(lengths);
  const int n = offsets.back();
  const auto proj = RandomFloats(static_cast<size_t>(n) * width, 31, 1.5f);
  std::vector<float> expected(static_cast<size_t>(n) * inner), lse(static_cast<size_t>(n) * heads);
  const float* p = proj.data();
  kernels::AttentionForward(p, width, p + inner, width, p + inner + kv, width, offsets.data(), 2,
                            shape, expected.data(), lse.data());

  auto d_proj = Upload(proj);
  auto keys = Output(3 * capacity * kv);
  auto values = Output(3 * capacity * kv);
  const KvCacheView cache{keys.data(), values.data(), capacity};
  const std::vector<int32_t> seq_slot = {2, 0};
  // Every row of a sequence, in order, is stored at its position and then attends over
  // positions [0, t]; two sequences decode side by side.
  std::vector<float> got(static_cast<size_t>(n) * inner, NAN);
  for (int t = 0; t < lengths[1]; ++t) {
    std::vector<float> rows;
    std::vector<int32_t> slots, positions, lengths_now, targets;
    for (int s = 0; s < 2; ++s) {
      if (t >= lengths[s]) continue;
      const size_t row = static_cast<size_t>(offsets[s] + t);
      rows.insert(rows.end(), proj.begin() + row * width, proj.begin() + (row + 1) * width);
      slots.push_back(seq_slot[s]);
      positions.push_back(t);
      lengths_now.push_back(t + 1);
      targets.push_back(static_cast<int32_t>(row));
    }
    const int count = static_cast<int>(targets.size());
    auto d_rows = Upload(rows);
    auto d_slots = Upload(slots);
    auto d_positions = Upload(positions);
    auto d_lengths = Upload(lengths_now);
    auto d_out = Output(static_cast<size_t>(count) * inner);
    auto d_lse = Output(static_cast<size_t>(count) * heads);
    KvCacheWrite(ctx(), d_rows.data() + inner, width, d_rows.data() + inner + kv, width, count,
                 d_slots.data(), d_positions.data(), kv, cache);
    AttentionDecode(ctx(), d_rows.data(), width, count, d_slots.data(), d_lengths.data(), shape,
                    cache, d_out.data(), d_lse.data());
    const std::vector<float> out = d_out.Download();
    const std::vector<float> step_lse = d_lse.Download();
    testing::ExpectClean(d_out, "decode out");
    for (int i = 0; i < count; ++i) {
      std::copy(out.begin() + static_cast<size_t>(i) * inner,
                out.begin() + static_cast<size_t>(i + 1) * inner,
                got.begin() + static_cast<size_t>(targets[i]) * inner);
      for (int h = 0; h < heads; ++h) {
        ASSERT_NEAR(step_lse[i * heads + h], lse[static_cast<size_t>(targets[i]) * heads + h], 1e-4)
            << "row " << targets[i] << " head " << h;
      }
    }
  }
  EXPECT_LT(RelativeError(got, expected), 1e-5);
  testing::ExpectClean(keys, "key cache", /*all_written=*/false);
  testing::ExpectClean(values, "value cache", /*all_written=*/false);
}

}  // namespace
}  // namespace lightrl::kernels::cuda
