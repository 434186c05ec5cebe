// The training pipeline's messages on the wire: the requests it sends (RolloutRequest,
// RewardRequest, TrainBatch) built from groups and batches, and the replies it reads (Rollout,
// RewardResult, Ack) checked against what was asked. Samples and token ids go through
// actors/sample_codec.h.
//
// Encoders never fail, except where a group's content cannot be put into the message (noted).
// Readers check what a peer sent and return InvalidArgument naming the problem; they never
// throw (a kj::Exception while reading is turned into InvalidArgument too).
//
// Thread-safety: stateless functions.
#ifndef LIGHTRL_COORDINATOR_PIPELINE_CODEC_H_
#define LIGHTRL_COORDINATOR_PIPELINE_CODEC_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "actors/codec.h"
#include "coordinator/group.h"
#include "core/status.h"

namespace lightrl {

// What a RolloutRequest asks for besides its group.
struct GenerationSpec {
  uint32_t samples_per_prompt = 1;
  float temperature = 1.0f;
  float top_p = 1.0f;
  uint32_t top_k = 0;
  uint32_t max_tokens = 64;
  std::vector<std::string> stop_strings;
  uint32_t repetition_window = 3000;
  float repetition_probability = 0.99f;
};

// Every encoder names a group's task `task_names[group.prompt_ref.task]`.

// The request for `group`; its sampling seed derives from `run_seed` and the group id.
OutgoingMessage EncodeRolloutRequest(const Group& group, std::span<const std::string> task_names,
                                     const GenerationSpec& spec, uint64_t run_seed);

// The request to score the samples of `group`, their completions decoded to text. Errors:
// the decoder's (InvalidArgument) when a completion is not text.
StatusOr<OutgoingMessage> EncodeRewardRequest(const Group& group,
                                              std::span<const std::string> task_names);

// `batch` for the learner: its groups with their samples and scores, and its snapshot.
OutgoingMessage EncodeTrainBatch(const Batch& batch, std::span<const std::string> task_names);

// The samples of the Rollout answering the request of group `group_id`, which asked for
// `expected_samples`. Errors: not a Rollout of that group, another number of samples, or a
// malformed sample. On error, `*samples` holds the samples read before the problem.
Status ReadRollout(const IncomingMessage& reply, uint64_t group_id, uint32_t expected_samples,
                   std::vector<Sample>* samples);

// The scores of a RewardResult for `num_samples` samples, in sample order. Errors: not a
// RewardResult, another number of scores, a sample index out of range or repeated, a score
// that is not finite.
StatusOr<std::vector<SampleScore>> ReadRewardResult(const IncomingMessage& reply,
                                                    size_t num_samples);

// The durable version of the learner's Ack of a TrainBatch. Errors: Internal when the answer is
// not an Ack.
StatusOr<uint64_t> ReadTrainAck(const IncomingMessage& reply);

}  // namespace lightrl

#endif  // LIGHTRL_COORDINATOR_PIPELINE_CODEC_H_
