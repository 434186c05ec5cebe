// lightrl-bench-learner: learner step throughput (trained tokens per second) for a model
// config, and the share of each step spent outside forward, backward and the optimizer
// (packing, advantages, the loss, metrics; goal < 5%), and the step's forward, backward and
// optimizer milliseconds; and what publishing each step's weights costs: the capture on the
// training thread, and the host image with its checksum that a publishing thread makes
// meanwhile (weights/snapshots.h), against making the image on the training thread
// (params() and a copy, then the checksum: the learner node's path before the snapshots),
// timed after the rounds.
//
// Batches are synthetic but shaped like the demo's (groups of G samples of a short prompt and
// completion, rewards mixed so no group is excluded); each round trains one batch. One
// warm-up round, then `repeats`; medians are reported. Wrong results: a non-finite loss or
// gradient norm. --backend=cuda runs the trainer on a GPU (--devices=0,1: data-parallel on
// several; the per-GPU rate is then the ratio against one GPU's, measured separately).
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "bench/bench_util.h"
#include "core/crc32c.h"
#include "core/logging.h"
#include "learner/trainer.h"
#include "model/config.h"
#include "model/policy.h"
#include "weights/image.h"
#include "weights/snapshots.h"
#if LIGHTRL_WITH_NCCL
#include "learner/data_parallel_policy.h"
#endif

DEFINE_string(model_config, "model/configs/demo.json", "config.json of the model.");
DEFINE_int32(groups, 16, "Groups per batch.");
DEFINE_int32(group_size, 8, "Samples per group.");
DEFINE_int32(prompt_tokens, 8, "Prompt length.");
DEFINE_int32(completion_tokens, 8, "Completion length.");
DEFINE_int32(minibatches, 1, "Optimizer updates per batch.");
DEFINE_int32(repeats, 7, "Timed rounds.");
DEFINE_string(backend, "cpu", "cpu or cuda.");
DEFINE_string(devices, "", "GPUs for data-parallel training, e.g. 0,1 (cuda backend).");
DEFINE_bool(bf16_gemm, true, "Trunk GEMMs in bf16 on the GPU.");
DEFINE_bool(publish, true,
            "Capture each version and make its image on a publishing thread, as the learner "
            "node does (false: train only, to see what publishing costs the step).");
DEFINE_int32(staging_mb, 64, "GPU policy: MiB per staging buffer of the weight download.");

namespace lightrl {
namespace {

std::vector<TrainGroup> SyntheticBatch(int vocab, uint64_t version, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<TrainGroup> groups(FLAGS_groups);
  for (int g = 0; g < FLAGS_groups; ++g) {
    groups[g].group_id = static_cast<uint64_t>(g);
    for (int t = 0; t < FLAGS_prompt_tokens; ++t) groups[g].prompt.push_back(rng() % 256);
    for (int s = 0; s < FLAGS_group_size; ++s) {
      TrainSample scored;
      for (int t = 0; t < FLAGS_completion_tokens; ++t) {
        scored.sample.tokens.push_back(static_cast<TokenId>(rng() % vocab));
        scored.sample.logprobs.push_back(-std::log(static_cast<float>(vocab)));
        scored.sample.versions.push_back(static_cast<uint32_t>(version));
      }
      scored.reward = s % 2;
      groups[g].samples.push_back(std::move(scored));
    }
  }
  return groups;
}

// The policy the flags ask for.
StatusOr<std::unique_ptr<model::Policy>> BenchPolicy(const model::ModelConfig& config) {
  model::PolicyOptions options;
  if (FLAGS_backend == "cuda") {
    options.backend = model::Backend::kCuda;
    options.precision = model::Precision{.bf16_gemm = FLAGS_bf16_gemm};
  } else if (FLAGS_backend != "cpu") {
    return InvalidArgumentError("--backend must be cpu or cuda");
  }
  std::vector<int64_t> devices;
  for (size_t at = 0; at < FLAGS_devices.size();) {
    const size_t comma = std::min(FLAGS_devices.find(',', at), FLAGS_devices.size());
    devices.push_back(std::stoll(FLAGS_devices.substr(at, comma - at)));
    at = comma + 1;
  }
  if (devices.size() == 1) options.device = static_cast<int>(devices[0]);
  if (devices.size() < 2) return model::CreatePolicy(config, options);
#if LIGHTRL_WITH_NCCL
  return learner::CreateDataParallelPolicy(config, options, devices);
#else
  return FailedPreconditionError("--devices: this build has no NCCL");
#endif
}

}  // namespace
}  // namespace lightrl

