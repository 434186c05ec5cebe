// lightrl-bench-model: training and generation throughput of the CPU policy model.
//
//   lightrl-bench-model [--configs=DIR] [--models=demo,20m] [--repeats=5] [--warmup=2]
//                       [--train_seqs=8] [--train_len=256] [--gen_batch=16]
//                       [--gen_prompt=32] [--gen_tokens=64] [--threads=N]
// Exits 1 if any result is wrong.
//
// For each model config: training tokens/s (forward + backward over a packed batch) and
// generation tokens/s (continuous-batching decode), each the median of --repeats timed runs
// after --warmup untimed ones; the model FLOP/s they imply as a fraction of the sgemm peak
// measured in the same run (a square FP32 GEMM through the same Gemm() path); and a count of
// wrong results: non-finite log-probs, losses or gradient norms in training, and generated
// tokens whose log-prob differs from the training recompute by more than 1e-5.
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "core/logging.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "model/config.h"
#include "model/generator.h"
#include "model/model.h"
#include "model/optimizer.h"

DEFINE_string(configs, LIGHTRL_BENCH_CONFIG_DIR, "Folder of the model configs.");
DEFINE_string(models, "demo,20m", "Comma-separated config names (without .json).");
DEFINE_int32(repeats, 5, "Timed runs per measurement (the median is reported).");
DEFINE_int32(warmup, 2, "Untimed runs before the timed ones.");
DEFINE_int32(threads, 0, "Threads of the kernels' pool (0: the hardware threads).");
DEFINE_int32(train_seqs, 8, "Sequences per training batch.");
DEFINE_int32(train_len, 256, "Tokens per training sequence.");
DEFINE_int32(gen_batch, 16, "Generation requests (all decoded together).");
DEFINE_int32(gen_prompt, 32, "Prompt tokens per generation request.");
DEFINE_int32(gen_tokens, 64, "Generated tokens per request.");

namespace lightrl {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string configs;
  std::vector<std::string> models;
  int repeats = 5, warmup = 2;
  int train_seqs = 8, train_len = 256;
  int gen_batch = 16, gen_prompt = 32, gen_tokens = 64;
};

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `body` warmup + repeats times; returns the median seconds of the timed runs.
template <typename Body>
double TimeMedian(const Options& o, Body&& body) {
  for (int i = 0; i < o.warmup; ++i) body();
  std::vector<double> times;
  for (int i = 0; i < o.repeats; ++i) {
    const auto start = Clock::now();
    body();
    times.push_back(Seconds(start));
  }
  return Median(times);
}

double SgemmPeak(const Options& o) {
  const int n = 2048;
  std::vector<float> a(static_cast<size_t>(n) * n), b(a.size()), c(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<float>((i * 7) % 13) * 0.1f;
    b[i] = static_cast<float>((i * 5) % 11) * 0.1f;
  }
  const double seconds = TimeMedian(o, [&] {
    kernels::Gemm<float>(kernels::Transpose::kNo, kernels::Transpose::kNo, n, n, n, 1.0f, a.data(),
                         n, b.data(), n, 0.0f, c.data(), n);
  });
  return 2.0 * n * n * n / seconds;
}

// Forward FLOPs of one token that attends to `context` tokens (itself included): every
// matrix product plus the attention cores.
double TokenFlops(const model::ModelConfig& c, double context) {
  const double h = c.hidden_size, inner = double(c.num_attention_heads) * c.head_dim;
  const double kv = double(c.num_key_value_heads) * c.head_dim, d = c.head_dim;
  const double heads = c.num_attention_heads;
  const double moe =
      2 * h * c.num_local_experts + c.num_experts_per_tok * 6 * h * c.intermediate_size;
  double flops = 2 * h * c.vocab_size;
  for (model::AttentionType t : c.layer_types) {
    if (t == model::AttentionType::kLightning) {
      const double in_block = std::min<double>(c.block_size, context) / 2.0 + 0.5;
      flops += 2 * h * 4 * inner + 2 * inner * h + heads * (4 * d * in_block + 4 * d * d);
    } else {
      flops += 2 * h * (inner + 2 * kv) + 2 * inner * h + heads * 4 * d * context;
    }
    flops += moe;
  }
  return flops;
}

