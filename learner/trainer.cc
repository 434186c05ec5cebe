#include "learner/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/logging.h"

namespace lightrl {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// One sample of the batch, placed in a minibatch.
struct SequenceRef {
  int group;
  int sample;
  double advantage;
};

// A minibatch laid out for the model: packed tokens plus per-token anchor/behaviour arrays.
struct PackedPart {
  model::PackedBatch batch;
  std::vector<float> anchor;
  std::vector<float> behaviour;
  std::vector<uint32_t> versions;
  std::vector<LossSequence> sequences;
};

PackedPart Pack(const std::vector<TrainGroup>& groups, std::span<const SequenceRef> refs) {
  PackedPart part;
  for (const SequenceRef& ref : refs) {
    const TrainGroup& group = groups[ref.group];
    const Sample& sample = group.samples[ref.sample].sample;
    const size_t prompt = group.prompt.size();
    std::vector<TokenId> tokens = group.prompt;
    tokens.insert(tokens.end(), sample.tokens.begin(), sample.tokens.end());
    std::vector<uint8_t> mask(prompt, 0);
    mask.resize(tokens.size(), 1);
    int begin = part.batch.num_tokens() + static_cast<int>(prompt);
    part.batch.Append(tokens, mask);
    // Prompt positions carry no loss; their anchor and version entries are placeholders.
    part.behaviour.insert(part.behaviour.end(), prompt, 0.0f);
    part.behaviour.insert(part.behaviour.end(), sample.logprobs.begin(), sample.logprobs.end());
    part.versions.insert(part.versions.end(), prompt, 0u);
    part.versions.insert(part.versions.end(), sample.versions.begin(), sample.versions.end());
    part.sequences.push_back(
        {begin, begin + static_cast<int>(sample.tokens.size()), ref.advantage});
  }
  part.anchor = part.behaviour;
  return part;
}

}  // namespace

const std::vector<std::string_view>& TrainerConfigKeys() {
  static const std::vector<std::string_view> keys = {"loss",
                                                     "lr",
                                                     "weight_decay",
                                                     "beta1",
                                                     "beta2",
                                                     "eps",
                                                     "max_grad_norm",
                                                     "minibatches",
                                                     "anchor",
                                                     "scale_advantages_by_std",
                                                     "overlong_max_length",
                                                     "overlong_cache",
                                                     "seed"};
  return keys;
}

Status ParseTrainerConfig(const ConfigNode& node, TrainerConfig* out) {
  ASSIGN_OR_RETURN(ConfigNode loss, node.OptionalChild("loss"));
  RETURN_IF_ERROR(ParsePolicyLossConfig(loss, &out->loss));
  RETURN_IF_ERROR(node.Optional("lr", &out->optimizer.lr, 0.0, 10.0));
  RETURN_IF_ERROR(node.Optional("weight_decay", &out->optimizer.weight_decay, 0.0, 10.0));
  RETURN_IF_ERROR(node.Optional("beta1", &out->optimizer.beta1, 0.0, 0.999999));
  RETURN_IF_ERROR(node.Optional("beta2", &out->optimizer.beta2, 0.0, 0.999999));
  RETURN_IF_ERROR(node.Optional("eps", &out->optimizer.eps, 0.0, 1.0));
  RETURN_IF_ERROR(node.Optional("max_grad_norm", &out->max_grad_norm, 0.0, 1e9));
  RETURN_IF_ERROR(node.Optional("minibatches", &out->minibatches, 1, 4096));
  std::string anchor = "behaviour";
  RETURN_IF_ERROR(node.OptionalChoice("anchor", &anchor, {"behaviour", "recompute"}));
  out->anchor = anchor == "behaviour" ? RatioAnchor::kBehaviour : RatioAnchor::kRecompute;
  RETURN_IF_ERROR(node.Optional("scale_advantages_by_std", &out->scale_advantages_by_std));
  RETURN_IF_ERROR(node.Optional("overlong_max_length", &out->overlong_max_length, 0, 1 << 24));
  RETURN_IF_ERROR(node.Optional("overlong_cache", &out->overlong_cache, 0, 1 << 24));
  if (out->overlong_cache > out->overlong_max_length) {
    return node.Error("overlong_cache", "must not exceed overlong_max_length");
  }
  int64_t seed = static_cast<int64_t>(out->seed);
  RETURN_IF_ERROR(node.Optional("seed", &seed));
  out->seed = static_cast<uint64_t>(seed);
  return Status::Ok();
}

