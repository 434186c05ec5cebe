// WeightSnapshots on the CPU and (when there is one) the GPU: captures read back byte for
// byte with their checksums, newest-wins, a waiting reader woken, Stop.
#include "weights/snapshots.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

#include "core/crc32c.h"
#include "model/policy_test_util.h"
#include "model/test_configs.h"

namespace lightrl {
namespace {

using model::Policy;

std::vector<uint8_t> WeightBytes(Policy& policy) {
  std::span<const std::byte> bytes = policy.params().Bytes();
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  return {data, data + bytes.size()};
}

// What a training step does to the weights, as far as the snapshots can tell.
void ChangeWeights(Policy& policy, float factor) {
  model::ParamArena<float>& params = policy.params();
  for (size_t i = 0; i < params.size(); ++i) params.data()[i] = params.data()[i] * factor + 0.01f;
  policy.ParamsChanged();
}

// Captures read back byte for byte with their checksum, later captures replacing ones not
// yet read, a waiting reader woken by a capture, and Stop releasing a reader.
void ExpectSnapshotsFollowTheWeights(Policy& policy, size_t staging_bytes) {
  policy.InitializeRandom(5);
  auto created = WeightSnapshots::Create(&policy, staging_bytes);
  ASSERT_TRUE(created.ok()) << created.status();
  WeightSnapshots& snapshots = **created;
  std::vector<uint8_t> out(snapshots.bytes());
  ASSERT_EQ(out.size(), policy.params().Bytes().size());

  const std::vector<uint8_t> first = WeightBytes(policy);
  snapshots.Capture(1);
  ChangeWeights(policy, 0.5f);  // the next step: the capture keeps what it copied
  auto read = snapshots.ReadNewest(0, out.data());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->version, 1u);
  EXPECT_EQ(out, first);
  EXPECT_EQ(read->checksum, Crc32c(first.data(), first.size()));

  snapshots.Capture(2);
  ChangeWeights(policy, 2.0f);
  snapshots.Capture(3);
  ChangeWeights(policy, 3.0f);
  const std::vector<uint8_t> fourth = WeightBytes(policy);
  snapshots.Capture(4);
  ChangeWeights(policy, 0.25f);
  read = snapshots.ReadNewest(1, out.data());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->version, 4u) << "the reader gets the newest capture";
  EXPECT_EQ(out, fourth);
  EXPECT_EQ(read->checksum, Crc32c(fourth.data(), fourth.size()));

  std::optional<WeightSnapshots::Snapshot> waited, stopped;
  std::vector<uint8_t> waited_out(out.size());
  std::thread reader([&] { waited = snapshots.ReadNewest(4, waited_out.data()); });
  const std::vector<uint8_t> fifth = WeightBytes(policy);
  snapshots.Capture(5);
  reader.join();
  ASSERT_TRUE(waited.has_value());
  EXPECT_EQ(waited->version, 5u);
  EXPECT_EQ(waited_out, fifth);
  std::thread late([&] { stopped = snapshots.ReadNewest(5, out.data()); });
  snapshots.Stop();
  late.join();
  EXPECT_FALSE(stopped.has_value()) << "Stop releases a reader waiting for a newer version";
}

TEST(WeightSnapshotsTest, CpuSnapshotsFollowTheWeights) {
  auto policy = model::CreatePolicy(model::testing::TinyHybridConfig(), {});
  ASSERT_TRUE(policy.ok());
  ExpectSnapshotsFollowTheWeights(**policy, WeightSnapshots::kDefaultStagingBytes);
  EXPECT_EQ(WeightSnapshots::Create(policy->get(), 0).status().code(),
            StatusCode::kInvalidArgument);
}

// Staging buffers far smaller than the weights (and no multiple of 4 bytes): the download
// runs in many chunks through both buffers.
TEST(WeightSnapshotsTest, GpuSnapshotsFollowTheWeights) {
  std::string skip;
  auto policy = model::testing::CudaPolicyOrSkipReason(model::testing::TinyHybridConfig(),
                                                       model::Precision{}, &skip);
  if (policy == nullptr) GTEST_SKIP() << skip;
  ASSERT_GT(policy->params().Bytes().size(), 3 * 1001u);
  ExpectSnapshotsFollowTheWeights(*policy, 1001);
}

}  // namespace
}  // namespace lightrl