// Forward FLOPs of a sequence of `len` tokens (the first one has no target, so no head);
// a training step counts 3× this.
double ForwardFlops(const model::ModelConfig& c, int len) {
  return len * TokenFlops(c, (len + 1) / 2.0) - 2.0 * c.hidden_size * c.vocab_size;
}

struct TrainResult {
  double tokens_per_s = 0, flops_per_s = 0, optimizer_ms = 0;
  int wrong = 0;
};

TrainResult BenchTraining(model::Model& m, const Options& o) {
  const model::ModelConfig& c = m.config();
  model::PackedBatch batch;
  for (int s = 0; s < o.train_seqs; ++s) {
    std::vector<int32_t> tokens(o.train_len);
    std::vector<uint8_t> mask(o.train_len, 1);
    mask[0] = 0;
    for (int i = 0; i < o.train_len; ++i) tokens[i] = (i * 31 + s * 17 + i * i) % 256;
    batch.Append(tokens, mask);
  }
  std::vector<float> g(batch.num_tokens(), -1.0f / batch.num_tokens());
  TrainResult r;
  const double seconds = TimeMedian(o, [&] {
    auto out = m.Forward(batch);
    double loss = 0;
    for (float lp : out->logprobs) loss -= lp;
    m.ZeroGrad();
    const bool ok = out.ok() && std::isfinite(loss) && m.Backward(g).ok();
    double norm = 0;
    for (size_t i = 0; i < m.grads().size(); i += 97)
      norm += double(m.grads().data()[i]) * m.grads().data()[i];
    if (!ok || !std::isfinite(norm) || loss <= 0) ++r.wrong;
  });
  // The forward-only recompute must reproduce the kept forward's log-probs exactly.
  auto kept = m.Forward(batch);
  auto recompute = m.Forward(batch, {.keep_activations = false});
  if (kept->logprobs != recompute->logprobs) ++r.wrong;
  r.tokens_per_s = batch.num_tokens() / seconds;
  r.flops_per_s = 3 * ForwardFlops(c, o.train_len) * o.train_seqs / seconds;
  model::AdamW optimizer(m.params().layout(), {});
  r.optimizer_ms = 1e3 * TimeMedian(o, [&] { optimizer.Step(m.params(), m.grads()); });
  return r;
}

struct GenResult {
  double tokens_per_s = 0, flops_per_s = 0, max_diff = 0;
  int tokens = 0, bitwise = 0, wrong = 0;
};

