// The coordinator's snapshot: what a restarted coordinator resumes from. Each TrainBatch
// carries the snapshot of the state once that batch is trained; the learner stores it with the
// checkpoint of the version the batch produces (core/checkpoint_dir.h), so the newest complete
// checkpoint holds the weights and the coordinator state that match.
//
// Thread-safety: stateless functions.
#ifndef LIGHTRL_COORDINATOR_COORDINATOR_SNAPSHOT_H_
#define LIGHTRL_COORDINATOR_COORDINATOR_SNAPSHOT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/group.h"
#include "core/status.h"

namespace lightrl {

struct CoordinatorSnapshot {
  uint64_t next_group_id = 1;
  std::vector<int64_t> cursors;  // Next train index per task.
  int64_t created = 0;
  int64_t trained = 0;
  int64_t steps = 0;
  std::array<int64_t, kNumDropReasons> dropped{};
  std::vector<PromptRef> open;  // Created and neither trained nor dropped: drawn again.
};

// The JSON stored with a checkpoint (an object with keys next_group_id, cursors, accounting
// {created, trained, steps, dropped}, open [[task, index], ...]).
std::string SnapshotJson(const CoordinatorSnapshot& snapshot);

// Reads `json` as a snapshot for a run of `num_tasks` tasks. DataLoss "`source`: <problem>"
// when it is not one: unparsable, fields missing or of the wrong type, another number of
// tasks, a task index out of range, or counters that do not balance.
StatusOr<CoordinatorSnapshot> ParseSnapshot(const std::string& json, size_t num_tasks,
                                            const std::string& source);

struct StoredSnapshot {
  std::string path;  // The file it was read from.
  CoordinatorSnapshot snapshot;
};

// The snapshot stored with the newest complete checkpoint under `checkpoint_dir`, checked
// against a run of `num_tasks` tasks. Nothing when there is no checkpoint, or when it holds
// no snapshot (a checkpoint from before any batch, e.g. after SFT only). Errors: ParseSnapshot's,
// naming the file.
StatusOr<std::optional<StoredSnapshot>> ReadLatestSnapshot(const std::string& checkpoint_dir,
                                                           size_t num_tasks);

}  // namespace lightrl

#endif  // LIGHTRL_COORDINATOR_COORDINATOR_SNAPSHOT_H_
