#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lightrl::model {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Index of the first entry whose running sum of weights exceeds target (the last one if
// rounding leaves target at or above the total).
template <typename Weight>
size_t InverseCdf(size_t n, double target, Weight&& weight) {
  double cumulative = 0;
  for (size_t i = 0; i < n; ++i) {
    cumulative += weight(i);
    if (target < cumulative) return i;
  }
  return n - 1;
}

}  // namespace

Status ValidateSamplingParams(const SamplingParams& p) {
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature)) {
    return InvalidArgumentError("sampling: temperature must be finite and >= 0");
  }
  if (!(p.top_p > 0 && p.top_p <= 1))
    return InvalidArgumentError("sampling: top_p must be in (0, 1]");
  if (p.top_k < 0) return InvalidArgumentError("sampling: top_k must be >= 0");
  if (p.max_tokens < 1) return InvalidArgumentError("sampling: max_tokens must be >= 1");
  if (p.repetition_k < 0) return InvalidArgumentError("sampling: repetition_k must be >= 0");
  if (!(p.repetition_p >= 0 && p.repetition_p <= 1)) {
    return InvalidArgumentError("sampling: repetition_p must be in [0, 1]");
  }
  for (const std::string& stop : p.stop_strings) {
    if (stop.empty()) return InvalidArgumentError("sampling: empty stop string");
  }
  return Status::Ok();
}

double SampleUniform(uint64_t seed, uint64_t index) {
  const uint64_t bits = SplitMix64(SplitMix64(seed) ^ (index * 0xd1b54a32d192ed03ull + 1));
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

SampledToken SampleToken(float* logits, int vocab, const SamplingParams& params, double u,
                         const kernels::LmHeadOptions& head) {
  const bool greedy = params.temperature == 0;
  kernels::LmHeadOptions options = head;
  options.inv_temperature = greedy ? 1.0 : 1.0 / params.temperature;
  kernels::ScaleLogits(logits, static_cast<size_t>(vocab), options.inv_temperature);
  const float lse = kernels::RowLse(logits, vocab, options).Lse();
  SampledToken out;
  if (greedy) {
    out.token = static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
    out.model_logprob = logits[out.token] - lse;
    return out;
  }
  auto prob = [&](size_t i) { return std::exp(static_cast<double>(logits[i]) - lse); };
  const bool truncate = params.top_k > 0 || params.top_p < 1;
  if (!truncate) {
    double total = 0;
    for (int i = 0; i < vocab; ++i) total += prob(i);
    out.token = static_cast<int32_t>(InverseCdf(vocab, u * total, prob));
    out.model_logprob = out.logprob = logits[out.token] - lse;
    return out;
  }
  std::vector<int32_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  size_t kept = params.top_k > 0 ? std::min<size_t>(params.top_k, vocab) : vocab;
  double mass = 0;
  for (size_t i = 0; i < kept; ++i) {
    mass += prob(order[i]);
    if (params.top_p < 1 && mass >= params.top_p) {
      kept = i + 1;
      break;
    }
  }
  mass = 0;
  for (size_t i = 0; i < kept; ++i) mass += prob(order[i]);
  const size_t pick = InverseCdf(kept, u * mass, [&](size_t i) { return prob(order[i]); });
  out.token = order[pick];
  out.model_logprob = logits[out.token] - lse;
  out.logprob = static_cast<float>(std::log(prob(out.token) / mass));
  return out;
}

}  // namespace lightrl::model
