// lightrl-bench-gpu-model: training and generation throughput of the CUDA policy model
// against transformers' MiniMaxForCausalLM (PyTorch, same config, same GPU, same run).
//
//   lightrl-bench-gpu-model [--config=bench/gpu_500m.json] [--repeats=3] [--warmup=1]
//                           [--train_seqs=8] [--train_len=2048] [--gen_batch=64]
//                           [--gen_prompt=128] [--gen_tokens=128]
//                           [--peer=bench/gpu_model_peer.py] [--python=python3]
// Exits 1 if any result is wrong.
//
// Precision on both sides: FP32 weights, bf16 trunk GEMMs with FP32 accumulation (ours:
// CudaModel's default; transformers: torch.autocast(bfloat16)). Ours runs three times: with
// the FP32 LM head as bf16x3 tensor-core products (its default), with the FP32 head as plain
// FP32 GEMMs (no tensor cores) and with a bf16 head (what autocast gives transformers).
// Training: tokens/s of one forward + backward over train_seqs × train_len tokens (a packed
// batch here, a [seqs, len] batch there), the loss the mean negative log-prob. Generation:
// tokens/s of gen_batch greedy completions of gen_tokens after gen_prompt-token prompts,
// prefill included (here: Prefill, then DecodeStep with the logits copied to the host and
// the argmax taken there (page-locked buffer, rows over the kernels' thread pool); there:
// model.generate). The model's share alone is reported too: one DecodeStep of every slot
// with the logits left on the device. Each figure is the median of --repeats
// after --warmup. Wrong results: a non-finite loss or gradient, a generated token outside
// the vocabulary, timed greedy runs that do not repeat the first one's tokens, or a greedy
// token whose log-prob in a training recompute of the generated sequences differs from its
// decoding-time log-prob by more than kMaxGreedyLogprobDiff.
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/device.h"
#include "kernels/parallel.h"
#include "model/config.h"
#include "model/cuda/model.h"

DEFINE_string(config, "bench/gpu_500m.json", "The model's config.json.");
DEFINE_int32(repeats, 3, "Timed runs per measurement (the median is reported).");
DEFINE_int32(warmup, 1, "Untimed runs before the timed ones.");
DEFINE_int32(train_seqs, 8, "Sequences per training batch.");
DEFINE_int32(train_len, 2048, "Tokens per training sequence.");
DEFINE_int32(gen_batch, 64, "Generation requests (decoded together).");
DEFINE_int32(gen_prompt, 128, "Prompt tokens per request.");
DEFINE_int32(gen_tokens, 128, "Generated tokens per request.");
DEFINE_string(peer, "bench/gpu_model_peer.py", "The transformers peer script.");
DEFINE_string(python, "python3", "Python interpreter with torch and transformers.");

