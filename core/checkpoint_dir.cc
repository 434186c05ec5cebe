#include "core/checkpoint_dir.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/logging.h"

namespace lightrl {
namespace {

namespace fs = std::filesystem;
constexpr char kStepPrefix[] = "step-";

}  // namespace

std::string StepFolder(const std::string& root, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s%08lld", kStepPrefix, static_cast<long long>(step));
  return (fs::path(root) / name).string();
}

std::vector<std::string> StepFolders(const std::string& root) {
  std::vector<std::string> folders;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind(kStepPrefix, 0) == 0) {
      folders.push_back(entry.path().string());
    }
  }
  std::sort(folders.begin(), folders.end(), std::greater<>());
  return folders;
}

bool IsCompleteCheckpoint(const std::string& folder) {
  return fs::exists(fs::path(folder) / kDoneMarker);
}

std::optional<std::string> LatestCheckpoint(const std::string& root) {
  for (const std::string& folder : StepFolders(root)) {
    if (IsCompleteCheckpoint(folder)) return folder;
    LOG(WARNING) << "skipping half-written checkpoint " << folder << " (no " << kDoneMarker << ")";
  }
  return std::nullopt;
}

}  // namespace lightrl
