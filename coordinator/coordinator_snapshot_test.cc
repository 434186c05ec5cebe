#include "coordinator/coordinator_snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/checkpoint_dir.h"
#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using ::testing::HasSubstr;

CoordinatorSnapshot Example() {
  CoordinatorSnapshot snapshot;
  snapshot.next_group_id = 31;
  snapshot.cursors = {12, 9};
  snapshot.created = 21;
  snapshot.trained = 16;
  snapshot.steps = 4;
  snapshot.dropped[static_cast<int>(DropReason::kZeroVariance)] = 3;
  snapshot.open = {{0, 11}, {1, 8}};
  return snapshot;
}

TEST(CoordinatorSnapshotTest, RoundTripsThroughJson) {
  const std::string json = SnapshotJson(Example());
  EXPECT_EQ(json, R"({"accounting":{"created":21,"dropped":[0,3,0,0,0,0],"steps":4,"trained":16},)"
                  R"("cursors":[12,9],"next_group_id":31,"open":[[0,11],[1,8]]})");
  StatusOr<CoordinatorSnapshot> read = ParseSnapshot(json, 2, "state.json");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->next_group_id, 31u);
  EXPECT_EQ(read->cursors, (std::vector<int64_t>{12, 9}));
  EXPECT_EQ(read->dropped, Example().dropped);
  EXPECT_EQ(read->open, Example().open);
}

TEST(CoordinatorSnapshotTest, SnapshotsOfAnotherRunOrBrokenOnesAreDataLoss) {
  const std::string json = SnapshotJson(Example());
  auto error = [&](const std::string& text, size_t tasks) {
    StatusOr<CoordinatorSnapshot> read = ParseSnapshot(text, tasks, "state.json");
    EXPECT_EQ(read.status().code(), StatusCode::kDataLoss);
    return std::string(read.status().message());
  };
  EXPECT_EQ(error(json, 3), "state.json: has 2 task cursors, the run has 3 tasks");
  EXPECT_EQ(error("[1]", 2), "state.json: not a JSON object");
  EXPECT_EQ(error("{", 2), "state.json: not a JSON object");
  EXPECT_THAT(error(R"({"next_group_id": 1})", 2), HasSubstr("cursors"));
  CoordinatorSnapshot unknown_task = Example();
  unknown_task.open[1].task = 2;
  EXPECT_EQ(error(SnapshotJson(unknown_task), 2), "state.json: unknown task index");
  CoordinatorSnapshot unbalanced = Example();
  unbalanced.created = 22;
  EXPECT_EQ(error(SnapshotJson(unbalanced), 2), "state.json: accounting does not balance");
}

TEST(CoordinatorSnapshotTest, TheNewestCompleteCheckpointHoldsTheSnapshotToResumeFrom) {
  const std::string root = testing::MakeTempDir("snapshots") + "/checkpoints";
  EXPECT_FALSE(ReadLatestSnapshot(root, 2)->has_value());  // No checkpoint yet.
  EXPECT_FALSE(ReadLatestSnapshot("", 2)->has_value());    // No checkpoint dir.
  auto write = [&](int64_t step, const std::string* state, bool done) {
    std::string folder = StepFolder(root, step);
    std::filesystem::create_directories(folder);
    if (state) std::ofstream(folder + "/" + kCoordinatorStateFile) << *state;
    if (done) std::ofstream(folder + "/" + kDoneMarker) << "";
  };
  write(0, nullptr, true);  // After SFT: no snapshot.
  EXPECT_FALSE(ReadLatestSnapshot(root, 2)->has_value());
  CoordinatorSnapshot older = Example();
  older.next_group_id = 7;
  const std::string older_json = SnapshotJson(older);
  const std::string newer_json = SnapshotJson(Example());
  write(3, &older_json, true);
  write(4, &newer_json, false);  // Half-written: skipped.
  StatusOr<std::optional<StoredSnapshot>> stored = ReadLatestSnapshot(root, 2);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->snapshot.next_group_id, 7u);
  EXPECT_EQ((*stored)->path, StepFolder(root, 3) + "/" + kCoordinatorStateFile);
  const std::string garbage = "garbage";
  write(5, &garbage, true);
  EXPECT_THAT(ReadLatestSnapshot(root, 2).status().message(),
              HasSubstr(StepFolder(root, 5) + "/" + kCoordinatorStateFile + ": not a JSON"));
}

}  // namespace
}  // namespace lightrl
