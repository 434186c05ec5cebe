// The one type of a token id in memory, from the tokenizer through the model and the wire
// codec to the learner: non-negative and below the model's vocabulary size. The wire carries
// ids as UInt32 (actors/sample_codec.h converts and refuses ids above INT32_MAX).
#ifndef LIGHTRL_CORE_TOKEN_ID_H_
#define LIGHTRL_CORE_TOKEN_ID_H_

#include <cstdint>

namespace lightrl {

using TokenId = int32_t;

}  // namespace lightrl

#endif  // LIGHTRL_CORE_TOKEN_ID_H_
