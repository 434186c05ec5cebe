// A generated sample as every role holds it in memory.
//
// The rollout actor fills a Sample while it decodes, the coordinator keeps it with its reward,
// and the learner trains on it; on the wire it is proto::Sample (actors/sample_codec.h
// converts, checking what a peer sent).
#ifndef LIGHTRL_CORE_SAMPLE_H_
#define LIGHTRL_CORE_SAMPLE_H_

#include <cstdint>
#include <vector>

#include "core/token_id.h"

namespace lightrl {

// Why the generation of a sample ended (kNone: it has not ended).
enum class FinishReason { kNone, kEos, kMaxTokens, kStopString, kRepetition, kContextLength };
const char* FinishReasonName(FinishReason reason);

struct Sample {
  std::vector<TokenId> tokens;     // The completion (the prompt is held by its group).
  std::vector<float> logprobs;     // Of each token under the sampling distribution (behaviour).
  std::vector<uint32_t> versions;  // Policy version whose weights produced each token.
  FinishReason finish = FinishReason::kNone;
};

}  // namespace lightrl

#endif  // LIGHTRL_CORE_SAMPLE_H_
