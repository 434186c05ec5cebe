// Data-parallel training over NCCL, one process per GPU: the test spawns itself once per
// GPU (LIGHTRL_DP_RANK set), each worker trains its shard of a global batch for a few
// steps and writes the digest of its weights after each step, its first summed gradient and
// its final weights; the parent checks that the replicas are bit-identical after every
// step, that the weights moved, and that the gradient and the weights match single-GPU
// training on the whole batch (up to the order of the gradient sums). Skips with fewer
// than two GPUs.
#include "learner/nccl_data_parallel.h"

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/cuda/optimizer.h"
#include "model/cuda/test_util.h"
#include "weights/nccl_link.h"

extern char** environ;

namespace lightrl::learner {
namespace {

constexpr int kSteps = 3;
constexpr int kSeqsPerRank = 2;
constexpr int kSeqLen = 40;
constexpr double kMaxGradNorm = 1.0;

model::ModelConfig Config() {
  model::ModelConfig c = model::testing::SmallHybridConfig();
  c.router_aux_loss_coef = 0;  // not linear in the batch (see the header)
  return c;
}

// Sequence s of the global batch (the same on every process).
std::vector<int32_t> Sequence(int s, int vocab) {
  std::mt19937 rng(1000 + s);
  std::vector<int32_t> tokens(kSeqLen);
  for (int32_t& t : tokens) t = static_cast<int32_t>(rng() % vocab);
  return tokens;
}

std::unique_ptr<model::CudaModel> NewModel(int device) {
  model::CudaModelOptions options;
  options.precision = {};  // FP32 trunk: DP and single-GPU differ by summation order only
  options.device = device;
  auto m = model::CudaModel::Create(Config(), options);
  CHECK_OK(m.status());
  model::testing::FanInInit(&(*m)->host_params(), 7);
  (*m)->UploadParams();
  return std::move(*m);
}

// One step over sequences [first, first + count) of a global batch of `global` sequences;
// the summed gradient (before clipping) goes to *grads when it is not null.
void Step(model::CudaModel* m, model::CudaAdamW* adamw, int first, int count, int global,
          NcclDataParallel* dp, std::vector<float>* grads) {
  model::PackedBatch batch;
  for (int s = first; s < first + count; ++s) {
    std::vector<uint8_t> mask(kSeqLen, 1);
    mask[0] = 0;
    batch.Append(Sequence(s, m->config().vocab_size), mask);
  }
  const float scale = -1.0f / (global * (kSeqLen - 1));
  auto out = m->Forward(batch);
  CHECK_OK(out.status());
  m->ZeroGrad();
  CHECK_OK(m->Backward(std::vector<float>(batch.num_tokens(), scale)));
  if (dp != nullptr) dp->AllReduceGrads();
  if (grads != nullptr) {
    grads->resize(m->num_params());
    kernels::cuda::CopyToHost(m->context(), m->device_grads(), grads->size(), grads->data());
  }
  adamw->ClipGradNorm(kMaxGradNorm);
  adamw->Step();
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

void WriteFloats(const std::string& path, std::span<const float> values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  CHECK(out.good()) << path;
}

std::vector<float> ReadFloats(const std::string& path, size_t n) {
  std::vector<float> values(n);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(values.data()), n * sizeof(float));
  CHECK(in.good()) << path;
  return values;
}

// ‖a − b‖₂ / ‖b − base‖₂ (base may be empty: zero).
double RelativeDistance(std::span<const float> a, std::span<const float> b,
                        std::span<const float> base = {}) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double ref = double(b[i]) - (base.empty() ? 0.0 : base[i]);
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += ref * ref;
  }
  return std::sqrt(diff / std::max(norm, 1e-300));
}

