// Data-parallel training on several GPUs: the sequence split (everywhere), and replicas that
// train like one GPU on the whole batch and stay bit-identical (skips with fewer than two
// GPUs; runs through scripts/test-gpu).
#include "learner/data_parallel_policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "kernels/cuda/device.h"
#include "model/test_configs.h"

namespace lightrl::learner {
namespace {

model::PackedBatch BatchOfLengths(const std::vector<int>& lengths) {
  model::PackedBatch batch;
  for (int length : lengths) batch.Append(std::vector<int32_t>(length, 1));
  return batch;
}

TEST(SplitSequencesTest, ContiguousBalancedAndComplete) {
  using Ranges = std::vector<std::pair<int, int>>;
  EXPECT_EQ(SplitSequences(BatchOfLengths({10, 10, 10, 10}), 2), (Ranges{{0, 2}, {2, 4}}));
  EXPECT_EQ(SplitSequences(BatchOfLengths({30, 5, 5, 5, 5}), 2), (Ranges{{0, 1}, {1, 5}}));
  EXPECT_EQ(SplitSequences(BatchOfLengths({5, 5, 5, 5, 30}), 2), (Ranges{{0, 4}, {4, 5}}));
  EXPECT_EQ(SplitSequences(BatchOfLengths({4, 4, 4, 4, 4, 4}), 3),
            (Ranges{{0, 2}, {2, 4}, {4, 6}}));
  // Fewer sequences than parts: one each, the rest empty.
  EXPECT_EQ(SplitSequences(BatchOfLengths({7, 3}), 3), (Ranges{{0, 1}, {1, 2}, {2, 2}}));
  EXPECT_EQ(SplitSequences(BatchOfLengths({}), 2), (Ranges{{0, 0}, {0, 0}}));
  // Every sequence once, in order, on random lengths.
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<int> lengths(1 + rng() % 20);
    for (int& l : lengths) l = 1 + static_cast<int>(rng() % 40);
    const int parts = 1 + static_cast<int>(rng() % 8);
    const Ranges ranges = SplitSequences(BatchOfLengths(lengths), parts);
    ASSERT_EQ(ranges.size(), static_cast<size_t>(parts));
    int next = 0;
    for (const auto& [first, last] : ranges) {
      EXPECT_EQ(first, next);
      EXPECT_GE(last, first);
      next = last;
    }
    EXPECT_EQ(next, static_cast<int>(lengths.size()));
  }
}

TEST(DataParallelPolicyTest, NeedsTwoDistinctDevices) {
  const model::ModelConfig config = model::testing::TinyHybridConfig();
  const int64_t one[] = {0}, same[] = {1, 1};
  EXPECT_EQ(CreateDataParallelPolicy(config, {}, one).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateDataParallelPolicy(config, {}, same).status().code(),
            StatusCode::kInvalidArgument);
}

// One training step through the Policy interface: forward, a fixed per-token gradient,
// backward, clip and step.
struct StepResult {
  std::vector<float> logprobs;  // of the forward, before the update
  double grad_norm = 0;         // of the whole batch's gradient, before clipping
};

StepResult Step(model::Policy& policy, const model::PackedBatch& batch) {
  auto out = policy.Forward(batch);
  CHECK_OK(out.status());
  policy.ZeroGrad();
  std::vector<float> d(batch.num_tokens());
  for (size_t j = 0; j < d.size(); ++j) d[j] = -0.05f * static_cast<float>(1 + j % 3);
  CHECK_OK(policy.Backward(d));
  return {out->logprobs, policy.ClipAndStep(1.0)};
}

TEST(DataParallelPolicyTest, TwoGpusTrainLikeOneAndStayIdentical) {
  std::string why;
  const int gpus = kernels::cuda::DeviceCount(&why);
  if (gpus < 2) GTEST_SKIP() << "needs two GPUs, found " << gpus << " " << why;
  model::ModelConfig config = model::testing::TinyHybridConfig();
  // The MoE balancing loss is not a sum over sequences: each replica's shard has its own
  // (data_parallel_policy.h). Without it the two runs differ by summation order only.
  config.router_aux_loss_coef = 0;
  model::PolicyOptions options;
  options.backend = model::Backend::kCuda;
  // FP32 throughout (plain FP32 head products too): the two runs differ by summation order.
  options.precision = model::Precision{};
  options.plain_fp32_head_gemm = true;
  const int64_t devices[] = {0, 1};
  auto parallel = CreateDataParallelPolicy(config, options, devices);
  ASSERT_TRUE(parallel.ok()) << parallel.status();
  auto single = model::CreatePolicy(config, options);
  ASSERT_TRUE(single.ok()) << single.status();
  (*parallel)->InitializeRandom(4);
  (*single)->InitializeRandom(4);
  const model::ParamArena<float> start = (*single)->params();
  // Seven sequences of uneven lengths: the replicas get different token counts.
  const model::PackedBatch batch =
      model::testing::RandomBatch({9, 14, 3, 20, 6, 11, 5}, 2, config.vocab_size, 8);
  for (int step = 0; step < 3; ++step) {
    const StepResult a = Step(**parallel, batch), b = Step(**single, batch);
    ASSERT_EQ(a.logprobs.size(), b.logprobs.size());
    if (step == 0) {  // Same weights: same outputs and the same summed gradient.
      for (size_t j = 0; j < a.logprobs.size(); ++j) {
        EXPECT_NEAR(a.logprobs[j], b.logprobs[j], 1e-5) << "token " << j;
      }
      EXPECT_NEAR(a.grad_norm, b.grad_norm, 1e-4 * b.grad_norm);
    }
    const std::vector<uint64_t> digests = ReplicaDigests(**parallel);
    ASSERT_EQ(digests.size(), 2u);
    EXPECT_EQ(digests[0], digests[1]) << "the replicas diverged after step " << step;
  }
  // AdamW (eps 1e-15) turns tiny gradient differences into full-size steps for weights
  // whose gradient is near zero, so three steps are compared against the distance moved
  // (2 × H100: 1.6e-6; with the balancing loss on, 3.1e-3).
  const auto& p = (*parallel)->params();
  const auto& q = (*single)->params();
  double diff = 0, moved = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    diff += std::pow(double(p.data()[i]) - q.data()[i], 2);
    moved += std::pow(double(q.data()[i]) - start.data()[i], 2);
  }
  ASSERT_GT(moved, 0);
  std::printf("two GPUs vs one after 3 steps: %.3g of the distance moved\n",
              std::sqrt(diff / moved));
  EXPECT_LT(std::sqrt(diff / moved), 1e-4) << "two GPUs trained differently from one";
  EXPECT_EQ((*parallel)->optimizer_step(), 3);
}

}  // namespace
}  // namespace lightrl::learner
