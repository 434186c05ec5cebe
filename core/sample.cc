#include "core/sample.h"

namespace lightrl {

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone:
      return "none";
    case FinishReason::kEos:
      return "eos";
    case FinishReason::kMaxTokens:
      return "max_tokens";
    case FinishReason::kStopString:
      return "stop_string";
    case FinishReason::kRepetition:
      return "repetition";
    case FinishReason::kContextLength:
      return "context_length";
  }
  return "unknown";
}

}  // namespace lightrl
