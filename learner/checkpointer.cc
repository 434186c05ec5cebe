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
constexpr char kStepPrefix[] = "step-";

std::string StepFolder(const std::string& root, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s%08lld", kStepPrefix, static_cast<long long>(step));
  return (fs::path(root) / name).string();
}

// Every step-* folder under root, newest (largest step) first.
std::vector<fs::path> StepFolders(const std::string& root) {
  std::vector<fs::path> folders;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind(kStepPrefix, 0) == 0) folders.push_back(entry.path());
  }
  std::sort(folders.begin(), folders.end(), std::greater<>());
  return folders;
}

bool IsComplete(const fs::path& folder) { return fs::exists(folder / kDoneMarker); }

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

StatusOr<std::string> SaveCheckpoint(const std::string& root, const PolicyTrainer& trainer,
                                     const std::string& coordinator_state, int keep) {
  std::string dir = StepFolder(root, trainer.step());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InternalError(dir + ": cannot create: " + ec.message());
  fs::remove(fs::path(dir) / kDoneMarker, ec);  // Re-saving a step: it is incomplete until done.
  RETURN_IF_ERROR(model::SaveModel(dir, trainer.model()));
  RETURN_IF_ERROR(model::SaveOptimizer(dir, trainer.optimizer()));
  RETURN_IF_ERROR(WriteText((fs::path(dir) / kTrainerStateFile).string(), trainer.SerializeState()));
  if (!coordinator_state.empty()) {
    RETURN_IF_ERROR(WriteText((fs::path(dir) / kCoordinatorStateFile).string(), coordinator_state));
  }
  RETURN_IF_ERROR(SyncDirectory(dir));
  RETURN_IF_ERROR(WriteText((fs::path(dir) / kDoneMarker).string(), "complete\n"));
  RETURN_IF_ERROR(SyncDirectory(root));

  int complete = 0;
  bool past_newest_complete = false;
  for (const fs::path& folder : StepFolders(root)) {
    bool done = IsComplete(folder);
    bool remove = done ? ++complete > keep : past_newest_complete;
    past_newest_complete = past_newest_complete || done;
    if (remove) fs::remove_all(folder, ec);
  }
  return dir;
}

std::optional<std::string> LatestCheckpoint(const std::string& root) {
  for (const fs::path& folder : StepFolders(root)) {
    if (IsComplete(folder)) return folder.string();
    LOG(WARNING) << "skipping half-written checkpoint " << folder.string() << " (no "
                 << kDoneMarker << ")";
  }
  return std::nullopt;
}

Status RestoreCheckpoint(const std::string& dir, PolicyTrainer* trainer) {
  if (!IsComplete(dir)) return FailedPreconditionError(dir + ": checkpoint has no DONE marker");
  std::string weights = (fs::path(dir) / model::kWeightsFile).string();
  RETURN_IF_ERROR(
      model::LoadWeights(weights, trainer->model().config(), &trainer->model().params()));
  RETURN_IF_ERROR(model::LoadOptimizer(dir, &trainer->optimizer()));
  std::string state_path = (fs::path(dir) / kTrainerStateFile).string();
  ASSIGN_OR_RETURN(std::string state, model::ReadFile(state_path));
  return trainer->RestoreState(state).WithContext(state_path);
}

}  // namespace lightrl
