// Generation: log-probs against a training recompute, determinism per seed under
// continuous batching, every finish reason, weight swaps mid-flight, and the bf16-head
// precision signal.
#include "model/generator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "model/test_configs.h"

namespace lightrl::model {
namespace {

ModelConfig GenerationConfig() {
  ModelConfig c = testing::TinyHybridConfig();
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.head_dim = 8;
  c.rotary_dim = 8;
  c.intermediate_size = 12;
  c.block_size = 4;
  c.max_position_embeddings = 96;
  c.initializer_range = 0.4;
  return c;
}

using testing::MakeModel;

std::unique_ptr<Policy> MakePolicy(const ModelConfig& config, uint64_t seed,
                                   const Precision& precision = {}) {
  return MakeCpuPolicy(MakeModel(config, seed, precision));
}

std::unique_ptr<Generator> NewGenerator(Policy* policy, const GeneratorOptions& options) {
  auto generator = Generator::Create(policy, options);
  CHECK_OK(generator.status());
  return std::move(*generator);
}

std::vector<int32_t> Prompt(int length, int salt, int vocab) {
  std::vector<int32_t> p(length);
  for (int i = 0; i < length; ++i) p[i] = (i * 7 + salt * 13 + 1) % vocab;
  return p;
}

struct Completion {
  std::vector<int32_t> prompt, tokens;
  std::vector<float> logprobs, model_logprobs;
  FinishReason finish = FinishReason::kNone;
};

// Runs the generator until every request finished; outputs keyed by request id.
std::map<uint64_t, Completion> RunAll(Generator& gen,
                                      const std::vector<GenerationRequest>& requests) {
  std::map<uint64_t, Completion> done;
  for (const GenerationRequest& r : requests) {
    EXPECT_TRUE(gen.Add(r).ok());
    done[r.id].prompt = r.prompt;
  }
  while (gen.active() + gen.queued() > 0) {
    auto outputs = gen.Step();
    EXPECT_TRUE(outputs.ok());
    for (const StepOutput& o : *outputs) {
      Completion& c = done[o.id];
      c.tokens.push_back(o.token);
      c.logprobs.push_back(o.logprob);
      c.model_logprobs.push_back(o.model_logprob);
      c.finish = o.finish;
    }
  }
  return done;
}

// The finished sequences as a training batch with the loss mask on the completions.
PackedBatch RecomputeBatch(const std::map<uint64_t, Completion>& done) {
  std::vector<std::vector<int32_t>> prompts, completions;
  for (const auto& [id, c] : done) {
    prompts.push_back(c.prompt);
    completions.push_back(c.tokens);
  }
  return testing::PromptCompletionBatch(prompts, completions);
}

// Max |generation log-prob − training-forward log-prob| over all completion tokens.
struct Agreement {
  double max_diff = 0;
  int tokens = 0, bitwise = 0;
};

Agreement CompareWithRecompute(Policy& model, const std::map<uint64_t, Completion>& done,
                               double temperature) {
  const PackedBatch batch = RecomputeBatch(done);
  std::vector<const Completion*> order;
  for (const auto& [id, c] : done) order.push_back(&c);
  auto out = model.Forward(batch, {.keep_activations = false, .temperature = temperature});
  EXPECT_TRUE(out.ok());
  Agreement a;
  for (size_t s = 0; s < order.size(); ++s) {
    const int start = batch.seq_offsets[s] + static_cast<int>(order[s]->prompt.size());
    for (size_t t = 0; t < order[s]->tokens.size(); ++t) {
      const float mine = order[s]->model_logprobs[t], learner = out->logprobs[start + t];
      a.max_diff = std::max(a.max_diff, double(std::abs(mine - learner)));
      a.bitwise += mine == learner;
      ++a.tokens;
    }
  }
  return a;
}

// Generates from `model` with batches of 1 and 7 requests of different prompt and completion
// lengths, at temperatures 1 and 0.7, and checks the log-probs against a training recompute.
void CheckGenerationAgainstRecompute(Policy& model, const char* name) {
  const int vocab = model.config().vocab_size;
  for (double temperature : {1.0, 0.7}) {
    for (int batch : {1, 7}) {
      auto gen = NewGenerator(&model, {.max_batch = batch, .eos_token_id = -1});
      std::vector<GenerationRequest> requests;
      for (int i = 0; i < batch; ++i) {
        SamplingParams p;
        p.temperature = temperature;
        p.max_tokens = 6 + 3 * i;  // different lengths leave and keep the batch ragged
        p.seed = 100 + i;
        requests.push_back({static_cast<uint64_t>(i), Prompt(2 + 3 * i, i, vocab), p});
      }
      const auto done = RunAll(*gen, requests);
      for (const auto& [id, comp] : done) {
        for (size_t t = 0; t < comp.tokens.size(); ++t) {
          EXPECT_EQ(comp.logprobs[t], comp.model_logprobs[t]);
        }
      }
      const Agreement a = CompareWithRecompute(model, done, temperature);
      std::printf(
          "%s: generation vs training log-probs, batch %d, temperature %.1f: max |delta| = %.3g, "
          "%d of %d tokens bitwise equal\n",
          name, batch, temperature, a.max_diff, a.bitwise, a.tokens);
      ::testing::Test::RecordProperty(
          std::string(name) + "_max_abs_logprob_diff_batch" + std::to_string(batch),
          std::to_string(a.max_diff));
      EXPECT_LE(a.max_diff, 1e-5) << name;
    }
  }
}

TEST(GeneratorTest, LogProbsEqualTrainingRecomputeForBatchesOfOneAndSeven) {
  auto tiny = MakePolicy(GenerationConfig(), 1);
  CheckGenerationAgainstRecompute(*tiny, "tiny");
  auto demo_config =
      LoadModelConfig(std::string(LIGHTRL_TEST_SOURCE_DIR) + "/model/configs/demo.json");
  ASSERT_TRUE(demo_config.ok()) << demo_config.status();
  demo_config->initializer_range = 0.2;  // spread-out distributions, not near-uniform ones
  auto demo = MakePolicy(*demo_config, 2);
  CheckGenerationAgainstRecompute(*demo, "demo.json");
}

TEST(GeneratorTest, PromptsPrefilledTogetherGiveTheBitsOfOneAtATime) {
  const ModelConfig c = GenerationConfig();
  auto model = MakeModel(c, 3);
  // Lengths around the lightning block size (4), so block boundaries fall differently.
  const std::vector<std::vector<int32_t>> prompts = {
      Prompt(3, 1, c.vocab_size), Prompt(9, 2, c.vocab_size), Prompt(1, 3, c.vocab_size),
      Prompt(4, 4, c.vocab_size), Prompt(13, 5, c.vocab_size)};
  const size_t n = prompts.size(), vocab = static_cast<size_t>(c.vocab_size);
  std::vector<SequenceCache<float>> together(n), alone(n);
  std::vector<SequenceCache<float>*> together_ptrs;
  for (auto& cache : together) together_ptrs.push_back(&cache);
  std::vector<float> logits_together(n * vocab), logits_alone(n * vocab);
  ASSERT_TRUE(model->Prefill(prompts, together_ptrs, logits_together.data()).ok());
  for (size_t i = 0; i < n; ++i) {
    SequenceCache<float>* cache = &alone[i];
    ASSERT_TRUE(model
                    ->Prefill(std::span(&prompts[i], 1), std::span(&cache, 1),
                              logits_alone.data() + i * vocab)
                    .ok());
    EXPECT_EQ(together[i].length, static_cast<int>(prompts[i].size()));
  }
  EXPECT_EQ(logits_together, logits_alone);
  // The caches hold the same state: the next decode step agrees bit for bit.
  std::vector<int32_t> next(n, 5);
  std::vector<SequenceCache<float>*> alone_ptrs;
  for (auto& cache : alone) alone_ptrs.push_back(&cache);
  model->DecodeStep(next, together_ptrs, logits_together.data());
  model->DecodeStep(next, alone_ptrs, logits_alone.data());
  EXPECT_EQ(logits_together, logits_alone);

  std::vector<std::vector<int32_t>> with_empty = {Prompt(2, 1, c.vocab_size), {}};
  std::vector<SequenceCache<float>*> two = {together_ptrs[0], together_ptrs[1]};
  Status empty = model->Prefill(with_empty, two, logits_together.data());
  EXPECT_EQ(empty.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty.ToString().find("empty prompt 1"), std::string::npos) << empty;
}

TEST(GeneratorTest, SameSeedSameTokensWhateverTheBatch) {
  const ModelConfig c = GenerationConfig();
  auto model = MakePolicy(c, 2);
  SamplingParams p;
  p.max_tokens = 20;
  p.seed = 77;
  const GenerationRequest target{42, Prompt(5, 3, c.vocab_size), p};
  auto alone_gen = NewGenerator(model.get(), {});
  const Completion alone = RunAll(*alone_gen, {target})[42];
  // The same request joining late, next to six others that come and go.
  auto crowded_gen = NewGenerator(model.get(), {.max_batch = 4});
  std::vector<GenerationRequest> others;
  for (int i = 0; i < 6; ++i) {
    SamplingParams q;
    q.max_tokens = 3 + 4 * i;
    q.seed = i;
    others.push_back({static_cast<uint64_t>(i), Prompt(3 + i, 10 + i, c.vocab_size), q});
  }
  others.insert(others.begin() + 5, target);
  const Completion crowded = RunAll(*crowded_gen, others)[42];
  EXPECT_EQ(crowded.tokens, alone.tokens);
  EXPECT_EQ(crowded.logprobs, alone.logprobs);
  // Another seed gives another completion.
  auto other_seed = NewGenerator(model.get(), {});
  GenerationRequest reseeded = target;
  reseeded.params.seed = 78;
  EXPECT_NE(RunAll(*other_seed, {reseeded})[42].tokens, alone.tokens);
}

TEST(GeneratorTest, FinishReasons) {
  const ModelConfig c = GenerationConfig();
  auto model = MakePolicy(c, 3);
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 5;
  greedy.repetition_k = 0;
  const std::vector<int32_t> prompt = Prompt(6, 1, c.vocab_size);
  auto plain = NewGenerator(model.get(), {});
  const Completion base = RunAll(*plain, {{1, prompt, greedy}})[1];
  ASSERT_EQ(base.tokens.size(), 5u);
  EXPECT_EQ(base.finish, FinishReason::kMaxTokens);

  auto eos = NewGenerator(model.get(), {.eos_token_id = base.tokens[2]});
  const Completion with_eos = RunAll(*eos, {{1, prompt, greedy}})[1];
  EXPECT_EQ(with_eos.finish, FinishReason::kEos);
  EXPECT_LE(with_eos.tokens.size(), 3u);
  EXPECT_EQ(with_eos.tokens.back(), base.tokens[2]);

  SamplingParams stop = greedy;
  stop.stop_strings = {"\x7f\x7e", std::string(1, char(base.tokens[1])) + char(base.tokens[2])};
  auto stopper = NewGenerator(model.get(), {});
  const Completion stopped = RunAll(*stopper, {{1, prompt, stop}})[1];
  EXPECT_EQ(stopped.finish, FinishReason::kStopString);
  EXPECT_EQ(stopped.tokens.size(), 3u);

  // Near-certain next tokens: scale the head so one token takes almost all the mass.
  auto confident = MakePolicy(c, 3);
  float* head = confident->params().Tensor("lm_head.weight");
  for (size_t i = 0; i < static_cast<size_t>(c.vocab_size) * c.hidden_size; ++i) head[i] *= 200;
  confident->ParamsChanged();
  SamplingParams repeat;
  repeat.max_tokens = 50;
  repeat.repetition_k = 4;
  repeat.repetition_p = 0.99;
  auto rep = NewGenerator(confident.get(), {});
  const Completion repeated = RunAll(*rep, {{1, prompt, repeat}})[1];
  EXPECT_EQ(repeated.finish, FinishReason::kRepetition);
  ASSERT_GE(repeated.logprobs.size(), 4u);
  for (size_t t = repeated.logprobs.size() - 4; t < repeated.logprobs.size(); ++t) {
    EXPECT_GT(std::exp(repeated.logprobs[t]), 0.99);
  }

  SamplingParams longer = greedy;
  longer.max_tokens = 1000;
  auto context = NewGenerator(model.get(), {});
  const Completion full = RunAll(*context, {{1, Prompt(90, 2, c.vocab_size), longer}})[1];
  EXPECT_EQ(full.finish, FinishReason::kContextLength);
  EXPECT_EQ(90 + full.tokens.size(), static_cast<size_t>(c.max_position_embeddings));
}

TEST(GeneratorTest, ContinuousBatchingAdmitsAsSequencesLeave) {
  const ModelConfig c = GenerationConfig();
  auto model = MakePolicy(c, 4);
  auto gen = NewGenerator(model.get(), {.max_batch = 2});
  for (int i = 0; i < 5; ++i) {
    SamplingParams p;
    p.max_tokens = 2 + i;
    ASSERT_TRUE(gen->Add({static_cast<uint64_t>(i), Prompt(3, i, c.vocab_size), p}).ok());
  }
  std::map<uint64_t, int> counts;
  int steps = 0;
  while (gen->active() + gen->queued() > 0) {
    auto out = gen->Step();
    ASSERT_TRUE(out.ok());
    EXPECT_LE(out->size(), 2u);
    EXPECT_LE(gen->active(), 2);
    for (const StepOutput& o : *out) ++counts[o.id];
    ++steps;
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(counts[i], 2 + i);
  EXPECT_LT(steps, 2 + 3 + 4 + 5 + 6);  // sequences overlapped
}

TEST(GeneratorTest, AddRejectsBadRequests) {
  const ModelConfig c = GenerationConfig();
  auto model = MakePolicy(c, 5);
  auto gen = NewGenerator(model.get(), {});
  EXPECT_EQ(gen->Add({1, {}, {}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(gen->Add({1, {1, c.vocab_size}, {}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(gen->Add({1, Prompt(c.max_position_embeddings, 0, c.vocab_size), {}}).code(),
            StatusCode::kInvalidArgument);
  SamplingParams bad;
  bad.top_p = 0;
  const Status status = gen->Add({1, {1, 2}, bad});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("request 1"), std::string_view::npos);
  ASSERT_TRUE(gen->Add({1, {1, 2}, {}}).ok());
  EXPECT_EQ(gen->Add({1, {3}, {}}).code(), StatusCode::kAlreadyExists);
}

TEST(GeneratorTest, WeightsCanBeReplacedBetweenSteps) {
  const ModelConfig c = GenerationConfig();
  auto model = MakePolicy(c, 6);
  auto other = MakePolicy(c, 7);
  SamplingParams p;
  p.max_tokens = 8;
  p.seed = 5;
  auto reference = NewGenerator(model.get(), {});
  const Completion unchanged = RunAll(*reference, {{1, Prompt(5, 0, c.vocab_size), p}})[1];

  auto swapped = MakePolicy(c, 6);
  auto gen = NewGenerator(swapped.get(), {});
  ASSERT_TRUE(gen->Add({1, Prompt(5, 0, c.vocab_size), p}).ok());
  std::vector<StepOutput> outputs;
  for (int step = 0; step < 3; ++step) outputs.push_back((*gen->Step())[0]);
  ASSERT_TRUE(
      swapped->params().ImportBytes(other->params().Bytes(), other->params().ByteLayout()).ok());
  swapped->ParamsChanged();
  while (gen->active() > 0) outputs.push_back((*gen->Step())[0]);
  ASSERT_EQ(outputs.size(), 8u);  // the sequence kept going: no restart
  for (int t = 0; t < 3; ++t) EXPECT_EQ(outputs[t].model_logprob, unchanged.model_logprobs[t]);
  EXPECT_NE(outputs[3].model_logprob, unchanged.model_logprobs[3]);
  EXPECT_EQ(outputs.back().finish, FinishReason::kMaxTokens);
}

double Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    mx += x[i] / x.size();
    my += y[i] / y.size();
  }
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

TEST(GeneratorTest, Bf16HeadVersusFp32HeadCorrelation) {
  ModelConfig c = GenerationConfig();
  c.initializer_range = 1.0;  // large activations into the head, as in the report
  auto rollout = MakePolicy(c, 8, {.bf16_lm_head = true});
  auto learner = MakePolicy(c, 8);
  auto gen = NewGenerator(rollout.get(), {.max_batch = 8});
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 8; ++i) {
    SamplingParams p;
    p.max_tokens = 30;
    p.seed = i;
    p.repetition_k = 0;
    requests.push_back({static_cast<uint64_t>(i), Prompt(4 + i, i, c.vocab_size), p});
  }
  const auto done = RunAll(*gen, requests);
  const PackedBatch batch = RecomputeBatch(done);
  std::vector<double> rollout_p, learner_p;
  for (const auto& [id, comp] : done) {
    for (float lp : comp.model_logprobs) rollout_p.push_back(std::exp(lp));
  }
  auto out = learner->Forward(batch, {.keep_activations = false});
  ASSERT_TRUE(out.ok());
  for (int j = 0; j < batch.num_tokens(); ++j) {
    if (batch.loss_mask[j]) learner_p.push_back(std::exp(out->logprobs[j]));
  }
  ASSERT_EQ(rollout_p.size(), learner_p.size());
  const double bf16_r = Pearson(rollout_p, learner_p);
  auto fp32_gen = NewGenerator(learner.get(), {.max_batch = 8});
  const auto fp32_done = RunAll(*fp32_gen, requests);
  const Agreement fp32 = CompareWithRecompute(*learner, fp32_done, 1.0);
  std::printf(
      "probability correlation with the FP32 learner: bf16 head %.6f over %zu tokens; FP32 head "
      "max "
      "|delta logprob| %.3g\n",
      bf16_r, rollout_p.size(), fp32.max_diff);
  RecordProperty("bf16_head_pearson", std::to_string(bf16_r));
  EXPECT_LT(bf16_r, 1.0 - 1e-7);
  EXPECT_GT(bf16_r, 0.9);
  EXPECT_LE(fp32.max_diff, 1e-5);
}

}  // namespace
}  // namespace lightrl::model
