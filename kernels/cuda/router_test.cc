// GPU MoE routing and token permutation against the CPU references (kernels/router.h and
// the MoE layer's counting sort and combination).
#include "kernels/cuda/router.h"

#include <gtest/gtest.h>

#include "kernels/bf16.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/test_util.h"
#include "kernels/router.h"

namespace lightrl::kernels::cuda {
namespace {

using testing::GpuTest;
using testing::RandomFloats;
using testing::RelativeError;

class RouterTest : public GpuTest {};

TEST_F(RouterTest, RoutingMatchesCpu) {
  for (const auto& [experts, top_k] : std::vector<std::pair<int, int>>{{8, 2}, {3, 1}, {40, 5}}) {
    const int rows = 173;
    const auto logits = RandomFloats(rows * experts, experts, 2.0f);
    const auto dweights = RandomFloats(rows * top_k, experts + 1);
    const auto aux = RandomFloats(experts, experts + 2, 0.1f);
    std::vector<float> probs(logits.size()), weights(rows * top_k), dlogits(logits.size());
    std::vector<int32_t> indices(rows * top_k);
    kernels::RouterForward(logits.data(), rows, experts, top_k, probs.data(), indices.data(),
                           weights.data());
    std::vector<float> dprobs(logits.size());
    for (size_t i = 0; i < dprobs.size(); ++i) dprobs[i] = aux[i % experts];
    kernels::RouterBackward(probs.data(), indices.data(), weights.data(), dweights.data(),
                            dprobs.data(), rows, experts, top_k, dlogits.data());
    std::vector<double> routed(experts, 1.0), prob_sum(experts, 2.0);
    kernels::RouterAccumulateStats(probs.data(), indices.data(), rows, experts, top_k,
                                   routed.data(), prob_sum.data());

    auto d_logits = Upload(logits);
    auto d_probs = Output(probs.size());
    auto d_indices = Output<int32_t>(indices.size());
    auto d_weights = Output(weights.size());
    RouterForward(ctx(), d_logits.data(), rows, experts, top_k, d_probs.data(), d_indices.data(),
                  d_weights.data());
    EXPECT_EQ(d_indices.Download(), indices) << experts << " experts, top-" << top_k;
    EXPECT_LT(RelativeError(d_probs.Download(), probs), 1e-6);
    EXPECT_LT(RelativeError(d_weights.Download(), weights), 1e-6);
    testing::ExpectClean(d_probs, "probs");
    testing::ExpectClean(d_indices, "indices");
    testing::ExpectClean(d_weights, "weights");

    auto d_dweights = Upload(dweights);
    auto d_aux = Upload(aux);
    auto d_dlogits = Output(dlogits.size());
    RouterBackward(ctx(), d_probs.data(), d_indices.data(), d_weights.data(), d_dweights.data(),
                   d_aux.data(), rows, experts, top_k, d_dlogits.data());
    EXPECT_LT(RelativeError(d_dlogits.Download(), dlogits), 1e-5);
    testing::ExpectClean(d_dlogits, "dlogits");

    DeviceBuffer<double> stats;
    ASSERT_TRUE(stats.Resize(2 * experts).ok());
    std::vector<double> init(experts, 1.0);
    init.resize(2 * experts, 2.0);
    CopyToDevice(ctx(), init.data(), init.size(), stats.data());
    RouterAccumulateStats(ctx(), d_probs.data(), d_indices.data(), rows, experts, top_k,
                          stats.data(), stats.data() + experts);
    std::vector<double> got(2 * experts);
    CopyToHost(ctx(), stats.data(), got.size(), got.data());
    for (int e = 0; e < experts; ++e) {
      EXPECT_EQ(got[e], routed[e]) << "expert " << e;
      EXPECT_NEAR(got[experts + e], prob_sum[e], 1e-5);
    }
  }
}

TEST_F(RouterTest, PermutationGatherAndCombineMatchTheMoeLayer) {
  const int rows = 257, experts = 6, top_k = 2, hidden = 40;
  std::vector<int32_t> indices(rows * top_k);
  const auto raw = RandomFloats(rows * top_k, 3);
  for (int r = 0; r < rows; ++r) {
    const int first = static_cast<int>(std::abs(raw[2 * r]) * 1000) % experts;
    const int second =
        (first + 1 + static_cast<int>(std::abs(raw[2 * r + 1]) * 1000) % (experts - 1)) % experts;
    indices[2 * r] = first;
    indices[2 * r + 1] = second;
  }
  // The MoE layer's stable counting sort.
  const int pairs = rows * top_k;
  std::vector<int32_t> offsets(experts + 1, 0), position(pairs);
  for (int p = 0; p < pairs; ++p) ++offsets[indices[p] + 1];
  for (int e = 0; e < experts; ++e) offsets[e + 1] += offsets[e];
  std::vector<int32_t> next(offsets.begin(), offsets.end() - 1);
  for (int p = 0; p < pairs; ++p) position[p] = next[indices[p]]++;

  auto d_indices = Upload(indices);
  auto d_position = Output<int32_t>(pairs);
  auto d_offsets = Output<int32_t>(experts + 1);
  DispatchByExpert(ctx(), d_indices.data(), pairs, experts, d_position.data(), d_offsets.data());
  EXPECT_EQ(d_position.Download(), position);
  EXPECT_EQ(d_offsets.Download(), offsets);
  testing::ExpectClean(d_position, "slot_position");

  const auto x = RandomFloats(rows * hidden, 4);
  const auto weights = RandomFloats(pairs, 5);
  const auto expert_out = RandomFloats(pairs * hidden, 6);
  const auto dz = RandomFloats(rows * hidden, 7);
  const auto d_gathered_in = RandomFloats(pairs * hidden, 8);
  std::vector<float> gathered(pairs * hidden), z(rows * hidden, 0.0f);
  std::vector<float> d_out(pairs * hidden), dweights(pairs), dx = x;
  for (int p = 0; p < pairs; ++p) {
    for (int c = 0; c < hidden; ++c) {
      gathered[position[p] * hidden + c] = x[(p / top_k) * hidden + c];
      d_out[position[p] * hidden + c] = dz[(p / top_k) * hidden + c] * weights[p];
    }
    double dot = 0;
    for (int c = 0; c < hidden; ++c)
      dot += double(dz[(p / top_k) * hidden + c]) * expert_out[position[p] * hidden + c];
    dweights[p] = static_cast<float>(dot);
  }
  for (int r = 0; r < rows; ++r) {
    for (int e = 0; e < experts; ++e) {
      for (int s = 0; s < top_k; ++s) {
        const int p = r * top_k + s;
        if (indices[p] != e) continue;
        for (int c = 0; c < hidden; ++c)
          z[r * hidden + c] += expert_out[position[p] * hidden + c] * weights[p];
      }
    }
    for (int s = 0; s < top_k; ++s)
      for (int c = 0; c < hidden; ++c)
        dx[r * hidden + c] += d_gathered_in[position[r * top_k + s] * hidden + c];
  }
  auto d_x = Upload(x);
  auto d_gathered = Output(gathered.size());
  GatherForExperts(ctx(), d_x.data(), rows, top_k, hidden, d_position.data(), d_gathered.data());
  EXPECT_EQ(d_gathered.Download(), gathered);
  testing::ExpectClean(d_gathered, "gathered");
  // The bf16 gather moves the bf16 copies the same way.
  auto x16 = Output<bf16>(x.size());
  ConvertToBf16(ctx(), d_x.data(), 1, static_cast<int>(x.size()), 1, x16.data(), 1);
  auto gathered16 = Output<bf16>(gathered.size());
  GatherForExperts(ctx(), x16.data(), rows, top_k, hidden, d_position.data(), gathered16.data());
  const std::vector<bf16> got16 = gathered16.Download();
  testing::ExpectClean(gathered16, "gathered bf16");
  for (size_t i = 0; i < gathered.size(); ++i) {
    ASSERT_EQ(__bfloat162float(got16[i]), RoundToBf16(gathered[i])) << "element " << i;
  }
  auto d_weights = Upload(weights);
  auto d_expert_out = Upload(expert_out);
  auto d_z = Output(z.size());
  CombineExperts(ctx(), d_expert_out.data(), d_position.data(), d_indices.data(), d_weights.data(),
                 rows, top_k, hidden, d_z.data());
  EXPECT_LT(RelativeError(d_z.Download(), z), 1e-6);
  testing::ExpectClean(d_z, "z");
  auto d_dz = Upload(dz);
  auto d_dout = Output(d_out.size());
  auto d_dweights = Output(dweights.size());
  CombineExpertsBackward(ctx(), d_dz.data(), d_expert_out.data(), d_position.data(),
                         d_weights.data(), rows, top_k, hidden, d_dout.data(), d_dweights.data());
  EXPECT_LT(RelativeError(d_dout.Download(), d_out), 1e-7);
  EXPECT_LT(RelativeError(d_dweights.Download(), dweights), 1e-5);
  testing::ExpectClean(d_dout, "d_expert_out");
  auto d_dg = Upload(d_gathered_in);
  auto d_dx = Upload(x);
  GatherForExpertsBackward(ctx(), d_dg.data(), d_position.data(), rows, top_k, hidden, d_dx.data());
  EXPECT_EQ(d_dx.Download(), dx);
}

}  // namespace
}  // namespace lightrl::kernels::cuda
