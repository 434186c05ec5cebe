// The learning math end to end, in one process without sockets: an SFT warm start, then CISPO
// on a built-in task must raise held-out accuracy by a clear margin. Fixed seeds throughout.
#include <gtest/gtest.h>

#include "kernels/parallel.h"
#include "learner/local_rl.h"
#include "model/config.h"
#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

TEST(LearningTest, SftWarmStartThenCispoRaisesHeldOutAccuracy) {
  kernels::SetNumThreads(2);  // Reductions split by thread count: fix it for fixed results.
  auto config = model::LoadModelConfig(testing::SourcePath("model/configs/demo.json"));
  ASSERT_TRUE(config.ok()) << config.status();
  auto model = model::Model::Create(*config);
  ASSERT_TRUE(model.ok());
  (*model)->InitializeRandom(1);
  TaskConfig task_config;
  task_config.name = "add";
  task_config.arithmetic = {1, 2, /*reverse_answer=*/true};
  auto task = MakeTask(task_config);
  ASSERT_TRUE(task.ok());
  TrainerConfig trainer_config;  // CISPO, token-level normalization, anchor = behaviour.
  trainer_config.optimizer.lr = 2e-3;
  auto trainer = PolicyTrainer::Create(model::MakeCpuPolicy(std::move(*model)), trainer_config);
  ASSERT_TRUE(trainer.ok());

  // A short warm start: it learns the format but few answers.
  constexpr int kSftSteps = 450, kExamplesPerStep = 32, kGroups = 32, kGroupSize = 16;
  for (int step = 0; step < kSftSteps; ++step) {
    auto examples = SftExamples(**task, step * kExamplesPerStep, kExamplesPerStep);
    ASSERT_TRUE(examples.ok());
    ASSERT_TRUE((*trainer)->TrainSft(*examples).ok());
  }
  auto before = EvaluateGreedy((*trainer)->policy(), **task, 200, 8);
  ASSERT_TRUE(before.ok());

  (*trainer)->set_lr(5e-4);
  model::SamplingParams sampling;
  sampling.max_tokens = 6;
  for (int step = 0; step < 50; ++step) {
    // Train items after the SFT ones; eval items are a separate stream.
    const int64_t first_item = kSftSteps * kExamplesPerStep + step * kGroups;
    auto groups =
        GenerateGroups((*trainer)->policy(), **task, 100000 + first_item, kGroups, kGroupSize,
                       sampling, 7, static_cast<uint32_t>((*trainer)->version()));
    ASSERT_TRUE(groups.ok()) << groups.status();
    auto metrics = (*trainer)->TrainRl(*groups);
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    // Generation and training run the same kernels: the precision signal is exact.
    EXPECT_EQ(metrics->precision.max_abs_logprob_delta, 0.0);
  }
  auto after = EvaluateGreedy((*trainer)->policy(), **task, 200, 8);
  ASSERT_TRUE(after.ok());
  std::printf("held-out accuracy: %.3f after SFT, %.3f after CISPO\n", *before, *after);
  EXPECT_LT(*before, 0.4);
  EXPECT_GE(*after, *before + 0.15) << "CISPO did not raise held-out accuracy clearly";
}

}  // namespace
}  // namespace lightrl
