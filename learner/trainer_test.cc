#include "learner/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/logging.h"
#include "core/tokenizer.h"
#include "learner/checkpointer.h"
#include "learner/local_rl.h"
#include "model/test_configs.h"
#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<PolicyTrainer> TinyTrainer(TrainerConfig config = {}) {
  model::ModelConfig mc = model::testing::TinyHybridConfig();
  auto m = model::Model::Create(mc);
  CHECK_OK(m.status());
  (*m)->InitializeRandom(3);
  config.optimizer.lr = 1e-2;
  auto trainer = PolicyTrainer::Create(model::MakeCpuPolicy(std::move(*m)), config);
  CHECK_OK(trainer.status());
  return std::move(*trainer);
}

// Random groups for the tiny config: `groups` prompts with 4 samples each, rewards 0/1 mixed
// (except group 0 of `flat`, whose rewards are all equal).
std::vector<TrainGroup> RandomGroups(uint32_t seed, int groups, bool flat_first = false,
                                     uint32_t version = 1) {
  std::mt19937 rng(seed);
  std::vector<TrainGroup> out;
  for (int g = 0; g < groups; ++g) {
    TrainGroup group;
    group.group_id = static_cast<uint64_t>(g);
    group.prompt = {1, static_cast<TokenId>(rng() % 11), static_cast<TokenId>(rng() % 11)};
    for (int s = 0; s < 4; ++s) {
      TrainSample scored;
      int len = 2 + static_cast<int>(rng() % 5);
      for (int t = 0; t < len; ++t) {
        scored.sample.tokens.push_back(static_cast<TokenId>(rng() % 11));
        scored.sample.logprobs.push_back(-1.0f - static_cast<float>(rng() % 100) / 50.0f);
        scored.sample.versions.push_back(version);
      }
      scored.reward = (flat_first && g == 0) ? 1.0 : static_cast<double>(s % 2);
      group.samples.push_back(std::move(scored));
    }
    out.push_back(std::move(group));
  }
  return out;
}

std::vector<float> Params(PolicyTrainer& trainer) {
  const auto& p = trainer.policy().params();
  return std::vector<float>(p.data(), p.data() + p.size());
}

TEST(TrainerTest, RlStepChangesWeightsAndAdvancesTheVersion) {
  auto trainer = TinyTrainer();
  std::vector<float> before = Params(*trainer);
  auto m = trainer->TrainRl(RandomGroups(1, 3));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->version, 2u);
  EXPECT_EQ(trainer->version(), 2u);
  EXPECT_EQ(m->groups, 3);
  EXPECT_EQ(m->sequences, 12);
  EXPECT_GT(m->tokens, 0);
  EXPECT_GT(m->grad_norm, 0);
  EXPECT_NE(Params(*trainer), before);
}

TEST(TrainerTest, ZeroVarianceGroupsAreExcludedAndCounted) {
  auto trainer = TinyTrainer();
  auto m = trainer->TrainRl(RandomGroups(1, 3, /*flat_first=*/true));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->groups_zero_variance, 1);
  EXPECT_EQ(m->sequences, 8);
}

TEST(TrainerTest, BatchWithoutSignalLeavesTheWeightsButCountsAsAStep) {
  auto trainer = TinyTrainer();
  std::vector<float> before = Params(*trainer);
  auto m = trainer->TrainRl(RandomGroups(1, 1, /*flat_first=*/true));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->groups_zero_variance, 1);
  EXPECT_EQ(trainer->version(), 2u);
  EXPECT_EQ(trainer->step(), 1);
  EXPECT_EQ(trainer->policy().optimizer_step(), 0);
  EXPECT_EQ(Params(*trainer), before);
}

