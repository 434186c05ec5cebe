// The layout of a checkpoint root shared by the learner (which writes it) and the coordinator
// (which resumes from the snapshot stored in it): one folder per step, "step-%08d", complete
// only once its DONE marker exists.
//
// Thread-safety: reentrant.
#ifndef LIGHTRL_CORE_CHECKPOINT_DIR_H_
#define LIGHTRL_CORE_CHECKPOINT_DIR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lightrl {

inline constexpr char kDoneMarker[] = "DONE";
inline constexpr char kCoordinatorStateFile[] = "coordinator_state.json";

// The folder for `step` under `root`.
std::string StepFolder(const std::string& root, int64_t step);
// Every step folder under `root`, newest first (empty when root does not exist).
std::vector<std::string> StepFolders(const std::string& root);
bool IsCompleteCheckpoint(const std::string& folder);
// The newest complete checkpoint folder, or nothing. Half-written folders (no DONE) are
// skipped with a warning in the log.
std::optional<std::string> LatestCheckpoint(const std::string& root);

}  // namespace lightrl

#endif  // LIGHTRL_CORE_CHECKPOINT_DIR_H_