GenResult BenchGeneration(model::Policy& m, const Options& o) {
  GenResult r;
  std::map<uint64_t, std::vector<int32_t>> prompts, completions;
  std::map<uint64_t, std::vector<float>> logprobs;
  uint64_t next_id = 0;
  const double seconds = TimeMedian(o, [&] {
    auto created = model::Generator::Create(&m, {.max_batch = o.gen_batch, .eos_token_id = -1});
    CHECK_OK(created.status());
    model::Generator& gen = **created;
    prompts.clear();
    completions.clear();
    logprobs.clear();
    for (int i = 0; i < o.gen_batch; ++i) {
      model::SamplingParams p;
      p.max_tokens = o.gen_tokens;
      p.seed = next_id;
      std::vector<int32_t> prompt(o.gen_prompt);
      for (int t = 0; t < o.gen_prompt; ++t) prompt[t] = (t * 13 + i * 7) % 256;
      prompts[next_id] = prompt;
      if (!gen.Add({next_id++, prompt, p}).ok()) ++r.wrong;
    }
    while (gen.active() + gen.queued() > 0) {
      auto out = gen.Step();
      for (const model::StepOutput& s : *out) {
        completions[s.id].push_back(s.token);
        logprobs[s.id].push_back(s.model_logprob);
      }
    }
  });
  model::PackedBatch batch;
  for (const auto& [id, prompt] : prompts) {
    std::vector<int32_t> seq = prompt;
    seq.insert(seq.end(), completions[id].begin(), completions[id].end());
    std::vector<uint8_t> mask(seq.size(), 0);
    std::fill(mask.begin() + prompt.size(), mask.end(), 1);
    batch.Append(seq, mask);
  }
  auto out = m.Forward(batch, {.keep_activations = false});
  size_t s = 0;
  for (const auto& [id, prompt] : prompts) {
    const int start = batch.seq_offsets[s++] + static_cast<int>(prompt.size());
    for (size_t t = 0; t < completions[id].size(); ++t) {
      const double diff = std::abs(double(logprobs[id][t]) - out->logprobs[start + t]);
      r.max_diff = std::max(r.max_diff, diff);
      r.bitwise += diff == 0;
      r.wrong += !(diff <= 1e-5);
      ++r.tokens;
    }
  }
  r.tokens_per_s = r.tokens / seconds;
  const double prompt_flops = ForwardFlops(m.config(), o.gen_prompt) * o.gen_batch;
  const double decode_flops = r.tokens * TokenFlops(m.config(), o.gen_prompt + o.gen_tokens / 2.0);
  r.flops_per_s = (prompt_flops + decode_flops) / seconds;
  return r;
}

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    parts.push_back(
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

int Main() {
  const Options o{FLAGS_configs,   Split(FLAGS_models), FLAGS_repeats,
                  FLAGS_warmup,    FLAGS_train_seqs,    FLAGS_train_len,
                  FLAGS_gen_batch, FLAGS_gen_prompt,    FLAGS_gen_tokens};
  if (o.repeats < 1 || o.warmup < 0 || o.train_seqs < 1 || o.train_len < 2 || o.gen_batch < 1 ||
      o.gen_prompt < 1 || o.gen_tokens < 1) {
    std::fprintf(stderr, "every size flag must be positive (train_len >= 2)\n");
    return 2;
  }
  if (FLAGS_threads > 0) kernels::SetNumThreads(FLAGS_threads);
  const double peak = SgemmPeak(o);
  std::printf("threads %d, sgemm 2048^3 peak %.1f GFLOP/s (median of %d)\n", kernels::NumThreads(),
              peak / 1e9, o.repeats);
  std::printf("%-6s %9s | %12s %9s %8s %6s | %10s %9s %8s %14s %10s %6s | %9s\n", "model", "params",
              "train tok/s", "GFLOP/s", "of peak", "wrong", "gen tok/s", "GFLOP/s", "of peak",
              "max|dlogprob|", "bitwise", "wrong", "adamw ms");
  int total_wrong = 0;
  for (const std::string& name : o.models) {
    auto config = model::LoadModelConfig(o.configs + "/" + name + ".json");
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
      return 1;
    }
    auto m = model::Model::Create(*config);
    CHECK_OK(m.status());
    (*m)->InitializeRandom(1);
    const size_t params = (*m)->params().size();
    const TrainResult train = BenchTraining(**m, o);
    auto policy = model::MakeCpuPolicy(std::move(*m));
    const GenResult gen = BenchGeneration(*policy, o);
    total_wrong += train.wrong + gen.wrong;
    std::printf(
        "%-6s %8.2fM | %12.0f %9.1f %8.3f %6d | %10.0f %9.1f %8.3f %14.3g %5d/%-4d %6d | %9.1f\n",
        name.c_str(), params / 1e6, train.tokens_per_s, train.flops_per_s / 1e9,
        train.flops_per_s / peak, train.wrong, gen.tokens_per_s, gen.flops_per_s / 1e9,
        gen.flops_per_s / peak, gen.max_diff, gen.bitwise, gen.tokens, gen.wrong,
        train.optimizer_ms);
  }
  return total_wrong == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lightrl

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return lightrl::Main();
}