namespace lightrl {
namespace {

using Clock = std::chrono::steady_clock;

double MedianSeconds(const std::function<void()>& fn) {
  for (int i = 0; i < FLAGS_warmup; ++i) fn();
  std::vector<double> times;
  for (int i = 0; i < FLAGS_repeats; ++i) {
    const auto start = Clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::vector<int32_t> RandomTokens(int n, int vocab, std::mt19937* rng) {
  std::vector<int32_t> tokens(n);
  for (int32_t& t : tokens) t = static_cast<int32_t>((*rng)() % vocab);
  return tokens;
}

struct TrainResult {
  double tokens_per_s = 0;
  int wrong = 0;
};

TrainResult BenchTraining(model::CudaModel& m) {
  const int vocab = m.config().vocab_size;
  std::mt19937 rng(5);
  model::PackedBatch batch;
  for (int s = 0; s < FLAGS_train_seqs; ++s) {
    std::vector<uint8_t> mask(FLAGS_train_len, 1);
    mask[0] = 0;
    batch.Append(RandomTokens(FLAGS_train_len, vocab, &rng), mask);
  }
  const int targets = FLAGS_train_seqs * (FLAGS_train_len - 1);
  const std::vector<float> dlogprob(batch.num_tokens(), -1.0f / targets);
  TrainResult r;
  const double seconds = MedianSeconds([&] {
    auto out = m.Forward(batch);
    double loss = 0;
    if (out.ok()) {
      for (float lp : out->logprobs) loss -= lp;
    }
    m.ZeroGrad();
    const bool ok = out.ok() && std::isfinite(loss) && m.Backward(dlogprob).ok();
    m.context().Synchronize();
    r.wrong += !ok;
  });
  model::ParamArena<float> grads(m.host_params().layout());
  m.DownloadGrads(&grads);
  double norm = 0;
  for (size_t i = 0; i < grads.size(); ++i) norm += double(grads.data()[i]) * grads.data()[i];
  r.wrong += !(std::isfinite(norm) && norm > 0);
  r.tokens_per_s = batch.num_tokens() / seconds;
  return r;
}

// The bf16 trunk rounds decoding and training GEMMs of different shapes differently; a
// greedy token's log-prob may move by bf16 noise, not by more than this.
constexpr double kMaxGreedyLogprobDiff = 0.5;

struct GenResult {
  double tokens_per_s = 0, max_diff = 0, mean_diff = 0, step_ms = 0;
  int wrong = 0;
};

// Greedy decoding of `requests` into their slots: the completions and, when `logprobs` is
// not null, each chosen token's log-prob (log-softmax in double; left out of timed runs).
void Generate(model::CudaModel& m, const std::vector<model::PrefillRequest>& requests,
              std::vector<std::vector<int32_t>>* completions,
              std::vector<std::vector<float>>* logprobs) {
  const int vocab = m.config().vocab_size, batch = static_cast<int>(requests.size());
  std::vector<int32_t> slots(batch), next(batch);
  for (int s = 0; s < batch; ++s) slots[s] = s;
  std::vector<float> logits(static_cast<size_t>(batch) * vocab);
  // Page-locked, so the per-step logits copy runs at the bus's speed.
  LIGHTRL_CUDA_CHECK(
      cudaHostRegister(logits.data(), logits.size() * sizeof(float), cudaHostRegisterDefault));
  completions->assign(batch, {});
  if (logprobs != nullptr) logprobs->assign(batch, {});
  CHECK_OK(m.Prefill(requests, logits.data()));
  std::vector<float> chosen_logprob(batch);
  for (int step = 0; step < FLAGS_gen_tokens; ++step) {
    kernels::ParallelFor(batch, vocab, [&](int64_t begin, int64_t end) {
      for (int64_t s = begin; s < end; ++s) {
        const float* row = logits.data() + static_cast<size_t>(s) * vocab;
        next[s] = static_cast<int32_t>(std::max_element(row, row + vocab) - row);
        if (logprobs == nullptr) continue;
        double sum = 0;
        for (int v = 0; v < vocab; ++v) sum += std::exp(double(row[v]) - row[next[s]]);
        chosen_logprob[s] = static_cast<float>(-std::log(sum));
      }
    });
    for (int s = 0; s < batch; ++s) {
      (*completions)[s].push_back(next[s]);
      if (logprobs != nullptr) (*logprobs)[s].push_back(chosen_logprob[s]);
    }
    if (step + 1 < FLAGS_gen_tokens) CHECK_OK(m.DecodeStep(next, slots, logits.data()));
  }
  LIGHTRL_CUDA_CHECK(cudaHostUnregister(logits.data()));
}

// Median milliseconds of one DecodeStep of every slot with the logits left on the device
// (the model's share of a generation step; the slots must hold prompts).
double DecodeStepMs(model::CudaModel& m, int batch) {
  std::vector<int32_t> slots(batch), tokens(batch, 3);
  for (int s = 0; s < batch; ++s) slots[s] = s;
  const double seconds = MedianSeconds([&] {
    CHECK_OK(m.DecodeStep(tokens, slots, nullptr));
    m.context().Synchronize();
  });
  return seconds * 1e3;
}

GenResult BenchGeneration(model::CudaModel& m) {
  const int vocab = m.config().vocab_size, batch = FLAGS_gen_batch;
  GenResult r;
  CHECK_OK(m.ReserveDecoding(batch, FLAGS_gen_prompt + FLAGS_gen_tokens));
  std::mt19937 rng(6);
  std::vector<model::PrefillRequest> requests;
  for (int s = 0; s < batch; ++s) {
    requests.push_back({s, RandomTokens(FLAGS_gen_prompt, vocab, &rng)});
  }
  std::vector<std::vector<int32_t>> completions, timed_completions;
  std::vector<std::vector<float>> logprobs;
  Generate(m, requests, &completions, &logprobs);
  const double seconds = MedianSeconds([&] { Generate(m, requests, &timed_completions, nullptr); });
  r.wrong += timed_completions != completions;  // greedy decoding is deterministic
  model::PackedBatch recompute;
  std::vector<float> decoded;
  for (int s = 0; s < batch; ++s) {
    std::vector<int32_t> seq = requests[s].prompt;
    seq.insert(seq.end(), completions[s].begin(), completions[s].end());
    std::vector<uint8_t> mask(seq.size(), 0);
    std::fill(mask.begin() + FLAGS_gen_prompt, mask.end(), 1);
    recompute.Append(seq, mask);
    decoded.insert(decoded.end(), logprobs[s].begin(), logprobs[s].end());
    for (int32_t t : completions[s]) r.wrong += t < 0 || t >= vocab;
  }
  auto out = m.Forward(recompute, {.keep_activations = false});
  CHECK_OK(out.status());
  size_t k = 0;
  double sum = 0;
  for (int j = 0; j < recompute.num_tokens(); ++j) {
    if (!recompute.loss_mask[j]) continue;
    const double diff = std::abs(double(out->logprobs[j]) - decoded[k++]);
    r.max_diff = std::max(r.max_diff, std::isfinite(diff) ? diff : INFINITY);
    sum += diff;
    r.wrong += !(diff <= kMaxGreedyLogprobDiff);
  }
  r.mean_diff = sum / std::max<size_t>(k, 1);
  CHECK_OK(m.Prefill(requests, nullptr));
  r.step_ms = DecodeStepMs(m, batch);
  r.tokens_per_s = double(batch) * FLAGS_gen_tokens / seconds;
  return r;
}

// {training tokens/s, generation tokens/s} of the peer, or {-1, -1} when it cannot run.
std::pair<double, double> PeerThroughput() {
  const std::string command =
      FLAGS_python + " " + FLAGS_peer + " --config " + FLAGS_config + " --train_seqs " +
      std::to_string(FLAGS_train_seqs) + " --train_len " + std::to_string(FLAGS_train_len) +
      " --gen_batch " + std::to_string(FLAGS_gen_batch) + " --gen_prompt " +
      std::to_string(FLAGS_gen_prompt) + " --gen_tokens " + std::to_string(FLAGS_gen_tokens) +
      " --repeats " + std::to_string(FLAGS_repeats) + " --warmup " + std::to_string(FLAGS_warmup);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, -1};
  double train = -1, gen = -1;
  char line[512];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::fputs(line, stdout);
    std::sscanf(line, "peer train_tokens_per_s=%lf gen_tokens_per_s=%lf", &train, &gen);
  }
  if (pclose(pipe) != 0) return {-1, -1};
  return {train, gen};
}

int Run() {
  std::string why;
  if (kernels::cuda::DeviceCount(&why) == 0) {
    std::fprintf(stderr, "lightrl-bench-gpu-model: no CUDA device (%s)\n", why.c_str());
    return 2;
  }
  auto config = model::LoadModelConfig(FLAGS_config);
  CHECK_OK(config.status());
  auto m = model::CudaModel::Create(*config);
  CHECK_OK(m.status());
  (*m)->InitializeRandom(1);
  const auto info = kernels::cuda::GetDeviceInfo(0);
  CHECK_OK(info.status());
  std::printf("device: %s; model %s: %.1fM parameters\n", info->name.c_str(), FLAGS_config.c_str(),
              (*m)->num_params() / 1e6);
  struct Row {
    const char* head;
    TrainResult train;
    GenResult gen;
  };
  struct Head {
    const char* name;
    bool bf16;
    kernels::cuda::GemmPrecision fp32_gemm;
  };
  std::vector<Row> rows;
  for (const Head& head :
       {Head{"FP32 head (bf16x3)", false, kernels::cuda::GemmPrecision::kBf16x3},
        Head{"FP32 head (plain FP32)", false, kernels::cuda::GemmPrecision::kFp32},
        Head{"bf16 head", true, kernels::cuda::GemmPrecision::kBf16x3}}) {
    (*m)->set_precision({.bf16_gemm = true, .bf16_lm_head = head.bf16});
    (*m)->set_fp32_head_gemm(head.fp32_gemm);
    rows.push_back({head.name, BenchTraining(**m), BenchGeneration(**m)});
  }
  m->reset();  // the peer needs the memory
  const auto [peer_train, peer_gen] = PeerThroughput();
  const auto ratio = [](double ours, double peer) {
    return peer > 0 ? std::to_string(ours / peer).substr(0, 6) : std::string("n/a");
  };
  std::printf("%-50s %12s %14s %8s\n", "measure (lightrl: bf16 trunk)", "lightrl", "transformers",
              "ratio");
  int wrong = 0;
  for (const Row& row : rows) {
    std::printf("%-50s %12.0f %14.0f %8s\n",
                (std::string("training tokens/s (fwd+bwd), ") + row.head).c_str(),
                row.train.tokens_per_s, peer_train,
                ratio(row.train.tokens_per_s, peer_train).c_str());
    std::printf("%-50s %12.0f %14.0f %8s\n",
                (std::string("generation tokens/s (greedy), ") + row.head).c_str(),
                row.gen.tokens_per_s, peer_gen, ratio(row.gen.tokens_per_s, peer_gen).c_str());
    std::printf(
        "%s: generation vs training recompute |dlogprob| max %.3g mean %.3g; "
        "DecodeStep of %d slots (device logits) %.2f ms = %.0f tokens/s\n",
        row.head, row.gen.max_diff, row.gen.mean_diff, FLAGS_gen_batch, row.gen.step_ms,
        FLAGS_gen_batch / row.gen.step_ms * 1e3);
    wrong += row.train.wrong + row.gen.wrong;
  }
  std::printf("model wrong results: %d\n", wrong);
  return wrong == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lightrl

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return lightrl::Run();
}