TEST(TrainerTest, MalformedGroupsAreRejectedWithoutChangingAnything) {
  auto trainer = TinyTrainer();
  std::vector<float> before = Params(*trainer);
  auto groups = RandomGroups(1, 2);
  groups[1].samples[2].sample.logprobs.pop_back();
  EXPECT_THAT(std::string(trainer->TrainRl(groups).status().message()),
              HasSubstr("do not match its"));
  groups = RandomGroups(1, 2);
  groups[1].samples[0].sample.tokens[0] = 99;  // Outside the vocabulary of 11.
  EXPECT_EQ(trainer->TrainRl(groups).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Params(*trainer), before);
  EXPECT_EQ(trainer->version(), 1u);
}

TEST(TrainerTest, MinibatchesMakeSeveralUpdatesPerBatch) {
  TrainerConfig config;
  config.minibatches = 4;
  auto trainer = TinyTrainer(config);
  ASSERT_TRUE(trainer->TrainRl(RandomGroups(2, 4)).ok());
  EXPECT_EQ(trainer->policy().optimizer_step(), 4);
  EXPECT_EQ(trainer->version(), 2u);
}

TEST(TrainerTest, RecomputedAnchorStartsWithUnitRatios) {
  TrainerConfig config;
  config.anchor = RatioAnchor::kRecompute;
  auto trainer = TinyTrainer(config);
  auto m = trainer->TrainRl(RandomGroups(4, 2));
  ASSERT_TRUE(m.ok());
  // One update from the recomputed anchor: every ratio is exactly 1.
  EXPECT_DOUBLE_EQ(m->is_weight_mean, 1.0);
  EXPECT_EQ(m->clip_fraction, 0.0);
}

TEST(TrainerTest, StalenessIsMeasuredFromTokenVersions) {
  auto trainer = TinyTrainer();
  ASSERT_TRUE(trainer->TrainRl(RandomGroups(1, 2, false, 1)).ok());
  ASSERT_TRUE(trainer->TrainRl(RandomGroups(2, 2, false, 1)).ok());
  auto m = trainer->TrainRl(RandomGroups(3, 2, false, 1));  // Learner at version 3.
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->staleness_mean, 2.0);
  EXPECT_DOUBLE_EQ(m->staleness_max, 2.0);
  EXPECT_EQ(m->precision.tokens, 0);  // No token was generated by the current version.
}

TEST(TrainerTest, SftLowersTheCrossEntropyOfAFixedBatch) {
  auto trainer = TinyTrainer();
  std::vector<SftExample> examples = {{{1, 2, 3}, {4, 5, 6, 7}}, {{1, 8}, {9, 10}}};
  auto first = trainer->TrainSft(examples);
  ASSERT_TRUE(first.ok());
  double loss = first->loss;
  for (int i = 0; i < 60; ++i) loss = trainer->TrainSft(examples)->loss;
  EXPECT_LT(loss, first->loss * 0.3);
}

TEST(TrainerTest, GeneratedTokensMatchTheLearnersRecomputationExactly) {
  // The rollout's behaviour log-probs and the learner's recomputation run the same CPU
  // kernels: the precision signal must show no difference at all.
  model::ModelConfig mc = model::testing::TinyHybridConfig();
  mc.vocab_size = ByteTokenizer::kVocabSize;
  mc.max_position_embeddings = 128;
  auto m = model::Model::Create(mc);
  ASSERT_TRUE(m.ok());
  (*m)->InitializeRandom(5);
  auto trainer = PolicyTrainer::Create(model::MakeCpuPolicy(std::move(*m)), TrainerConfig());
  ASSERT_TRUE(trainer.ok());
  TaskConfig task_config;
  task_config.name = "add";
  auto task = MakeTask(task_config);
  ASSERT_TRUE(task.ok());
  model::SamplingParams sampling;
  sampling.max_tokens = 6;
  auto groups = GenerateGroups((*trainer)->policy(), **task, 0, 4, 4, sampling, 11,
                               static_cast<uint32_t>((*trainer)->version()));
  ASSERT_TRUE(groups.ok()) << groups.status();
  for (auto& g : *groups) g.samples[0].reward = 1;  // Make sure no group is flat.
  // A sample that crossed a mid-generation weight switch (its first token from an older
  // version) is left out of the signal: no single version reproduces it.
  Sample& crossed = (*groups)[0].samples[1].sample;
  ASSERT_GE(crossed.tokens.size(), 2u);
  crossed.versions.front() -= 1;
  for (float& lp : crossed.logprobs) lp -= 0.5f;
  int64_t expected_tokens = 0;
  for (const auto& g : *groups) {
    for (const auto& s : g.samples) expected_tokens += static_cast<int64_t>(s.sample.tokens.size());
  }
  expected_tokens -= static_cast<int64_t>(crossed.tokens.size());
  auto metrics = (*trainer)->TrainRl(*groups);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->precision.tokens, expected_tokens);
  EXPECT_EQ(metrics->precision.max_abs_logprob_delta, 0.0);
  EXPECT_DOUBLE_EQ(metrics->precision.pearson, 1.0);
}

