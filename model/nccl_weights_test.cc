// Weights GPU to GPU between two policies (two GPUs; skips otherwise): the receiving
// policy computes what the sending one does, a pull for another version is refused, and
// a CPU policy cannot take part.
#include "model/nccl_weights.h"

#include <gtest/gtest.h>

#include <future>

#include "kernels/cuda/nccl_transfer.h"
#include "model/test_configs.h"

namespace lightrl::model {
namespace {

using std::chrono::milliseconds;

TEST(NcclWeightsTest, CpuPoliciesCannotTakePart) {
  auto cpu = CreatePolicy(testing::TinyHybridConfig(), {});
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(NcclWeightSink::Create(cpu->get()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(NcclWeightSource::Create(cpu->get(), milliseconds(10)).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(NcclWeightsTest, TheReceiverComputesWhatTheSenderDoes) {
  std::string why;
  const int gpus = kernels::cuda::DeviceCount(&why);
  if (gpus < 2) GTEST_SKIP() << "needs two GPUs, found " << gpus << " " << why;
  const ModelConfig config = testing::TinyHybridConfig();
  PolicyOptions options;
  options.backend = Backend::kCuda;
  options.precision = Precision{};
  options.device = 0;
  auto learner = CreatePolicy(config, options);
  options.device = 1;
  auto rollout = CreatePolicy(config, options);
  ASSERT_TRUE(learner.ok() && rollout.ok());
  (*learner)->InitializeRandom(11);
  (*rollout)->InitializeRandom(12);
  auto source = NcclWeightSource::Create(learner->get(), milliseconds(30000));
  auto sink = NcclWeightSink::Create(rollout->get());
  ASSERT_TRUE(source.ok() && sink.ok());
  (*source)->Capture(3);

  auto id = kernels::cuda::NewNcclId();
  ASSERT_TRUE(id.ok());
  const std::string id_bytes = kernels::cuda::NcclIdBytes(*id);
  std::future<Status> received = std::async(
      std::launch::async, [&] { return (*sink)->Receive(id_bytes, milliseconds(30000)); });
  std::promise<Status> served;
  (*source)->Serve(3, id_bytes, [&](Status s) { served.set_value(s); });
  ASSERT_TRUE(served.get_future().get().ok());
  ASSERT_TRUE(received.get().ok());
  (*sink)->Apply();
  const PackedBatch batch = testing::RandomBatch({12, 7, 19}, 2, config.vocab_size, 4);
  auto a = (*learner)->Forward(batch, {.keep_activations = false});
  auto b = (*rollout)->Forward(batch, {.keep_activations = false});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->logprobs, b->logprobs) << "the receiver does not hold the sender's weights";

  // Version 4 was never captured: refused without waiting for a peer.
  std::promise<Status> refused;
  (*source)->Serve(4, id_bytes, [&](Status s) { refused.set_value(s); });
  EXPECT_EQ(refused.get_future().get().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace lightrl::model