// The worker side: rank and world from the environment; writes <out>/rank<r>.txt (one
// digest per step), rank<r>.grad (the summed gradient of the first step) and rank<r>.bin
// (the final weights).
int RunWorker() {
  const int rank = std::stoi(Env("LIGHTRL_DP_RANK")), world = std::stoi(Env("LIGHTRL_DP_WORLD"));
  const std::string out = Env("LIGHTRL_DP_OUT");
  auto id = ParseNcclId(Env("LIGHTRL_DP_ID"));
  CHECK_OK(id.status());
  auto m = NewModel(rank);
  auto adamw = model::CudaAdamW::Create(m.get(), {});
  CHECK_OK(adamw.status());
  auto dp = NcclDataParallel::Create(m.get(), *id, rank, world);
  CHECK_OK(dp.status());
  (*dp)->BroadcastParams(0);
  std::ofstream digests(out + "/rank" + std::to_string(rank) + ".txt");
  digests << (*dp)->ParamsDigest() << "\n";
  const std::string prefix = out + "/rank" + std::to_string(rank);
  for (int step = 0; step < kSteps; ++step) {
    std::vector<float> grads;
    Step(m.get(), adamw->get(), rank * kSeqsPerRank, kSeqsPerRank, world * kSeqsPerRank, dp->get(),
         step == 0 ? &grads : nullptr);
    if (step == 0) WriteFloats(prefix + ".grad", grads);
    digests << (*dp)->ParamsDigest() << "\n";
  }
  m->DownloadParams();
  WriteFloats(prefix + ".bin", {m->host_params().data(), m->host_params().size()});
  return digests ? 0 : 1;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(NcclIdTest, HexRoundTripAndBadText) {
  ncclUniqueId id;
  for (size_t i = 0; i < sizeof(id.internal); ++i) id.internal[i] = static_cast<char>(i * 37);
  const std::string hex = NcclIdToHex(id);
  auto back = ParseNcclId(hex);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(std::memcmp(back->internal, id.internal, sizeof(id.internal)), 0);

  const auto short_id = ParseNcclId(hex.substr(1));
  EXPECT_EQ(short_id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_id.status().message().find("hex digits"), std::string::npos);
  std::string bad = hex;
  bad[5] = 'g';
  const auto bad_digit = ParseNcclId(bad);
  EXPECT_EQ(bad_digit.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_digit.status().message().find("'g' at 5"), std::string::npos);
}

TEST(NcclDataParallelTest, RankOutsideTheWorldIsAnError) {
  ncclUniqueId id{};
  for (const auto& [rank, world] : {std::pair{2, 2}, std::pair{-1, 2}, std::pair{0, 0}}) {
    // Checked before the model or NCCL is touched.
    const auto dp = NcclDataParallel::Create(nullptr, id, rank, world);
    EXPECT_EQ(dp.status().code(), StatusCode::kInvalidArgument) << rank << "/" << world;
    EXPECT_NE(dp.status().message().find("outside a world"), std::string::npos);
  }
}

TEST(NcclDataParallelTest, ReplicasStayIdenticalAndMatchOneGpu) {
  if (!Env("LIGHTRL_DP_RANK").empty()) {
    std::exit(RunWorker());  // a spawned worker: no test of its own
  }
  std::string why;
  const int gpus = kernels::cuda::DeviceCount(&why);
  if (gpus < 2) {
    GTEST_SKIP() << "needs two or more GPUs (found " << gpus << (why.empty() ? "" : ": " + why)
                 << "); runs on a multi-GPU machine through scripts/test-gpu";
  }
  auto id = NewNcclId();
  ASSERT_TRUE(id.ok()) << id.status();
  const std::string out = ::testing::TempDir() + "/nccl_dp_" + std::to_string(getpid());
  std::filesystem::create_directories(out);
  std::vector<pid_t> workers;
  for (int rank = 0; rank < gpus; ++rank) {
    std::vector<std::string> env_strings = {
        "LIGHTRL_DP_RANK=" + std::to_string(rank), "LIGHTRL_DP_WORLD=" + std::to_string(gpus),
        "LIGHTRL_DP_OUT=" + out, "LIGHTRL_DP_ID=" + NcclIdToHex(*id), "NCCL_NVLS_ENABLE=0"};
    for (char** e = environ; *e != nullptr; ++e) env_strings.push_back(*e);
    std::vector<char*> env;
    for (std::string& s : env_strings) env.push_back(s.data());
    env.push_back(nullptr);
    std::string exe = "/proc/self/exe",
                filter = "--gtest_filter=NcclDataParallelTest.ReplicasStayIdenticalAndMatchOneGpu";
    char* argv[] = {exe.data(), filter.data(), nullptr};
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, env.data()), 0);
    workers.push_back(pid);
  }
  for (const pid_t pid : workers) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker status " << status;
  }
  const std::vector<std::string> rank0 = Lines(out + "/rank0.txt");
  ASSERT_EQ(rank0.size(), static_cast<size_t>(kSteps + 1));
  for (int rank = 1; rank < gpus; ++rank) {
    EXPECT_EQ(Lines(out + "/rank" + std::to_string(rank) + ".txt"), rank0)
        << "rank " << rank << " diverged from rank 0";
  }
  EXPECT_NE(rank0.front(), rank0.back()) << "the weights did not move";

  // Single-GPU training on the whole batch: the same summed gradient (up to the order of
  // the sums) and, after the steps, the same weights up to that rounding carried through
  // AdamW (which can flip the sign of a near-zero update).
  auto single = NewModel(0);
  const std::vector<float> initial(single->host_params().data(),
                                   single->host_params().data() + single->num_params());
  auto adamw = model::CudaAdamW::Create(single.get(), {});
  ASSERT_TRUE(adamw.ok());
  std::vector<float> single_grads;
  for (int step = 0; step < kSteps; ++step) {
    Step(single.get(), adamw->get(), 0, gpus * kSeqsPerRank, gpus * kSeqsPerRank, nullptr,
         step == 0 ? &single_grads : nullptr);
  }
  single->DownloadParams();
  const size_t n = single->num_params();
  const std::vector<float> dp_grads = ReadFloats(out + "/rank0.grad", n);
  const std::vector<float> dp_weights = ReadFloats(out + "/rank0.bin", n);
  const std::span<const float> single_weights(single->host_params().data(), n);
  const double grad_error = RelativeDistance(dp_grads, single_grads);
  const double weight_error = RelativeDistance(dp_weights, single_weights, initial);
  std::printf(
      "%d GPUs, %d steps: replicas identical; summed gradient vs one GPU %.3g (rel. "
      "L2); weights vs one GPU %.3g of the distance moved\n",
      gpus, kSteps, grad_error, weight_error);
  EXPECT_LE(grad_error, 1e-5);
  EXPECT_LE(weight_error, 1e-2);
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace lightrl::learner
