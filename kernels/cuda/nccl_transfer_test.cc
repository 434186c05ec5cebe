// Point-to-point NCCL transfers: argument errors (everywhere), a peer that never joins
// (one GPU), and a buffer moved between two GPUs (two GPUs; skips otherwise).
#include "kernels/cuda/nccl_transfer.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "kernels/cuda/device.h"

namespace lightrl::kernels::cuda {
namespace {

using std::chrono::milliseconds;

TEST(NcclTransferTest, BadArgumentsAreErrors) {
  EXPECT_EQ(NcclIdFromBytes("short").status().code(), StatusCode::kInvalidArgument);
  ncclUniqueId id{};
  EXPECT_EQ(NcclTransfer(0, 2, nullptr, 0, id, milliseconds(10)).code(),
            StatusCode::kInvalidArgument);
}

TEST(NcclTransferTest, APeerThatNeverJoinsTimesOut) {
  std::string why;
  if (DeviceCount(&why) < 1) GTEST_SKIP() << "no CUDA device: " << why;
  auto id = NewNcclId();
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_EQ(NcclIdFromBytes(NcclIdBytes(*id))->internal[7], id->internal[7]);
  auto buffer = DeviceBuffer<uint8_t>::Allocate(1024);
  ASSERT_TRUE(buffer.ok());
  const auto start = std::chrono::steady_clock::now();
  Status status = NcclTransfer(0, 1, buffer->data(), 1024, *id, milliseconds(1500));
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
  auto buffer = DeviceBuffer<uint8_t>::Allocate(1024);
  ASSERT_TRUE(buffer.ok());
  std::atomic<bool> cancel{false};
  std::promise<void> waiting;
  std::thread canceller([&] {
    waiting.get_future().wait();
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  waiting.set_value();
  Status status = NcclTransfer(0, 1, buffer->data(), 1024, *id, milliseconds(60000), &cancel);
  canceller.join();
  EXPECT_EQ(status.code(), StatusCode::kCancelled) << status;
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(15000));
}

TEST(NcclTransferTest, MovesABufferBetweenTwoGpus) {
  std::string why;
  const int gpus = DeviceCount(&why);
  if (gpus < 2) GTEST_SKIP() << "needs two GPUs, found " << gpus << " " << why;
  constexpr size_t kBytes = (64u << 20) + 12345;  // not a multiple of any chunk size
  std::vector<uint8_t> pattern(kBytes);
  for (size_t i = 0; i < kBytes; ++i) pattern[i] = static_cast<uint8_t>(i * 131 + (i >> 9));
  auto id = NewNcclId();
  ASSERT_TRUE(id.ok()) << id.status();
  Status sent, received;
  std::vector<uint8_t> got(kBytes, 0);
  std::thread sender([&] {
    LIGHTRL_CUDA_CHECK(cudaSetDevice(0));
    auto buffer = DeviceBuffer<uint8_t>::Allocate(kBytes);
    CHECK_OK(buffer.status());
    LIGHTRL_CUDA_CHECK(cudaMemcpy(buffer->data(), pattern.data(), kBytes, cudaMemcpyHostToDevice));
    sent = NcclTransfer(0, 0, buffer->data(), kBytes, *id, milliseconds(60000));
  });
  std::thread receiver([&] {
    LIGHTRL_CUDA_CHECK(cudaSetDevice(1));
    auto buffer = DeviceBuffer<uint8_t>::Allocate(kBytes);
    CHECK_OK(buffer.status());
    LIGHTRL_CUDA_CHECK(cudaMemset(buffer->data(), 0, kBytes));
    received = NcclTransfer(1, 1, buffer->data(), kBytes, *id, milliseconds(60000));
    LIGHTRL_CUDA_CHECK(cudaMemcpy(got.data(), buffer->data(), kBytes, cudaMemcpyDeviceToHost));
  });
  sender.join();
  receiver.join();
  ASSERT_TRUE(sent.ok()) << sent;
  ASSERT_TRUE(received.ok()) << received;
  EXPECT_TRUE(got == pattern) << "the received bytes differ from the sent ones";
}

}  // namespace
}  // namespace lightrl::kernels::cuda
