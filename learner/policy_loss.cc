#include "learner/policy_loss.h"

#include <algorithm>
#include <cmath>

namespace lightrl {

Status ParsePolicyLossConfig(const ConfigNode& node, PolicyLossConfig* out) {
  RETURN_IF_ERROR(
      node.ExpectOnlyKeys({"algorithm", "normalization", "eps_low", "eps_high", "unified_mask",
                           "mask_eps_low", "mask_eps_high", "tis_cap", "kl_coef"}));
  std::string algorithm = "cispo";
  RETURN_IF_ERROR(
      node.OptionalChoice("algorithm", &algorithm, {"cispo", "grpo", "dapo", "reinforce"}));
  // Each algorithm brings its customary clip range and normalization; explicit keys override.
  std::string normalization = "token";
  if (algorithm == "cispo") {
    *out = PolicyLossConfig();
  } else if (algorithm == "grpo") {
    out->algorithm = PolicyAlgorithm::kGrpo;
    out->eps_low = 0.2;
    out->eps_high = 0.2;
    normalization = "sequence";
  } else if (algorithm == "dapo") {
    out->algorithm = PolicyAlgorithm::kDapo;
    out->eps_low = 0.2;
    out->eps_high = 0.28;
  } else {
    out->algorithm = PolicyAlgorithm::kReinforce;
  }
  RETURN_IF_ERROR(node.OptionalChoice("normalization", &normalization, {"token", "sequence"}));
  out->normalization =
      normalization == "token" ? LossNormalization::kToken : LossNormalization::kSequence;
  RETURN_IF_ERROR(node.Optional("eps_low", &out->eps_low, 0.0, 1.0));
  RETURN_IF_ERROR(node.Optional("eps_high", &out->eps_high, 0.0, 1e6));
  RETURN_IF_ERROR(node.Optional("unified_mask", &out->unified_mask));
  if (out->unified_mask && out->algorithm != PolicyAlgorithm::kCispo) {
    return node.Error("unified_mask", "applies to the cispo algorithm only");
  }
  RETURN_IF_ERROR(node.Optional("mask_eps_low", &out->mask_eps_low, 0.0, 1.0));
  RETURN_IF_ERROR(node.Optional("mask_eps_high", &out->mask_eps_high, 0.0, 1e6));
  RETURN_IF_ERROR(node.Optional("tis_cap", &out->tis_cap, 0.0, 1e6));
  RETURN_IF_ERROR(node.Optional("kl_coef", &out->kl_coef, 0.0, 1e6));
  return Status::Ok();
}

StatusOr<PolicyLossResult> ComputePolicyLoss(const PolicyLossConfig& config,
                                             const PolicyLossInputs& inputs) {
  const size_t n = inputs.logprobs.size();
  if (inputs.anchor_logprobs.size() != n) {
    return InvalidArgumentError(
        "anchor log-probs: " + std::to_string(inputs.anchor_logprobs.size()) + " entries for " +
        std::to_string(n) + " tokens");
  }
  if (config.tis_cap > 0 && inputs.behaviour_logprobs.size() != n) {
    return InvalidArgumentError("truncated IS needs one behaviour log-prob per token");
  }
  if (config.kl_coef > 0 && inputs.ref_logprobs.size() != n) {
    return InvalidArgumentError("the KL penalty needs one reference log-prob per token");
  }
  int total_tokens = 0;
  int sequences = 0;
  for (const LossSequence& s : inputs.sequences) {
    if (s.begin < 0 || s.end < s.begin || static_cast<size_t>(s.end) > n) {
      return InvalidArgumentError("sequence [" + std::to_string(s.begin) + ", " +
                                  std::to_string(s.end) + ") lies outside " + std::to_string(n) +
                                  " tokens");
    }
    total_tokens += s.end - s.begin;
    sequences += s.end > s.begin;
  }
  PolicyLossResult result;
  result.dlogprob.assign(n, 0.0f);
  result.tokens = total_tokens;
  if (total_tokens == 0) return result;

  const double lo = 1.0 - config.eps_low;
  const double hi = 1.0 + config.eps_high;
  int clipped = 0, masked = 0;
  double is_sum = 0, tis_sum = 0, kl_sum = 0;
  for (const LossSequence& s : inputs.sequences) {
    const double norm = config.normalization == LossNormalization::kToken
                            ? static_cast<double>(total_tokens)
                            : static_cast<double>(s.end - s.begin) * sequences;
    const double a = s.advantage;
    for (int t = s.begin; t < s.end; ++t) {
      const double logp = inputs.logprobs[t];
      const double ratio = std::exp(logp - inputs.anchor_logprobs[t]);
      const double tis = config.tis_cap > 0
                             ? std::min(std::exp(static_cast<double>(inputs.anchor_logprobs[t]) -
                                                 inputs.behaviour_logprobs[t]),
                                        config.tis_cap)
                             : 1.0;
      double coef = 0;       // d(−objective)/d logp, before normalization
      double objective = 0;  // this token's surrogate
      double is_weight = ratio;
      switch (config.algorithm) {
        case PolicyAlgorithm::kCispo: {
          double w = std::clamp(ratio, lo, hi);
          clipped += w != ratio;
          double m = 1.0;
          if (config.unified_mask && ((a > 0 && ratio > 1.0 + config.mask_eps_high) ||
                                      (a < 0 && ratio < 1.0 - config.mask_eps_low))) {
            m = 0.0;
            ++masked;
          }
          coef = -w * a * m * tis;
          objective = w * a * logp * m * tis;
          is_weight = w;
          break;
        }
        case PolicyAlgorithm::kGrpo:
        case PolicyAlgorithm::kDapo: {
          double unclipped = ratio * a;
          double clipped_value = std::clamp(ratio, lo, hi) * a;
          if (unclipped <= clipped_value) {
            coef = -ratio * a * tis;  // ∂(r·Â)/∂logp = r·Â
          } else {
            ++clipped;  // The clipped branch is constant in θ: no gradient.
          }
          objective = std::min(unclipped, clipped_value) * tis;
          break;
        }
        case PolicyAlgorithm::kReinforce:
          coef = -a * tis;
          objective = a * logp * tis;
          break;
      }
      double penalty = 0;
      if (config.kl_coef > 0) {
        double d = static_cast<double>(inputs.ref_logprobs[t]) - logp;
        double kl = std::exp(d) - d - 1.0;
        penalty = config.kl_coef * kl;
        coef += config.kl_coef * (1.0 - std::exp(d));
        kl_sum += kl;
      }
      result.dlogprob[t] = static_cast<float>(coef / norm);
      result.loss += (penalty - objective) / norm;
      is_sum += is_weight;
      tis_sum += tis;
    }
  }
  result.clip_fraction = static_cast<double>(clipped) / total_tokens;
  result.masked_fraction = static_cast<double>(masked) / total_tokens;
  result.is_weight_mean = is_sum / total_tokens;
  result.tis_weight_mean = tis_sum / total_tokens;
  result.kl_mean = kl_sum / total_tokens;
  return result;
}

bool GroupAdvantages(std::span<const double> rewards, bool scale_by_std,
                     std::vector<double>* advantages) {
  advantages->assign(rewards.size(), 0.0);
  if (rewards.size() < 2) return false;
  auto [min, max] = std::minmax_element(rewards.begin(), rewards.end());
  if (*max - *min < 1e-12) return false;
  double mean = 0;
  for (double r : rewards) mean += r;
  mean /= static_cast<double>(rewards.size());
  double var = 0;
  for (double r : rewards) var += (r - mean) * (r - mean);
  double std = std::sqrt(var / static_cast<double>(rewards.size() - 1));
  for (size_t i = 0; i < rewards.size(); ++i) {
    (*advantages)[i] = scale_by_std ? (rewards[i] - mean) / (std + 1e-6) : rewards[i] - mean;
  }
  return true;
}

double OverlongPenalty(int length, int max_length, int cache) {
  int soft = max_length - cache;
  if (length <= soft) return 0.0;
  if (length >= max_length || cache <= 0) return -1.0;
  return -static_cast<double>(length - soft) / cache;
}

}  // namespace lightrl