struct PolicyTrainer::Update {
  PolicyLossResult loss;
  double entropy_sum = 0;
  double grad_norm = 0;
  double aux_loss = 0;
  double forward_seconds = 0, backward_seconds = 0, optimizer_seconds = 0;
  std::vector<float> logprobs;  // Per token of the part, before the update.
};

StatusOr<std::unique_ptr<PolicyTrainer>> PolicyTrainer::Create(
    std::unique_ptr<model::Policy> policy, const TrainerConfig& config) {
  if (policy == nullptr) return InvalidArgumentError("trainer needs a policy");
  if (config.minibatches < 1) return InvalidArgumentError("minibatches must be >= 1");
  if (!(config.temperature > 0)) return InvalidArgumentError("training needs a temperature > 0");
  return std::unique_ptr<PolicyTrainer>(new PolicyTrainer(std::move(policy), config));
}

PolicyTrainer::PolicyTrainer(std::unique_ptr<model::Policy> policy, const TrainerConfig& config)
    : policy_(std::move(policy)), config_(config), rng_(config.seed) {
  policy_->set_optimizer_options(config_.optimizer);
}

void PolicyTrainer::set_lr(double lr) {
  model::AdamWOptions options = policy_->optimizer_options();
  options.lr = lr;
  policy_->set_optimizer_options(options);
}

StatusOr<PolicyTrainer::Update> PolicyTrainer::RunUpdate(const model::PackedBatch& packed,
                                                         const std::vector<LossSequence>& sequences,
                                                         std::span<const float> anchor,
                                                         std::span<const float> behaviour,
                                                         bool sft) {
  SteadyClock::time_point start = SteadyClock::now();
  Update update;
  model::ForwardOptions options;
  options.temperature = sft ? 1.0 : config_.temperature;
  ASSIGN_OR_RETURN(model::ForwardOutput<float> out, policy_->Forward(packed, options));
  update.forward_seconds = SecondsSince(start);
  update.logprobs = out.logprobs;
  update.aux_loss = out.aux_loss;
  for (const LossSequence& s : sequences) {
    for (int t = s.begin; t < s.end; ++t) update.entropy_sum += out.entropies[t];
  }
  if (sft) {
    int tokens = 0;
    for (const LossSequence& s : sequences) tokens += s.end - s.begin;
    update.loss.dlogprob.assign(out.logprobs.size(), 0.0f);
    update.loss.tokens = tokens;
    for (const LossSequence& s : sequences) {
      for (int t = s.begin; t < s.end; ++t) {
        update.loss.dlogprob[t] = -1.0f / static_cast<float>(tokens);
        update.loss.loss -= out.logprobs[t] / tokens;
      }
    }
  } else {
    PolicyLossInputs inputs;
    inputs.logprobs = out.logprobs;
    inputs.anchor_logprobs = anchor;
    inputs.behaviour_logprobs = behaviour;
    inputs.sequences = sequences;
    ASSIGN_OR_RETURN(update.loss, ComputePolicyLoss(config_.loss, inputs));
  }
  start = SteadyClock::now();
  policy_->ZeroGrad();
  RETURN_IF_ERROR(policy_->Backward(update.loss.dlogprob));
  update.backward_seconds = SecondsSince(start);
  start = SteadyClock::now();
  update.grad_norm = policy_->ClipAndStep(config_.max_grad_norm);
  update.optimizer_seconds = SecondsSince(start);
  return update;
}

