// What the coordinator's state machine moves: prompt groups and the batches they are trained
// in. Plain values; the state machine (coordinator/group_state_machine.h) owns them and is the
// only code that changes a group's state.
#ifndef LIGHTRL_COORDINATOR_GROUP_H_
#define LIGHTRL_COORDINATOR_GROUP_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/sample.h"
#include "proto/lightrl.capnp.h"

namespace lightrl {

// Train groups are trained or dropped and counted in the accounting; eval groups are answered
// greedily for an evaluation round and are not counted.
enum class Purpose { kTrain, kEval };

enum class DropReason {
  kStale,
  kZeroVariance,
  kInvalid,
  kTooLong,
  kGenerationFailed,
  kRewardFailed,
};
inline constexpr int kNumDropReasons = 6;
std::string_view DropReasonName(DropReason reason);

// A group's place in its life. See the transition table in group_state_machine.cc.
enum class GroupState {
  kNew,         // Drawn from its task, not yet placed anywhere.
  kToGenerate,  // Waiting for a rollout actor.
  kGenerating,  // A rollout actor holds it.
  kToScore,     // Generated; waiting for a reward worker.
  kScoring,     // A reward worker holds it.
  kReady,       // Scored; waiting for the learner (train groups only).
  kTraining,    // In the batch the learner holds (train groups only).
  kInDoubt,     // In a batch sent and unanswered that the learner may have applied.
  kTrained,     // Terminal: in a batch the learner applied.
  kDropped,     // Terminal: dropped with a reason (an eval group: counted as a wrong answer).
  kEvaluated,   // Terminal: an eval group that was answered and scored.
};
std::string_view GroupStateName(GroupState state);
std::ostream& operator<<(std::ostream& out, GroupState state);
bool IsTerminal(GroupState state);

// A prompt of a task: the task's index in the run and the item's index in its split.
struct PromptRef {
  int task = 0;
  int64_t index = 0;
  friend bool operator==(const PromptRef&, const PromptRef&) = default;
};
std::ostream& operator<<(std::ostream& out, const PromptRef& prompt);  // "task 1 item 17"

struct SampleScore {
  float reward = 0;
  proto::Verdict verdict = proto::Verdict::UNKNOWN;
};

struct ScoredSample {
  Sample sample;
  SampleScore score;
};

struct Group {
  uint64_t id = 0;  // 0 only for a prompt whose item could not be read (dropped at once).
  Purpose purpose = Purpose::kTrain;
  GroupState state = GroupState::kNew;
  bool restored = false;  // An open prompt of the snapshot, drawn again (counted already).
  PromptRef prompt_ref;
  std::vector<TokenId> prompt;
  std::string reference;     // The task's reference JSON, for the reward worker.
  uint64_t min_version = 0;  // Weights a rollout actor must hold before it starts.
  int generation_attempts = 0;
  int reward_attempts = 0;
  std::vector<ScoredSample> samples;

  // The oldest policy version among the tokens of its samples (UINT32_MAX without tokens).
  uint32_t OldestVersion() const;
};

// Groups sent to the learner together. Its groups are shared with the state machine while
// they are open and kept by the batch once trained, for replays.
struct Batch {
  uint64_t resulting_version = 0;  // The learner's version once it has applied the batch.
  std::vector<std::shared_ptr<Group>> groups;
  std::string snapshot;       // The coordinator's state once the batch is trained (JSON).
  bool acknowledged = false;  // Applied once; from then on it is only ever replayed.
};

// An eval group's outcome, for its evaluation round.
struct EvalAnswer {
  bool correct = false;
  uint64_t min_token_version = UINT64_MAX;  // Oldest weights behind a token of the answer.
};

}  // namespace lightrl

#endif  // LIGHTRL_COORDINATOR_GROUP_H_
