#include "learner/checkpointer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/logging.h"
#include "model/checkpoint.h"
#include "model/file_util.h"

namespace lightrl {
namespace {

namespace fs = std::filesystem;

constexpr char kTrainerStateFile[] = "trainer_state.json";

Status SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return InternalError(dir + ": cannot open to sync");
  int rc = fsync(fd);
  close(fd);
  return rc == 0 ? Status::Ok() : InternalError(dir + ": fsync failed");
}

Status WriteText(const std::string& path, const std::string& text) {
  const std::string_view pieces[] = {text};
  return model::WriteFileAtomically(path, pieces);
}

}  // namespace

StatusOr<std::string> SaveCheckpoint(const std::string& root, PolicyTrainer& trainer,
                                     const std::string& coordinator_state, int keep) {
  std::string dir = StepFolder(root, trainer.step());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InternalError(dir + ": cannot create: " + ec.message());
  fs::remove(fs::path(dir) / kDoneMarker, ec);  // Re-saving a step: it is incomplete until done.
  RETURN_IF_ERROR(model::SaveModel(dir, trainer.policy().config(), trainer.policy().params()));
  RETURN_IF_ERROR(model::SaveOptimizer(dir, trainer.policy().SaveOptimizerState()));
  RETURN_IF_ERROR(
      WriteText((fs::path(dir) / kTrainerStateFile).string(), trainer.SerializeState()));
  if (!coordinator_state.empty()) {
    RETURN_IF_ERROR(WriteText((fs::path(dir) / kCoordinatorStateFile).string(), coordinator_state));
  }
  RETURN_IF_ERROR(SyncDirectory(dir));
  RETURN_IF_ERROR(WriteText((fs::path(dir) / kDoneMarker).string(), "complete\n"));
  RETURN_IF_ERROR(SyncDirectory(root));

  int complete = 0;
  bool past_newest_complete = false;
  for (const std::string& folder : StepFolders(root)) {
    bool done = IsCompleteCheckpoint(folder);
    bool remove = done ? ++complete > keep : past_newest_complete;
    past_newest_complete = past_newest_complete || done;
    if (remove) fs::remove_all(folder, ec);
  }
  return dir;
}

Status RestoreCheckpoint(const std::string& dir, PolicyTrainer* trainer) {
  if (!IsCompleteCheckpoint(dir))
    return FailedPreconditionError(dir + ": checkpoint has no DONE marker");
  std::string weights = (fs::path(dir) / model::kWeightsFile).string();
  model::Policy& policy = trainer->policy();
  model::ParamArena<float> params = policy.params();
  RETURN_IF_ERROR(model::LoadWeights(weights, policy.config(), &params));
  model::AdamW optimizer = policy.SaveOptimizerState();
  RETURN_IF_ERROR(model::LoadOptimizer(dir, &optimizer));
  std::string state_path = (fs::path(dir) / kTrainerStateFile).string();
  ASSIGN_OR_RETURN(std::string state, model::ReadFile(state_path));
  RETURN_IF_ERROR(trainer->RestoreState(state).WithContext(state_path));
  policy.params() = std::move(params);
  policy.ParamsChanged();
  policy.RestoreOptimizerState(optimizer);
  return Status::Ok();
}

}  // namespace lightrl
