#include "learner/local_rl.h"

#include <map>

#include "core/tokenizer.h"
#include "model/generator.h"
#include "tasks/reference.h"
#include "tasks/rule_verifiers.h"

namespace lightrl {
namespace {

// Runs `requests` to completion; returns every request's sampled tokens and log-probs.
struct Completion {
  std::vector<TokenId> tokens;
  std::vector<float> logprobs;
};

StatusOr<std::map<uint64_t, Completion>> RunToCompletion(
    model::Policy& policy, std::vector<model::GenerationRequest> requests) {
  model::GeneratorOptions options;
  options.max_batch = 64;
  options.eos_token_id = ByteTokenizer::kEos;
  ASSIGN_OR_RETURN(std::unique_ptr<model::Generator> generator,
                   model::Generator::Create(&policy, options));
  std::map<uint64_t, Completion> out;
  for (auto& request : requests) {
    out[request.id];
    RETURN_IF_ERROR(generator->Add(std::move(request)));
  }
  while (generator->active() > 0 || generator->queued() > 0) {
    ASSIGN_OR_RETURN(std::vector<model::StepOutput> step, generator->Step());
    for (const model::StepOutput& s : step) {
      out[s.id].tokens.push_back(s.token);
      out[s.id].logprobs.push_back(s.logprob);
    }
  }
  return out;
}

StatusOr<Verification> Verify(const std::string& reference_json, std::span<const TokenId> tokens) {
  ASSIGN_OR_RETURN(Reference reference, ParseReference(reference_json));
  ASSIGN_OR_RETURN(std::string text, ByteTokenizer::DecodeCompletion(tokens));
  return VerifyByRule(reference, text);
}

}  // namespace

StatusOr<std::vector<TrainGroup>> GenerateGroups(model::Policy& policy, const Task& task,
                                                 int64_t first_index, int groups, int group_size,
                                                 const model::SamplingParams& sampling,
                                                 uint64_t seed, uint32_t version) {
  std::vector<TaskItem> items;
  std::vector<model::GenerationRequest> requests;
  for (int g = 0; g < groups; ++g) {
    ASSIGN_OR_RETURN(TaskItem item, task.Item(Split::kTrain, first_index + g));
    for (int s = 0; s < group_size; ++s) {
      model::GenerationRequest request;
      request.id = static_cast<uint64_t>(g) * group_size + s;
      request.prompt = ByteTokenizer::EncodePrompt(item.prompt);
      request.params = sampling;
      request.params.seed = seed * 1000003 + (first_index + g) * 1009 + s;
      requests.push_back(std::move(request));
    }
    items.push_back(std::move(item));
  }
  ASSIGN_OR_RETURN(auto completions, RunToCompletion(policy, std::move(requests)));
  std::vector<TrainGroup> out;
  for (int g = 0; g < groups; ++g) {
    TrainGroup group;
    group.group_id = static_cast<uint64_t>(first_index + g);
    group.prompt = ByteTokenizer::EncodePrompt(items[g].prompt);
    for (int s = 0; s < group_size; ++s) {
      Completion& c = completions[static_cast<uint64_t>(g) * group_size + s];
      TrainSample scored;
      ASSIGN_OR_RETURN(Verification v, Verify(items[g].reference_json, c.tokens));
      scored.reward = v.score;
      scored.sample.versions.assign(c.tokens.size(), version);
      scored.sample.tokens = std::move(c.tokens);
      scored.sample.logprobs = std::move(c.logprobs);
      group.samples.push_back(std::move(scored));
    }
    out.push_back(std::move(group));
  }
  return out;
}

StatusOr<std::vector<SftExample>> SftExamples(const Task& task, int64_t first_index, int count) {
  std::vector<SftExample> examples;
  for (int i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(TaskItem item, task.Item(Split::kTrain, first_index + i));
    if (item.solution.empty()) {
      return FailedPreconditionError("task " + task.name() + " has no solution for SFT");
    }
    SftExample example;
    example.prompt = ByteTokenizer::EncodePrompt(item.prompt);
    example.response = ByteTokenizer::Encode(item.solution);
    example.response.push_back(ByteTokenizer::kEos);
    examples.push_back(std::move(example));
  }
  return examples;
}

StatusOr<double> EvaluateGreedy(model::Policy& policy, const Task& task, int items,
                                int max_tokens) {
  std::vector<TaskItem> eval;
  std::vector<model::GenerationRequest> requests;
  for (int i = 0; i < items; ++i) {
    ASSIGN_OR_RETURN(TaskItem item, task.Item(Split::kEval, i));
    model::GenerationRequest request;
    request.id = static_cast<uint64_t>(i);
    request.prompt = ByteTokenizer::EncodePrompt(item.prompt);
    request.params.temperature = 0;
    request.params.max_tokens = max_tokens;
    requests.push_back(std::move(request));
    eval.push_back(std::move(item));
  }
  ASSIGN_OR_RETURN(auto completions, RunToCompletion(policy, std::move(requests)));
  int correct = 0;
  for (int i = 0; i < items; ++i) {
    ASSIGN_OR_RETURN(Verification v, Verify(eval[i].reference_json, completions[i].tokens));
    correct += v.verdict == Verdict::kCorrect;
  }
  return items > 0 ? static_cast<double>(correct) / items : 0.0;
}

}  // namespace lightrl
