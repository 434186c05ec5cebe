// Evaluation of the policy on the tasks' eval splits: when a round is due, which prompts it
// asks, how they are sampled (greedily, one answer each), and its result.
//
// Rounds: one before the first step (training waits for it), one every eval.every_steps
// steps, and one after the last step (unless a round is still running then; it serves as the
// last). One round at a time. Its groups go through the state machine's generation and
// scoring like train groups; each ends in an EvalAnswer (a failed group is a wrong answer),
// and the round ends with its last answer.
//
// Thread-safety: none.
#ifndef LIGHTRL_COORDINATOR_EVALUATION_H_
#define LIGHTRL_COORDINATOR_EVALUATION_H_

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "coordinator/group.h"
#include "coordinator/pipeline_codec.h"
#include "coordinator/pipeline_config.h"
#include "tasks/task.h"

namespace lightrl {

struct EvalResult {
  uint64_t requested_version = 0;
  uint64_t min_token_version = 0;  // Oldest weights that produced an answer token.
  int items = 0;
  int correct = 0;
  double accuracy() const { return items > 0 ? static_cast<double>(correct) / items : 0.0; }
};

class Evaluation {
 public:
  // `tasks` must outlive the evaluation.
  Evaluation(const PipelineConfig& config, std::span<const std::unique_ptr<Task>> tasks);

  // Whether evaluation is configured (eval.items > 0).
  bool enabled() const { return config_.items > 0; }
  // InvalidArgument when evaluation is configured but no task has an eval split to draw its
  // prompts from (rounds could never be answered).
  Status Validate() const;
  // A round has completed, or evaluation is off: training may start.
  bool initial_done() const { return initial_done_; }
  bool in_progress() const { return round_.has_value(); }
  // How eval prompts are generated: one greedy answer of at most eval.max_tokens.
  const GenerationSpec& generation() const { return generation_; }

  // The prompts of a round: eval.items spread over the tasks (at least one each), the first
  // of each task's eval split.
  std::vector<PromptRef> RoundPrompts() const;
  // A round of `items` groups (those of RoundPrompts that could be read) on `version` began.
  // A round of no groups ends at once: its (empty) result is returned. CHECK: no round is in
  // progress.
  std::optional<EvalResult> BeginRound(uint64_t version, int items);
  // Counts one answer of the round in progress; returns the result when it was the last.
  std::optional<EvalResult> Record(const EvalAnswer& answer);

  // Whether a periodic round is due once `step` of `last_step` steps is acknowledged.
  bool DueAfterStep(int64_t step, int64_t last_step) const;
  // True once, when evaluation is on: the final round is due now (the caller starts it unless
  // a round is in progress, which then serves as the final one).
  bool ClaimFinalRound();

  const std::vector<EvalResult>& results() const { return results_; }

 private:
  struct Round {
    EvalResult result;
    int answered = 0;
  };

  // Ends the round in progress and keeps its result.
  EvalResult EndRound();

  EvalConfig config_;
  std::span<const std::unique_ptr<Task>> tasks_;
  GenerationSpec generation_;
  bool initial_done_;
  bool final_claimed_ = false;
  std::optional<Round> round_;
  std::vector<EvalResult> results_;
};

}  // namespace lightrl

#endif  // LIGHTRL_COORDINATOR_EVALUATION_H_
