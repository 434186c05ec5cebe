// lightrl-bench-rollout: generation tokens/s of the rollout engine (continuous batching,
// groups of G samples per prompt, the task's real prompts) for a model config, against the
// tokens/s of a forward-only pass over the same finished sequences in the same run (the rate
// the model sustains when all tokens are known up front).
//
// Wrong results: sampled tokens whose recorded log-prob differs from the forward pass's
// recomputation of the same token by more than 1e-5 (both run the same CPU kernels; the
// largest difference is reported too, 0 meaning bitwise agreement).
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include "bench/bench_util.h"
#include "core/logging.h"
#include "core/tokenizer.h"
#include "model/config.h"
#include "model/generator.h"
#include "model/model.h"
#include "tasks/task.h"

DEFINE_string(model_config, "model/configs/demo.json", "config.json of the model.");
DEFINE_int32(groups, 16, "Prompt groups per round.");
DEFINE_int32(group_size, 8, "Samples per prompt.");
DEFINE_int32(max_tokens, 16, "Completion tokens at most.");
DEFINE_int32(max_batch, 64, "Sequences decoded together.");
DEFINE_int32(repeats, 5, "Timed rounds (after one warm-up).");

namespace lightrl {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Round {
  double generate_seconds = 0, forward_seconds = 0;
  int64_t generated = 0, forward_tokens = 0;
  int64_t wrong = 0;
  double max_delta = 0;
};

// The largest |Δ log-prob| counted as right on the CPU in FP32 (the goal is bitwise equality;
// max_delta shows how close a run comes).
constexpr double kTolerance = 1e-5;

Round RunRound(model::Policy& policy, const Task& task, int round) {
  model::GeneratorOptions options;
  options.max_batch = FLAGS_max_batch;
  options.eos_token_id = ByteTokenizer::kEos;
  auto created = model::Generator::Create(&policy, options);
  CHECK_OK(created.status());
  model::Generator& generator = **created;
  std::map<uint64_t, std::vector<int32_t>> prompts, tokens;
  std::map<uint64_t, std::vector<float>> logprobs;
  for (int g = 0; g < FLAGS_groups; ++g) {
    auto item = task.Item(Split::kTrain, round * FLAGS_groups + g);
    CHECK_OK(item.status());
    for (int s = 0; s < FLAGS_group_size; ++s) {
      model::GenerationRequest request;
      request.id = static_cast<uint64_t>(g * FLAGS_group_size + s);
      request.prompt = ByteTokenizer::EncodePrompt(item->prompt);
      request.params.max_tokens = FLAGS_max_tokens;
      request.params.seed = request.id + 1000 * round;
      prompts[request.id] = request.prompt;
      CHECK_OK(generator.Add(std::move(request)));
    }
  }
  Round r;
  SteadyClock::time_point start = SteadyClock::now();
  while (generator.active() > 0 || generator.queued() > 0) {
    auto step = generator.Step();
    CHECK_OK(step.status());
    for (const model::StepOutput& out : *step) {
      tokens[out.id].push_back(out.token);
      logprobs[out.id].push_back(out.logprob);
      ++r.generated;
    }
  }
  r.generate_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();

  model::PackedBatch batch;
  for (const auto& [id, completion] : tokens) {
    std::vector<int32_t> sequence = prompts[id];
    sequence.insert(sequence.end(), completion.begin(), completion.end());
    std::vector<uint8_t> mask(prompts[id].size(), 0);
    mask.resize(sequence.size(), 1);
    batch.Append(sequence, mask);
  }
  model::ForwardOptions forward;
  forward.keep_activations = false;
  start = SteadyClock::now();
  auto out = policy.Forward(batch, forward);
  r.forward_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  CHECK_OK(out.status());
  r.forward_tokens = batch.num_tokens();
  size_t at = 0;
  for (const auto& [id, completion] : tokens) {
    at += prompts[id].size();
    for (size_t t = 0; t < completion.size(); ++t, ++at) {
      double delta = std::abs(static_cast<double>(out->logprobs[at]) - logprobs[id][t]);
      r.max_delta = std::max(r.max_delta, delta);
      if (delta > kTolerance) ++r.wrong;
    }
  }
  return r;
}

}  // namespace
}  // namespace lightrl

int main(int argc, char** argv) {
  using namespace lightrl;
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  auto config = model::LoadModelConfig(FLAGS_model_config);
  CHECK_OK(config.status());
  auto policy = model::CreatePolicy(*config, {});
  CHECK_OK(policy.status());
  (*policy)->InitializeRandom(1);
  TaskConfig task_config;
  task_config.name = "add";
  task_config.arithmetic.max_digits = 2;
  auto task = MakeTask(task_config);
  CHECK_OK(task.status());
  std::vector<double> generation, forward;
  int64_t wrong = 0, tokens = 0;
  double max_delta = 0;
  for (int r = 0; r <= FLAGS_repeats; ++r) {
    Round round = RunRound(**policy, **task, r);
    if (r == 0) continue;  // Warm-up.
    generation.push_back(round.generated / round.generate_seconds);
    forward.push_back(round.forward_tokens / round.forward_seconds);
    wrong += round.wrong;
    tokens += round.generated;
    max_delta = std::max(max_delta, round.max_delta);
  }
  double gen = Median(generation), fwd = Median(forward);
  std::printf(
      "lightrl-bench-rollout: %s, %d groups x %d samples, up to %d tokens, batch %d, "
      "%d rounds (median)\n",
      FLAGS_model_config.c_str(), FLAGS_groups, FLAGS_group_size, FLAGS_max_tokens, FLAGS_max_batch,
      FLAGS_repeats);
  std::printf("%-34s %12.0f tok/s\n", "generation (sampled tokens)", gen);
  std::printf("%-34s %12.0f tok/s\n", "forward pass over the same tokens", fwd);
  std::printf("%-34s %12.3f\n", "generation / forward", gen / fwd);
  std::printf(
      "rollout: %lld tokens checked, max |logprob - recomputation| %.3g, wrong %lld "
      "(over %.0e): %s\n",
      static_cast<long long>(tokens), max_delta, static_cast<long long>(wrong), kTolerance,
      wrong == 0 ? "PASS" : "FAIL");
  return wrong == 0 ? 0 : 1;
}
