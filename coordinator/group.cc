#include "coordinator/group.h"

#include <algorithm>

namespace lightrl {

std::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kStale:
      return "stale";
    case DropReason::kZeroVariance:
      return "zero_variance";
    case DropReason::kInvalid:
      return "invalid";
    case DropReason::kTooLong:
      return "too_long";
    case DropReason::kGenerationFailed:
      return "generation_failed";
    case DropReason::kRewardFailed:
      return "reward_failed";
  }
  return "unknown";
}

std::string_view GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kNew:
      return "new";
    case GroupState::kToGenerate:
      return "to_generate";
    case GroupState::kGenerating:
      return "generating";
    case GroupState::kToScore:
      return "to_score";
    case GroupState::kScoring:
      return "scoring";
    case GroupState::kReady:
      return "ready";
    case GroupState::kTraining:
      return "training";
    case GroupState::kInDoubt:
      return "in_doubt";
    case GroupState::kTrained:
      return "trained";
    case GroupState::kDropped:
      return "dropped";
    case GroupState::kEvaluated:
      return "evaluated";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, GroupState state) {
  return out << GroupStateName(state);
}

std::ostream& operator<<(std::ostream& out, const PromptRef& prompt) {
  return out << "task " << prompt.task << " item " << prompt.index;
}

bool IsTerminal(GroupState state) {
  return state == GroupState::kTrained || state == GroupState::kDropped ||
         state == GroupState::kEvaluated;
}

uint32_t Group::OldestVersion() const {
  uint32_t oldest = UINT32_MAX;
  for (const ScoredSample& s : samples) {
    for (uint32_t v : s.sample.versions) oldest = std::min(oldest, v);
  }
  return oldest;
}

}  // namespace lightrl