TEST(CheckpointTest, ResumeContinuesBitwiseLikeAnUninterruptedRun) {
  TrainerConfig config;
  config.minibatches = 2;
  std::vector<std::vector<TrainGroup>> batches;
  for (uint32_t i = 0; i < 4; ++i) batches.push_back(RandomGroups(10 + i, 3));

  auto straight = TinyTrainer(config);
  for (const auto& b : batches) ASSERT_TRUE(straight->TrainRl(b).ok());

  std::string root = testing::MakeTempDir("ckpt");
  auto first = TinyTrainer(config);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(first->TrainRl(batches[i]).ok());
  ASSERT_TRUE(SaveCheckpoint(root, *first, "{\"cursor\": 7}", 2).ok());
  first.reset();  // The process dies.

  auto resumed = TinyTrainer(config);  // Fresh weights, overwritten by the checkpoint.
  auto latest = LatestCheckpoint(root);
  ASSERT_TRUE(latest.has_value());
  ASSERT_TRUE(RestoreCheckpoint(*latest, resumed.get()).ok());
  EXPECT_EQ(resumed->step(), 2);
  EXPECT_EQ(resumed->version(), 3u);
  for (int i = 2; i < 4; ++i) ASSERT_TRUE(resumed->TrainRl(batches[i]).ok());
  std::vector<float> a = Params(*straight), b = Params(*resumed);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
      << "the resumed run diverged from the uninterrupted one";
  auto coordinator_state = testing::ReadFile(*latest + "/" + kCoordinatorStateFile);
  ASSERT_TRUE(coordinator_state.ok());
  EXPECT_EQ(*coordinator_state, "{\"cursor\": 7}");
}

TEST(CheckpointTest, HalfWrittenCheckpointIsSkippedAndOldOnesArePruned) {
  std::string root = testing::MakeTempDir("ckpt");
  auto trainer = TinyTrainer();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(trainer->TrainRl(RandomGroups(i, 2)).ok());
    ASSERT_TRUE(SaveCheckpoint(root, *trainer, "", 2).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(root + "/step-00000001"));  // Only 2 kept.
  EXPECT_TRUE(std::filesystem::exists(root + "/step-00000002/DONE"));
  // A crash while writing step 4: the folder exists, DONE does not.
  std::filesystem::create_directories(root + "/step-00000004");
  std::ofstream(root + "/step-00000004/model.safetensors") << "partial";
  auto latest = LatestCheckpoint(root);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(std::filesystem::path(*latest).filename(), "step-00000003");
  EXPECT_EQ(RestoreCheckpoint(root + "/step-00000004", trainer.get()).code(),
            StatusCode::kFailedPrecondition);
}

TEST(CheckpointTest, CorruptTrainerStateNamesTheFile) {
  std::string root = testing::MakeTempDir("ckpt");
  auto trainer = TinyTrainer();
  auto dir = SaveCheckpoint(root, *trainer, "", 1);
  ASSERT_TRUE(dir.ok());
  std::ofstream(*dir + "/trainer_state.json") << "{\"step\": \"x\"}";
  Status s = RestoreCheckpoint(*dir, trainer.get());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("trainer_state.json"));
}

}  // namespace
}  // namespace lightrl
