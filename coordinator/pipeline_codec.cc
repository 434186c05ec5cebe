#include "coordinator/pipeline_codec.h"

#include <kj/exception.h>

#include <cmath>

#include "actors/messenger.h"
#include "actors/sample_codec.h"
#include "core/tokenizer.h"

namespace lightrl {
namespace {

void WriteTask(const Group& group, std::span<const std::string> task_names,
               proto::TaskRef::Builder task) {
  task.setTaskName(task_names[group.prompt_ref.task]);
  task.setItemIndex(static_cast<uint64_t>(group.prompt_ref.index));
}

}  // namespace

OutgoingMessage EncodeRolloutRequest(const Group& group, std::span<const std::string> task_names,
                                     const GenerationSpec& spec, uint64_t run_seed) {
  OutgoingMessage message(group.prompt.size() * 4 + 512);
  auto request = message.envelope().getBody().initRolloutRequest();
  request.setGroupId(group.id);
  WriteTokens(group.prompt, request.initPromptTokens(static_cast<uint>(group.prompt.size())));
  request.setSamplesPerPrompt(spec.samples_per_prompt);
  auto sampling = request.initSampling();
  sampling.setTemperature(spec.temperature);
  sampling.setTopP(spec.top_p);
  sampling.setTopK(spec.top_k);
  sampling.setMaxTokens(spec.max_tokens);
  sampling.setSeed(run_seed * 1000003ULL + group.id * 7919ULL);
  auto stops = sampling.initStopStrings(static_cast<uint>(spec.stop_strings.size()));
  for (size_t i = 0; i < spec.stop_strings.size(); ++i) {
    stops.set(static_cast<uint>(i), spec.stop_strings[i]);
  }
  sampling.setRepetitionWindow(spec.repetition_window);
  sampling.setRepetitionProbability(spec.repetition_probability);
  auto task = request.initTask();
  WriteTask(group, task_names, task);
  task.setReference(group.reference);
  request.setMinPolicyVersion(group.min_version);
  return message;
}

StatusOr<OutgoingMessage> EncodeRewardRequest(const Group& group,
                                              std::span<const std::string> task_names) {
  OutgoingMessage message;
  auto request = message.envelope().getBody().initRewardRequest();
  request.setGroupId(group.id);
  auto task = request.initTask();
  WriteTask(group, task_names, task);
  task.setReference(group.reference);
  auto items = request.initItems(static_cast<uint>(group.samples.size()));
  for (size_t i = 0; i < group.samples.size(); ++i) {
    const Sample& sample = group.samples[i].sample;
    ASSIGN_OR_RETURN(std::string text, ByteTokenizer::DecodeCompletion(sample.tokens));
    auto item = items[static_cast<uint>(i)];
    item.setSampleIndex(static_cast<uint32_t>(i));
    item.setCompletion(text);
    item.setTokenCount(static_cast<uint32_t>(sample.tokens.size()));
  }
  return message;
}

OutgoingMessage EncodeTrainBatch(const Batch& batch, std::span<const std::string> task_names) {
  size_t tokens = 0;
  for (const auto& group : batch.groups) {
    for (const ScoredSample& s : group->samples) tokens += s.sample.tokens.size();
  }
  OutgoingMessage message(tokens * 12 + 4096);
  auto train = message.envelope().getBody().initTrainBatch();
  train.setBatchId(batch.resulting_version);
  train.setCoordinatorState(batch.snapshot);
  auto groups = train.initGroups(static_cast<uint>(batch.groups.size()));
  for (size_t g = 0; g < batch.groups.size(); ++g) {
    const Group& group = *batch.groups[g];
    auto out = groups[static_cast<uint>(g)];
    out.setGroupId(group.id);
    WriteTokens(group.prompt, out.initPromptTokens(static_cast<uint>(group.prompt.size())));
    WriteTask(group, task_names, out.initTask());
    auto samples = out.initSamples(static_cast<uint>(group.samples.size()));
    for (size_t i = 0; i < group.samples.size(); ++i) {
      const ScoredSample& s = group.samples[i];
      auto scored = samples[static_cast<uint>(i)];
      WriteSample(s.sample, scored.initSample());
      scored.setReward(s.score.reward);
      scored.setVerdict(s.score.verdict);
    }
  }
  return message;
}

Status ReadRollout(const IncomingMessage& reply, uint64_t group_id, uint32_t expected_samples,
                   std::vector<Sample>* samples) {
  samples->clear();
  try {
    auto body = reply.envelope().getBody();
    if (body.which() != BodyKind::ROLLOUT || body.getRollout().getGroupId() != group_id) {
      return InvalidArgumentError("the answer is not the rollout of this group");
    }
    auto rollout = body.getRollout().getSamples();
    if (rollout.size() != expected_samples) {
      return InvalidArgumentError("expected " + std::to_string(expected_samples) +
                                  " samples, got " + std::to_string(rollout.size()));
    }
    for (auto s : rollout) {
      ASSIGN_OR_RETURN(Sample sample, ReadSample(s));
      samples->push_back(std::move(sample));
    }
  } catch (const kj::Exception& e) {
    return InvalidArgumentError("unreadable rollout: " + std::string(e.getDescription().cStr()));
  }
  return Status::Ok();
}

StatusOr<std::vector<SampleScore>> ReadRewardResult(const IncomingMessage& reply,
                                                    size_t num_samples) {
  try {
    auto body = reply.envelope().getBody();
    if (body.which() != BodyKind::REWARD_RESULT) {
      return InvalidArgumentError("the answer is not a reward result");
    }
    auto scores = body.getRewardResult().getScores();
    if (scores.size() != num_samples) {
      return InvalidArgumentError("expected " + std::to_string(num_samples) + " scores, got " +
                                  std::to_string(scores.size()));
    }
    std::vector<SampleScore> out(num_samples);
    std::vector<bool> seen(num_samples, false);
    for (auto score : scores) {
      uint32_t i = score.getSampleIndex();
      if (i >= num_samples || seen[i]) {
        return InvalidArgumentError("sample index " + std::to_string(i) +
                                    " is out of range or repeated");
      }
      if (!std::isfinite(score.getScore())) {
        return InvalidArgumentError("the score of sample " + std::to_string(i) + " is not finite");
      }
      seen[i] = true;
      out[i] = {score.getScore(), score.getVerdict()};
    }
    return out;
  } catch (const kj::Exception& e) {
    return InvalidArgumentError("unreadable reward result: " +
                                std::string(e.getDescription().cStr()));
  }
}

StatusOr<uint64_t> ReadTrainAck(const IncomingMessage& reply) {
  auto body = reply.envelope().getBody();
  if (body.which() != BodyKind::ACK) {
    return InternalError("the learner answered a batch with something other than Ack");
  }
  return body.getAck().getDurableVersion();
}

}  // namespace lightrl
