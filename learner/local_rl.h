// An in-process RL loop without sockets: generate with the trainer's own policy, score with
// the rule verifiers, train. It checks the learning math end to end (the learning test) and
// calibrates configs quickly; the distributed system does the same work across processes.
//
// Prompts and completions follow ByteTokenizer::EncodePrompt / DecodeCompletion.
//
// Thread-safety: not thread-safe; uses the trainer's policy.
#ifndef LIGHTRL_LEARNER_LOCAL_RL_H_
#define LIGHTRL_LEARNER_LOCAL_RL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "learner/trainer.h"
#include "model/sampler.h"
#include "tasks/task.h"

namespace lightrl {

// Generates `group_size` samples for each train item in [first_index, first_index + groups)
// with the policy's current weights, scores them, and returns the groups (sample seeds derive
// from `seed` and the item index).
StatusOr<std::vector<TrainGroup>> GenerateGroups(model::Policy& policy, const Task& task,
                                                 int64_t first_index, int groups, int group_size,
                                                 const model::SamplingParams& sampling,
                                                 uint64_t seed, uint32_t version);

// SFT examples (prompt → the task's reference solution + EOS) for train items
// [first_index, first_index + count).
StatusOr<std::vector<SftExample>> SftExamples(const Task& task, int64_t first_index, int count);

// Fraction of the first `items` eval items answered correctly with greedy decoding.
StatusOr<double> EvaluateGreedy(model::Policy& policy, const Task& task, int items, int max_tokens);

}  // namespace lightrl

#endif  // LIGHTRL_LEARNER_LOCAL_RL_H_
