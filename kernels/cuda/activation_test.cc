// GPU element-wise ops against the CPU references: activations (kernels/activation.h),
// RoPE (kernels/rope.h), and the model's glue (blend, row gathers, embeddings).
#include "kernels/cuda/activation.h"

#include <gtest/gtest.h>

#include <numeric>

#include "kernels/activation.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/rope.h"
#include "kernels/cuda/test_util.h"
#include "kernels/rope.h"

namespace lightrl::kernels::cuda {
namespace {

using testing::GpuTest;
using testing::RandomFloats;
using testing::RelativeError;

class ActivationTest : public GpuTest {};

TEST_F(ActivationTest, SiluOnAStridedBlockMatchesCpu) {
  const int rows = 33, cols = 70, ldx = 100, ldy = 80;
  const auto x = RandomFloats(rows * ldx, 1, 3.0f);
  const auto dy = RandomFloats(rows * ldy, 2);
  std::vector<float> y(rows * ldy, 0.0f), dx(rows * ldx, 0.0f);
  kernels::SiluForward(x.data(), ldx, rows, cols, y.data(), ldy);
  kernels::SiluBackward(x.data(), ldx, dy.data(), ldy, rows, cols, dx.data(), ldx);
  auto d_x = Upload(x);
  auto d_y = Upload(std::vector<float>(rows * ldy, 0.0f));
  auto d_dy = Upload(dy);
  auto d_dx = Upload(std::vector<float>(rows * ldx, 0.0f));
  SiluForward(ctx(), d_x.data(), ldx, rows, cols, d_y.data(), ldy);
  SiluBackward(ctx(), d_x.data(), ldx, d_dy.data(), ldy, rows, cols, d_dx.data(), ldx);
  EXPECT_LT(RelativeError(d_y.Download(), y), 1e-6);
  EXPECT_LT(RelativeError(d_dx.Download(), dx), 1e-6);
  testing::ExpectClean(d_y, "y");
  testing::ExpectClean(d_dx, "dx");
}

TEST_F(ActivationTest, SwiGluAndSigmoidGateMatchCpu) {
  const int rows = 41, inter = 37;
  const auto gate_up = RandomFloats(rows * 2 * inter, 3, 2.0f);
  const auto dout = RandomFloats(rows * inter, 4);
  std::vector<float> out(rows * inter), dgu(rows * 2 * inter);
  kernels::SwiGluForward(gate_up.data(), rows, inter, out.data());
  kernels::SwiGluBackward(gate_up.data(), dout.data(), rows, inter, dgu.data());
  auto d_gu = Upload(gate_up);
  auto d_out = Output(out.size());
  auto d_dout = Upload(dout);
  auto d_dgu = Output(dgu.size());
  SwiGluForward(ctx(), d_gu.data(), rows, inter, d_out.data());
  SwiGluBackward(ctx(), d_gu.data(), d_dout.data(), rows, inter, d_dgu.data());
  EXPECT_LT(RelativeError(d_out.Download(), out), 1e-6);
  EXPECT_LT(RelativeError(d_dgu.Download(), dgu), 1e-6);
  testing::ExpectClean(d_out, "swiglu out");
  testing::ExpectClean(d_dgu, "swiglu dgate_up");

  const int ldg = 2 * inter;  // the gate is a column block of a wider row
  const auto x = RandomFloats(rows * inter, 5);
  std::vector<float> y(rows * inter), dgate(rows * ldg, 0.0f), dx(rows * inter);
  kernels::SigmoidGateForward(gate_up.data(), ldg, x.data(), rows, inter, y.data());
  kernels::SigmoidGateBackward(gate_up.data(), ldg, x.data(), dout.data(), rows, inter,
                               dgate.data(), ldg, dx.data());
  auto d_x = Upload(x);
  auto d_y = Output(y.size());
  auto d_dgate = Upload(std::vector<float>(rows * ldg, 0.0f));
  auto d_dx = Output(dx.size());
  SigmoidGateForward(ctx(), d_gu.data(), ldg, d_x.data(), rows, inter, d_y.data());
  SigmoidGateBackward(ctx(), d_gu.data(), ldg, d_x.data(), d_dout.data(), rows, inter,
                      d_dgate.data(), ldg, d_dx.data());
  EXPECT_LT(RelativeError(d_y.Download(), y), 1e-6);
  EXPECT_LT(RelativeError(d_dgate.Download(), dgate), 1e-6);
  EXPECT_LT(RelativeError(d_dx.Download(), dx), 1e-6);
  testing::ExpectClean(d_y, "gate y");
  testing::ExpectClean(d_dx, "gate dx");
}

TEST_F(ActivationTest, RopeForwardAndBackwardMatchCpu) {
  const int rows = 90, heads = 3, head_dim = 24, ld = heads * head_dim + 8;
  const RopeShape shape{heads, head_dim, 16, 1e4};
  std::vector<int32_t> positions(rows);
  for (int r = 0; r < rows; ++r) positions[r] = (r * 37) % 2000;  // large angles too
  const auto x = RandomFloats(rows * ld, 6);
  std::vector<float> fwd = x, bwd = x;
  kernels::RopeForward(fwd.data(), rows, ld, shape, positions.data());
  kernels::RopeBackward(bwd.data(), rows, ld, shape, positions.data());
  auto d_pos = Upload(positions);
  auto d_fwd = Upload(x);
  auto d_bwd = Upload(x);
  const RopeFrequencies rope(ctx(), shape);
  RopeForward(ctx(), d_fwd.data(), rows, ld, rope, d_pos.data());
  RopeBackward(ctx(), d_bwd.data(), rows, ld, rope, d_pos.data());
  EXPECT_LT(RelativeError(d_fwd.Download(), fwd), 1e-6);
  EXPECT_LT(RelativeError(d_bwd.Download(), bwd), 1e-6);
  testing::ExpectClean(d_fwd, "rope forward");
}

TEST_F(ActivationTest, BlendGatherScatterAndEmbedding) {
  const int rows = 50, cols = 33, vocab = 7;
  const auto a = RandomFloats(rows * cols, 7);
  const auto b = RandomFloats(rows * cols, 8);
  auto d_a = Upload(a);
  auto d_b = Upload(b);
  auto d_out = Output(a.size());
  Blend(ctx(), d_a.data(), 1.3f, d_b.data(), 0.7f, a.size(), d_out.data());
  std::vector<float> blended(a.size());
  for (size_t i = 0; i < a.size(); ++i) blended[i] = a[i] * 1.3f + b[i] * 0.7f;
  EXPECT_LT(RelativeError(d_out.Download(), blended), 1e-7);
  testing::ExpectClean(d_out, "blend");

  std::vector<int32_t> pick = {4, 0, 49, 17};
  auto d_pick = Upload(pick);
  auto d_gathered = Output(pick.size() * cols);
  GatherRows(ctx(), d_a.data(), d_pick.data(), 4, cols, d_gathered.data());
  const std::vector<float> gathered = d_gathered.Download();
  for (int i = 0; i < 4; ++i)
    for (int c = 0; c < cols; ++c) ASSERT_EQ(gathered[i * cols + c], a[pick[i] * cols + c]);
  auto d_scattered = Upload(b);
  ScatterRows(ctx(), d_gathered.data(), d_pick.data(), 4, cols, d_scattered.data());
  const std::vector<float> scattered = d_scattered.Download();
  for (int r = 0; r < rows; ++r) {
    const bool picked = std::find(pick.begin(), pick.end(), r) != pick.end();
    for (int c = 0; c < cols; ++c) {
      ASSERT_EQ(scattered[r * cols + c], picked ? a[r * cols + c] : b[r * cols + c]);
    }
  }

  // Embedding: forward lookup and the grouped, ordered backward.
  const auto table = RandomFloats(vocab * cols, 9);
  std::vector<int32_t> tokens(rows);
  for (int r = 0; r < rows; ++r) tokens[r] = (r * r + 3) % vocab;
  auto d_table = Upload(table);
  auto d_tokens = Upload(tokens);
  auto d_emb = Output(rows * cols);
  EmbeddingForward(ctx(), d_table.data(), cols, d_tokens.data(), rows, d_emb.data());
  const std::vector<float> emb = d_emb.Download();
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) ASSERT_EQ(emb[r * cols + c], table[tokens[r] * cols + c]);
  std::vector<float> grad = RandomFloats(vocab * cols, 10), expected = grad;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) expected[tokens[r] * cols + c] += a[r * cols + c];
  std::vector<int32_t> unique, offsets = {0}, order;
  for (int t = 0; t < vocab; ++t) {
    bool any = false;
    for (int r = 0; r < rows; ++r) {
      if (tokens[r] == t) {
        order.push_back(r);
        any = true;
      }
    }
    if (any) {
      unique.push_back(t);
      offsets.push_back(static_cast<int32_t>(order.size()));
    }
  }
  auto d_unique = Upload(unique);
  auto d_offsets = Upload(offsets);
  auto d_order = Upload(order);
  auto d_grad = Upload(grad);
  EmbeddingBackward(
      ctx(), d_a.data(), cols,
      {static_cast<int>(unique.size()), d_unique.data(), d_offsets.data(), d_order.data()},
      d_grad.data());
  EXPECT_EQ(d_grad.Download(), expected);  // same additions in the same order
  testing::ExpectClean(d_grad, "embedding grad");
}

}  // namespace
}  // namespace lightrl::kernels::cuda
