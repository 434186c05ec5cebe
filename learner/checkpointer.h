// Learner checkpoints: one folder per step under a root,
//
//   <root>/step-00000012/config.json, model.safetensors     (model/checkpoint.h)
//                        optimizer.safetensors               (AdamW moments and step)
//                        trainer_state.json                   (step, version, RNG)
//                        coordinator_state.json               (when the coordinator sent one)
//                        DONE                                 (written last)
//
// A checkpoint counts only when DONE exists: it is written after every other file has been
// written atomically and the folder synced, so a crash mid-save leaves a folder without DONE,
// which resuming skips with a warning. Saving keeps the newest `keep` complete checkpoints and
// removes older ones (and half-written ones older than the newest complete one).
//
// The folder layout and LatestCheckpoint are in core/checkpoint_dir.h.
// Thread-safety: functions are reentrant; one writer per root at a time.
#ifndef LIGHTRL_LEARNER_CHECKPOINTER_H_
#define LIGHTRL_LEARNER_CHECKPOINTER_H_

#include <optional>
#include <string>

#include "core/checkpoint_dir.h"
#include "learner/trainer.h"

namespace lightrl {

// Writes the checkpoint of `trainer`'s current step and returns its folder. `coordinator_state`
// (may be empty) is stored beside it. Errors name the file that failed.
StatusOr<std::string> SaveCheckpoint(const std::string& root, PolicyTrainer& trainer,
                                     const std::string& coordinator_state, int keep);

// Restores model weights, optimizer state and trainer state from `dir` into `trainer`
// (whose model config must match). Errors name the file and, for tensors, the tensor.
Status RestoreCheckpoint(const std::string& dir, PolicyTrainer* trainer);

}  // namespace lightrl

#endif  // LIGHTRL_LEARNER_CHECKPOINTER_H_