StatusOr<StepMetrics> PolicyTrainer::TrainRl(const std::vector<TrainGroup>& groups) {
  SteadyClock::time_point start = SteadyClock::now();
  if (config_.loss.kl_coef > 0) {
    return UnimplementedError(
        "the KL penalty needs a reference model, which the trainer does "
        "not keep; set learner.loss.kl_coef to 0");
  }
  StepMetrics m;
  m.groups = static_cast<int>(groups.size());
  std::vector<SequenceRef> refs;
  std::vector<double> all_rewards;
  double staleness_sum = 0;
  int64_t staleness_tokens = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    const TrainGroup& group = groups[g];
    std::vector<double> rewards;
    for (const TrainSample& scored : group.samples) {
      const Sample& s = scored.sample;
      if (s.logprobs.size() != s.tokens.size() || s.versions.size() != s.tokens.size()) {
        return InvalidArgumentError("group " + std::to_string(group.group_id) +
                                    ": a sample's log-probs or versions do not match its " +
                                    std::to_string(s.tokens.size()) + " tokens");
      }
      double reward = scored.reward;
      if (config_.overlong_max_length > 0) {
        reward += OverlongPenalty(static_cast<int>(s.tokens.size()), config_.overlong_max_length,
                                  config_.overlong_cache);
      }
      rewards.push_back(reward);
      all_rewards.push_back(reward);
      for (uint32_t v : s.versions) {
        double lag = static_cast<double>(version_) - v;
        staleness_sum += lag;
        m.staleness_max = std::max(m.staleness_max, lag);
        ++staleness_tokens;
      }
    }
    std::vector<double> advantages;
    if (!GroupAdvantages(rewards, config_.scale_advantages_by_std, &advantages)) {
      ++m.groups_zero_variance;
      continue;
    }
    for (size_t i = 0; i < advantages.size(); ++i) {
      if (group.samples[i].sample.tokens.empty()) continue;
      refs.push_back({static_cast<int>(g), static_cast<int>(i), advantages[i]});
      m.advantage_mean_abs += std::abs(advantages[i]);
      m.advantage_max_abs = std::max(m.advantage_max_abs, std::abs(advantages[i]));
    }
  }
  if (!all_rewards.empty()) {
    for (double r : all_rewards) m.reward_mean += r;
    m.reward_mean /= static_cast<double>(all_rewards.size());
    for (double r : all_rewards) m.reward_std += (r - m.reward_mean) * (r - m.reward_mean);
    m.reward_std = std::sqrt(m.reward_std / static_cast<double>(all_rewards.size()));
  }
  if (staleness_tokens > 0)
    m.staleness_mean = staleness_sum / static_cast<double>(staleness_tokens);
  m.sequences = static_cast<int>(refs.size());
  if (!refs.empty()) m.advantage_mean_abs /= static_cast<double>(refs.size());
  m.step = step_;
  m.version = version_;
  m.lr = policy_->optimizer_options().lr;
  if (refs.empty()) {
    // Nothing to learn from: the weights stay, but the batch counts as a step (the version
    // numbers the batches applied, which the coordinator relies on).
    ++step_;
    ++version_;
    m.version = version_;
    m.step_seconds = SecondsSince(start);
    return m;
  }
  // Validate everything before the first update, so a bad batch changes nothing.
  RETURN_IF_ERROR(model::AnalyzeBatch(Pack(groups, refs).batch, policy_->config().vocab_size,
                                      policy_->config().max_position_embeddings)
                      .status());

  std::shuffle(refs.begin(), refs.end(), rng_);
  const int parts = std::min<int>(config_.minibatches, static_cast<int>(refs.size()));
  std::vector<PackedPart> packed;
  for (int p = 0; p < parts; ++p) {
    size_t begin = refs.size() * p / parts, end = refs.size() * (p + 1) / parts;
    packed.push_back(Pack(groups, std::span<const SequenceRef>(refs).subspan(begin, end - begin)));
  }
  std::vector<float> train_probe, rollout_probe;  // Precision signal: current-version tokens.
  // Only sequences generated wholly by the current version: a token sampled after a
  // mid-generation weight switch is tagged with the new version but conditioned on a prefix
  // the old one processed, so no single version reproduces it.
  auto probe = [&](const PackedPart& part, std::span<const float> recomputed) {
    for (const LossSequence& s : part.sequences) {
      if (!std::all_of(part.versions.begin() + s.begin, part.versions.begin() + s.end,
                       [&](uint32_t v) { return v == version_; })) {
        continue;
      }
      for (int t = s.begin; t < s.end; ++t) {
        train_probe.push_back(recomputed[t]);
        rollout_probe.push_back(part.behaviour[t]);
      }
    }
  };
  if (config_.anchor == RatioAnchor::kRecompute) {
    SteadyClock::time_point recompute_start = SteadyClock::now();
    model::ForwardOptions options;
    options.keep_activations = false;
    options.temperature = config_.temperature;
    for (PackedPart& part : packed) {
      ASSIGN_OR_RETURN(model::ForwardOutput<float> old, policy_->Forward(part.batch, options));
      probe(part, old.logprobs);
      part.anchor = old.logprobs;
    }
    m.forward_seconds += SecondsSince(recompute_start);
  }
  double grad_norm_sum = 0;
  for (size_t p = 0; p < packed.size(); ++p) {
    PackedPart& part = packed[p];
    std::span<const float> behaviour;
    if (config_.loss.tis_cap > 0) behaviour = part.behaviour;
    ASSIGN_OR_RETURN(Update u,
                     RunUpdate(part.batch, part.sequences, part.anchor, behaviour, false));
    if (p == 0 && config_.anchor == RatioAnchor::kBehaviour) probe(part, u.logprobs);
    m.loss += u.loss.loss / static_cast<double>(packed.size());
    m.tokens += u.loss.tokens;
    m.entropy_mean += u.entropy_sum;
    grad_norm_sum += u.grad_norm;
    m.grad_norm_max = std::max(m.grad_norm_max, u.grad_norm);
    m.clip_fraction += u.loss.clip_fraction * u.loss.tokens;
    m.masked_fraction += u.loss.masked_fraction * u.loss.tokens;
    m.is_weight_mean += u.loss.is_weight_mean * u.loss.tokens;
    m.tis_weight_mean += u.loss.tis_weight_mean * u.loss.tokens;
    m.aux_loss += u.aux_loss / static_cast<double>(packed.size());
    m.forward_seconds += u.forward_seconds;
    m.backward_seconds += u.backward_seconds;
    m.optimizer_seconds += u.optimizer_seconds;
  }
  double tokens = static_cast<double>(std::max<int64_t>(1, m.tokens));
  m.entropy_mean /= tokens;
  m.clip_fraction /= tokens;
  m.masked_fraction /= tokens;
  m.is_weight_mean /= tokens;
  m.tis_weight_mean /= tokens;
  m.grad_norm = grad_norm_sum / static_cast<double>(packed.size());
  m.precision = ComparePrecision(train_probe, rollout_probe);
  ++step_;
  ++version_;
  m.version = version_;
  m.step_seconds = SecondsSince(start);
  return m;
}