int main(int argc, char** argv) {
  using namespace lightrl;
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  auto config = model::LoadModelConfig(FLAGS_model_config);
  CHECK_OK(config.status());
  auto policy = BenchPolicy(*config);
  CHECK_OK(policy.status());
  (*policy)->InitializeRandom(1);
  TrainerConfig trainer_config;
  trainer_config.minibatches = FLAGS_minibatches;
  auto trainer = PolicyTrainer::Create(std::move(*policy), trainer_config);
  CHECK_OK(trainer.status());
  std::vector<double> tokens_per_second, outside, step_ms, forward_ms, backward_ms, optimizer_ms,
      capture_ms, publish_ms;
  using Clock = std::chrono::steady_clock;
  const auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  auto snapshots =
      WeightSnapshots::Create(&(*trainer)->policy(), static_cast<size_t>(FLAGS_staging_mb) << 20);
  CHECK_OK(snapshots.status());
  std::vector<uint8_t> image((*snapshots)->bytes());
  int published = 0;
  uint64_t last_read = 0;
  std::mutex read_mu;
  std::condition_variable read_cv;
  std::thread publisher([&] {
    uint64_t after = 0;
    while (auto read = (*snapshots)->ReadNewest(after, image.data())) {
      after = read->version;
      std::lock_guard<std::mutex> lock(read_mu);
      publish_ms.push_back(read->copy_seconds * 1e3);
      ++published;
      last_read = read->version;
      read_cv.notify_all();
    }
  });
  int wrong = 0;
  for (int r = 0; r <= FLAGS_repeats; ++r) {
    auto batch = SyntheticBatch(config->vocab_size, (*trainer)->version(), 100 + r);
    auto metrics = (*trainer)->TrainRl(batch);
    CHECK_OK(metrics.status());
    if (!std::isfinite(metrics->loss) || !std::isfinite(metrics->grad_norm)) ++wrong;
    auto captured = Clock::now();
    if (FLAGS_publish) (*snapshots)->Capture((*trainer)->version());
    if (r == 0) continue;  // Warm-up.
    capture_ms.push_back(ms_since(captured));
    tokens_per_second.push_back(metrics->tokens / metrics->step_seconds);
    outside.push_back(1.0 - metrics->compute_seconds() / metrics->step_seconds);
    step_ms.push_back(metrics->step_seconds * 1e3);
    forward_ms.push_back(metrics->forward_seconds * 1e3);
    backward_ms.push_back(metrics->backward_seconds * 1e3);
    optimizer_ms.push_back(metrics->optimizer_seconds * 1e3);
  }
  {  // The newest version is always published: wait for it, then stop the publisher.
    std::unique_lock<std::mutex> lock(read_mu);
    read_cv.wait(lock, [&] { return !FLAGS_publish || last_read == (*trainer)->version(); });
  }
  (*snapshots)->Stop();
  publisher.join();
  std::vector<double> before_ms;
  for (int r = 0; r < 3; ++r) {
    auto exported = Clock::now();
    WeightsImage old = ExportWeights((*trainer)->policy().params(), (*trainer)->version());
    old.checksum = Crc32c(old.bytes->data(), old.bytes->size());
    before_ms.push_back(ms_since(exported));
  }
  int64_t tokens = static_cast<int64_t>(FLAGS_groups) * FLAGS_group_size * FLAGS_completion_tokens;
  std::printf(
      "lightrl-bench-learner: %s on %s%s%s, %d groups x %d samples x (%d prompt + %d "
      "completion) tokens, %d update(s) per step, %d rounds (median)\n",
      FLAGS_model_config.c_str(), FLAGS_backend.c_str(), FLAGS_devices.empty() ? "" : " ",
      FLAGS_devices.c_str(), FLAGS_groups, FLAGS_group_size, FLAGS_prompt_tokens,
      FLAGS_completion_tokens, FLAGS_minibatches, FLAGS_repeats);
  std::printf("%-22s %12s %14s %22s %6s\n", "", "step ms", "trained tok/s", "share outside fwd/bwd",
              "wrong");
  double share = Median(outside);
  std::printf("%-22s %12.1f %14.0f %21.2f%% %6d\n", "learner step", Median(step_ms),
              Median(tokens_per_second), 100 * share, wrong);
  std::printf("%-22s %12.1f\n%-22s %12.1f\n%-22s %12.1f\n", "  forward", Median(forward_ms),
              "  backward", Median(backward_ms), "  optimizer", Median(optimizer_ms));
  if (FLAGS_publish) {
    std::printf("%-22s %12.3f  (training thread)\n", "weights capture", Median(capture_ms));
    std::printf("%-22s %12.1f  (publishing thread; %d of %d versions published)\n",
                "  image + checksum", Median(publish_ms), published, FLAGS_repeats + 1);
  }
  std::printf("%-22s %12.1f  (on the training thread: %.2f x the step)\n", "  before (host export)",
              Median(before_ms), Median(before_ms) / Median(step_ms));
  std::printf("(%lld trained tokens per step)\n", static_cast<long long>(tokens));
  bool pass = share < 0.05 && wrong == 0;
  std::printf("learner: outside share %.2f%% (goal < 5%%), wrong %d: %s\n", 100 * share, wrong,
              pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
