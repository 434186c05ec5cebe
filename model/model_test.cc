// Forward-pass properties of the model: log-probs against a materialized log-softmax,
// packing, temperature, precision modes, gradient accumulation, and a training run that
// overfits a fixed batch.
#include "model/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "model/optimizer.h"
#include "model/test_configs.h"

namespace lightrl::model {
namespace {

std::unique_ptr<Model> MakeModel(const ModelConfig& config, uint64_t seed,
                                 const Precision& precision = {}) {
  auto model = Model::Create(config, precision);
  EXPECT_TRUE(model.ok()) << model.status();
  (*model)->InitializeRandom(seed);
  return std::move(*model);
}

TEST(ModelTest, LogProbsEqualMaterializedLogSoftmax) {
  const ModelConfig c = testing::TinyHybridConfig();
  auto model = MakeModel(c, 1);
  const PackedBatch batch = testing::RandomBatch({9, 4, 7}, 1, c.vocab_size, 2);
  for (double temperature : {1.0, 0.6}) {
    auto out = model->Forward(batch, {.keep_activations = false, .temperature = temperature});
    ASSERT_TRUE(out.ok());
    auto logits = model->Logits(batch);
    ASSERT_TRUE(logits.ok());
    for (int j = 0; j < batch.num_tokens(); ++j) {
      if (!batch.loss_mask[j]) {
        EXPECT_EQ(out->logprobs[j], 0.0f);
        continue;
      }
      const float* row = logits->data() + static_cast<size_t>(j - 1) * c.vocab_size;
      double max = -1e30, total = 0, entropy = 0;
      for (int v = 0; v < c.vocab_size; ++v) max = std::max(max, row[v] / temperature);
      for (int v = 0; v < c.vocab_size; ++v) total += std::exp(row[v] / temperature - max);
      for (int v = 0; v < c.vocab_size; ++v) {
        const double lp = row[v] / temperature - max - std::log(total);
        entropy -= std::exp(lp) * lp;
      }
      EXPECT_NEAR(out->logprobs[j], row[batch.tokens[j]] / temperature - max - std::log(total),
                  1e-5);
      EXPECT_NEAR(out->entropies[j], entropy, 1e-5);
    }
  }
}

TEST(ModelTest, SequenceBoundariesIsolateSequences) {
  const ModelConfig c = testing::TinyHybridConfig();
  auto model = MakeModel(c, 3);
  PackedBatch packed = testing::RandomBatch({8, 9}, 1, c.vocab_size, 4);
  auto before = model->Forward(packed, {.keep_activations = false});
  ASSERT_TRUE(before.ok());
  for (int j = 0; j < 8; ++j) packed.tokens[j] = (packed.tokens[j] + 5) % c.vocab_size;
  auto after = model->Forward(packed, {.keep_activations = false});
  ASSERT_TRUE(after.ok());
  for (int j = 9; j < 17; ++j) EXPECT_EQ(before->logprobs[j], after->logprobs[j]) << j;
  EXPECT_NE(before->logprobs[5], after->logprobs[5]);
  // The second sequence alone gives the same numbers as inside the pack.
  PackedBatch alone;
  alone.Append(std::vector<int32_t>(packed.tokens.begin() + 8, packed.tokens.end()),
               std::vector<uint8_t>(packed.loss_mask.begin() + 8, packed.loss_mask.end()));
  auto single = model->Forward(alone, {.keep_activations = false});
  ASSERT_TRUE(single.ok());
  for (int j = 1; j < 9; ++j) EXPECT_NEAR(single->logprobs[j], after->logprobs[8 + j], 1e-6);
}

TEST(ModelTest, RejectsBadBatches) {
  const ModelConfig c = testing::TinyHybridConfig();
  auto model = MakeModel(c, 5);
  PackedBatch bad_id = testing::RandomBatch({4}, 1, c.vocab_size, 1);
  bad_id.tokens[2] = c.vocab_size;
  PackedBatch first_masked = testing::RandomBatch({4}, 0, c.vocab_size, 1);
  PackedBatch bad_offsets = testing::RandomBatch({4, 3}, 1, c.vocab_size, 1);
  bad_offsets.seq_offsets[1] = 9;
  PackedBatch too_long = testing::RandomBatch({c.max_position_embeddings + 1}, 1, c.vocab_size, 1);
  PackedBatch empty_seq = testing::RandomBatch({4}, 1, c.vocab_size, 1);
  empty_seq.seq_offsets.insert(empty_seq.seq_offsets.begin() + 1, 0);
  for (const PackedBatch* b : {&bad_id, &first_masked, &bad_offsets, &too_long, &empty_seq}) {
    auto out = model->Forward(*b);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(out.status().message().find("batch:"), std::string_view::npos);
  }
  EXPECT_FALSE(
      model->Forward(testing::RandomBatch({4}, 1, c.vocab_size, 1), {.temperature = 0}).ok());
}

TEST(ModelTest, Bf16ModesPerturbSlightly) {
  const ModelConfig c = testing::TinyHybridConfig();
  auto fp32 = MakeModel(c, 6);
  const PackedBatch batch = testing::RandomBatch({12}, 1, c.vocab_size, 7);
  auto reference = fp32->Forward(batch, {.keep_activations = false});
  for (Precision precision : {Precision{.bf16_gemm = true}, Precision{.bf16_lm_head = true}}) {
    fp32->set_precision(precision);
    auto out = fp32->Forward(batch, {.keep_activations = false});
    double max_diff = 0;
    for (int j = 0; j < batch.num_tokens(); ++j) {
      max_diff = std::max(max_diff, double(std::abs(out->logprobs[j] - reference->logprobs[j])));
    }
    EXPECT_GT(max_diff, 1e-6);
    EXPECT_LT(max_diff, 0.1);
  }
}

TEST(ModelTest, BackwardAccumulatesAndForwardOnlyLeavesKeptActivations) {
  const ModelConfig c = testing::TinyHybridConfig();
  auto model = MakeModel(c, 8);
  const PackedBatch a = testing::RandomBatch({7, 5}, 2, c.vocab_size, 9);
  const PackedBatch b = testing::RandomBatch({6}, 1, c.vocab_size, 10);
  const std::vector<float> g(a.num_tokens(), -1.0f);
  ASSERT_TRUE(model->Forward(a).ok());
  model->ZeroGrad();
  ASSERT_TRUE(model->Backward(g).ok());
  const std::vector<float> once(model->grads().data(),
                                model->grads().data() + model->grads().size());
  ASSERT_TRUE(model->Forward(a).ok());
  ASSERT_TRUE(model->Forward(b, {.keep_activations = false}).ok());  // must not disturb a's
  ASSERT_TRUE(model->Backward(g).ok());
  for (size_t i = 0; i < once.size(); ++i)
    ASSERT_NEAR(model->grads().data()[i], 2 * once[i], 1e-5f) << i;
}

TEST(ModelTest, OverfitsAFixedBatch) {
  ModelConfig c = testing::TinyHybridConfig();
  c.vocab_size = 16;
  c.hidden_size = 32;
  c.intermediate_size = 32;
  c.head_dim = 8;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.rotary_dim = 8;
  c.block_size = 4;
  c.initializer_range = 0.05;
  auto model = MakeModel(c, 11);
  AdamW optimizer(model->params().layout(), {.lr = 3e-3, .weight_decay = 0.0});
  const PackedBatch batch = testing::RandomBatch({24, 17, 9}, 1, c.vocab_size, 12);
  std::vector<float> g(batch.num_tokens());
  double first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    auto out = model->Forward(batch);
    ASSERT_TRUE(out.ok());
    double nll = 0;
    for (int j = 0; j < batch.num_tokens(); ++j) {
      nll -= out->logprobs[j] / out->num_targets;
      g[j] = batch.loss_mask[j] ? -1.0f / out->num_targets : 0.0f;
    }
    if (step == 0) first = nll;
    last = nll;
    model->ZeroGrad();
    ASSERT_TRUE(model->Backward(g).ok());
    ClipGradNorm(model->grads(), 1.0);
    optimizer.Step(model->params(), model->grads());
  }
  EXPECT_NEAR(first, std::log(16.0), 0.5);
  EXPECT_LT(last, 0.05) << "mean NLL went from " << first << " to " << last;
}

TEST(ModelTest, ClipGradNormScalesToTheBound) {
  ParamArena<float> grads(ParamLayout::ForConfig(testing::TinyHybridConfig()));
  grads.Fill(0.5f);
  const double norm = ClipGradNorm(grads, 1.0);
  EXPECT_NEAR(norm, 0.5 * std::sqrt(double(grads.size())), 1e-3);
  EXPECT_NEAR(GlobalGradNorm(grads), 1.0, 1e-4);
  EXPECT_NEAR(ClipGradNorm(grads, 5.0), 1.0, 1e-4);  // below the bound: unchanged
  EXPECT_NEAR(GlobalGradNorm(grads), 1.0, 1e-4);
}

}  // namespace
}  // namespace lightrl::model
