// NCCL links: argument errors (everywhere), a peer that never joins and a cancelled join
// (one GPU), and one link carrying several buffers between two GPUs, then failing cleanly
// once its peer is gone (two GPUs; skips otherwise).
#include "weights/nccl_link.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "kernels/cuda/device.h"

namespace lightrl {
namespace {

using kernels::cuda::DeviceBuffer;
using kernels::cuda::DeviceCount;

using std::chrono::milliseconds;

TEST(NcclTransferTest, BadArgumentsAreErrors) {
  EXPECT_EQ(NcclIdFromBytes("short").status().code(), StatusCode::kInvalidArgument);
  ncclUniqueId id{};
  EXPECT_EQ(NcclLink::Join(0, 2, id, milliseconds(10)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(NcclTransferTest, APeerThatNeverJoinsTimesOut) {
  std::string why;
  if (DeviceCount(&why) < 1) GTEST_SKIP() << "no CUDA device: " << why;
  auto id = NewNcclId();
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_EQ(NcclIdFromBytes(NcclIdBytes(*id))->internal[7], id->internal[7]);
  const auto start = std::chrono::steady_clock::now();
  Status status = NcclLink::Join(0, 1, *id, milliseconds(1500)).status();
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(waited, milliseconds(1500));
  EXPECT_LT(waited, milliseconds(15000)) << "the abort did not return";
}

TEST(NcclTransferTest, CancellingEndsAWaitAtOnce) {
  std::string why;
  if (DeviceCount(&why) < 1) GTEST_SKIP() << "no CUDA device: " << why;
  auto id = NewNcclId();
  ASSERT_TRUE(id.ok()) << id.status();
  std::atomic<bool> cancel{false};
  std::promise<void> waiting;
  std::thread canceller([&] {
    waiting.get_future().wait();
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  waiting.set_value();
  Status status = NcclLink::Join(0, 1, *id, milliseconds(60000), &cancel).status();
  canceller.join();
  EXPECT_EQ(status.code(), StatusCode::kCancelled) << status;
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(15000));
}

TEST(NcclTransferTest, OneLinkCarriesManyBuffersAndFailsCleanlyWithoutItsPeer) {
  std::string why;
  const int gpus = DeviceCount(&why);
  if (gpus < 2) GTEST_SKIP() << "needs two GPUs, found " << gpus << " " << why;
  // Not a multiple of any chunk size, and too large for NCCL to buffer without a receiver.
  constexpr size_t kBytes = (64u << 20) + 12345;
  constexpr int kRounds = 3;
  auto pattern = [](int round) {
    std::vector<uint8_t> bytes(kBytes);
    for (size_t i = 0; i < kBytes; ++i) bytes[i] = static_cast<uint8_t>(i * 131 + (i >> 9) + round);
    return bytes;
  };
  auto id = NewNcclId();
  ASSERT_TRUE(id.ok()) << id.status();
  std::vector<Status> sent(kRounds), received(kRounds);
  std::vector<bool> same(kRounds, false);
  Status after_peer_left, broken_link;
  std::promise<void> receiver_left;
  std::thread sender([&] {
    auto link = NcclLink::Join(0, 0, *id, milliseconds(60000));
    CHECK_OK(link.status());
    LIGHTRL_CUDA_CHECK(cudaSetDevice(0));
    auto buffer = DeviceBuffer<uint8_t>::Allocate(kBytes);
    CHECK_OK(buffer.status());
    for (int r = 0; r < kRounds; ++r) {
      const std::vector<uint8_t> bytes = pattern(r);
      LIGHTRL_CUDA_CHECK(cudaMemcpy(buffer->data(), bytes.data(), kBytes, cudaMemcpyHostToDevice));
      sent[r] = (*link)->Transfer(buffer->data(), kBytes, milliseconds(60000));
    }
    receiver_left.get_future().wait();
    after_peer_left = (*link)->Transfer(buffer->data(), kBytes, milliseconds(1500));
    EXPECT_TRUE((*link)->broken());
    broken_link = (*link)->Transfer(buffer->data(), kBytes, milliseconds(1500));
  });
  std::thread receiver([&] {
    auto link = NcclLink::Join(1, 1, *id, milliseconds(60000));
    CHECK_OK(link.status());
    LIGHTRL_CUDA_CHECK(cudaSetDevice(1));
    auto buffer = DeviceBuffer<uint8_t>::Allocate(kBytes);
    CHECK_OK(buffer.status());
    std::vector<uint8_t> got(kBytes);
    for (int r = 0; r < kRounds; ++r) {
      LIGHTRL_CUDA_CHECK(cudaMemset(buffer->data(), 0, kBytes));
      received[r] = (*link)->Transfer(buffer->data(), kBytes, milliseconds(60000));
      LIGHTRL_CUDA_CHECK(cudaMemcpy(got.data(), buffer->data(), kBytes, cudaMemcpyDeviceToHost));
      same[r] = got == pattern(r);
    }
    link->reset();
    receiver_left.set_value();
  });
  sender.join();
  receiver.join();
  for (int r = 0; r < kRounds; ++r) {
    ASSERT_TRUE(sent[r].ok()) << "round " << r << ": " << sent[r];
    ASSERT_TRUE(received[r].ok()) << "round " << r << ": " << received[r];
    EXPECT_TRUE(same[r]) << "round " << r << ": the received bytes differ from the sent ones";
  }
  EXPECT_EQ(after_peer_left.code(), StatusCode::kDeadlineExceeded) << after_peer_left;
  EXPECT_EQ(broken_link.code(), StatusCode::kFailedPrecondition) << broken_link;
}

}  // namespace
}  // namespace lightrl