StatusOr<StepMetrics> PolicyTrainer::TrainSft(const std::vector<SftExample>& examples) {
  SteadyClock::time_point start = SteadyClock::now();
  model::PackedBatch batch;
  std::vector<LossSequence> sequences;
  for (const SftExample& e : examples) {
    if (e.prompt.empty() || e.response.empty()) {
      return InvalidArgumentError("an SFT example needs a prompt and a response");
    }
    std::vector<TokenId> tokens = e.prompt;
    tokens.insert(tokens.end(), e.response.begin(), e.response.end());
    std::vector<uint8_t> mask(e.prompt.size(), 0);
    mask.resize(tokens.size(), 1);
    int begin = batch.num_tokens() + static_cast<int>(e.prompt.size());
    batch.Append(tokens, mask);
    sequences.push_back({begin, begin + static_cast<int>(e.response.size()), 0.0});
  }
  RETURN_IF_ERROR(model::AnalyzeBatch(batch, policy_->config().vocab_size,
                                      policy_->config().max_position_embeddings)
                      .status());
  ASSIGN_OR_RETURN(Update u, RunUpdate(batch, sequences, {}, {}, true));
  StepMetrics m;
  m.step = step_;
  m.loss = u.loss.loss;
  m.tokens = u.loss.tokens;
  m.sequences = static_cast<int>(examples.size());
  m.entropy_mean = u.entropy_sum / std::max(1, u.loss.tokens);
  m.grad_norm = m.grad_norm_max = u.grad_norm;
  m.aux_loss = u.aux_loss;
  m.forward_seconds = u.forward_seconds;
  m.backward_seconds = u.backward_seconds;
  m.optimizer_seconds = u.optimizer_seconds;
  m.lr = policy_->optimizer_options().lr;
  ++step_;
  ++version_;
  m.version = version_;
  m.step_seconds = SecondsSince(start);
  return m;
}

std::string PolicyTrainer::SerializeState() const {
  std::ostringstream rng;
  rng << rng_;
  nlohmann::json state = {{"step", step_}, {"version", version_}, {"rng", rng.str()}};
  return state.dump(2);
}

Status PolicyTrainer::RestoreState(const std::string& json) {
  nlohmann::json state = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (state.is_discarded() || !state.is_object() || !state.contains("step") ||
      !state.contains("version") || !state.contains("rng") || !state["step"].is_number_integer() ||
      !state["version"].is_number_unsigned() || !state["rng"].is_string()) {
    return DataLossError("trainer state: expected {step, version, rng}");
  }
  std::istringstream rng(state["rng"].get<std::string>());
  std::mt19937_64 restored;
  rng >> restored;
  if (rng.fail()) return DataLossError("trainer state: unreadable rng");
  step_ = state["step"].get<int64_t>();
  version_ = state["version"].get<uint64_t>();
  rng_ = restored;
  return Status::Ok();
}

}  // namespace lightrl
