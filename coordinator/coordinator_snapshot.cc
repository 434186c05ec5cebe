#include "coordinator/coordinator_snapshot.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/checkpoint_dir.h"

namespace lightrl {

std::string SnapshotJson(const CoordinatorSnapshot& snapshot) {
  nlohmann::json open = nlohmann::json::array();
  for (const PromptRef& prompt : snapshot.open) open.push_back({prompt.task, prompt.index});
  std::vector<int64_t> dropped(snapshot.dropped.begin(), snapshot.dropped.end());
  nlohmann::json state = {{"next_group_id", snapshot.next_group_id},
                          {"cursors", snapshot.cursors},
                          {"accounting",
                           {{"created", snapshot.created},
                            {"trained", snapshot.trained},
                            {"steps", snapshot.steps},
                            {"dropped", dropped}}},
                          {"open", open}};
  return state.dump();
}

StatusOr<CoordinatorSnapshot> ParseSnapshot(const std::string& json, size_t num_tasks,
                                            const std::string& source) {
  nlohmann::json state = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& what) { return DataLossError(source + ": " + what); };
  if (state.is_discarded() || !state.is_object()) return bad("not a JSON object");
  CoordinatorSnapshot s;
  try {
    s.next_group_id = state.at("next_group_id").get<uint64_t>();
    s.cursors = state.at("cursors").get<std::vector<int64_t>>();
    if (s.cursors.size() != num_tasks) {
      return bad("has " + std::to_string(s.cursors.size()) + " task cursors, the run has " +
                 std::to_string(num_tasks) + " tasks");
    }
    const auto& a = state.at("accounting");
    s.created = a.at("created").get<int64_t>();
    s.trained = a.at("trained").get<int64_t>();
    s.steps = a.at("steps").get<int64_t>();
    std::vector<int64_t> dropped = a.at("dropped").get<std::vector<int64_t>>();
    if (dropped.size() != kNumDropReasons) return bad("wrong number of drop reasons");
    std::copy(dropped.begin(), dropped.end(), s.dropped.begin());
    for (const auto& open : state.at("open")) {
      int task = open.at(0).get<int>();
      if (task < 0 || task >= static_cast<int>(num_tasks)) return bad("unknown task index");
      s.open.push_back({task, open.at(1).get<int64_t>()});
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  int64_t dropped_total = 0;
  for (int64_t d : s.dropped) dropped_total += d;
  if (s.created != s.trained + dropped_total + static_cast<int64_t>(s.open.size())) {
    return bad("accounting does not balance");
  }
  return s;
}

StatusOr<std::optional<StoredSnapshot>> ReadLatestSnapshot(const std::string& checkpoint_dir,
                                                           size_t num_tasks) {
  if (checkpoint_dir.empty()) return std::nullopt;
  std::optional<std::string> latest = LatestCheckpoint(checkpoint_dir);
  if (!latest) return std::nullopt;
  std::string path = (std::filesystem::path(*latest) / kCoordinatorStateFile).string();
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream json;
  json << in.rdbuf();
  ASSIGN_OR_RETURN(CoordinatorSnapshot snapshot, ParseSnapshot(json.str(), num_tasks, path));
  return StoredSnapshot{path, std::move(snapshot)};
}

}  // namespace lightrl
