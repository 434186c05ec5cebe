#include "learner/data_parallel_policy.h"

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "core/logging.h"
#include "learner/nccl_data_parallel.h"
#include "model/cuda/model.h"
#include "weights/nccl_link.h"

namespace lightrl::learner {
namespace {

using model::ForwardOptions;
using model::ForwardOutput;
using model::PackedBatch;
using model::Policy;

// Runs fn(rank) for every rank on its own thread; the first error (by rank) is returned.
Status OnEveryRank(int ranks, const std::function<Status(int)>& fn) {
  std::vector<Status> results(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) threads.emplace_back([&, r] { results[r] = fn(r); });
  for (std::thread& t : threads) t.join();
  for (int r = 0; r < ranks; ++r) {
    if (!results[r].ok()) return results[r].WithContext("replica " + std::to_string(r));
  }
  return Status::Ok();
}

// The sequences [first, last) of `batch` as a batch of their own.
PackedBatch Slice(const PackedBatch& batch, std::pair<int, int> range) {
  PackedBatch part;
  const int begin = batch.seq_offsets[range.first], end = batch.seq_offsets[range.second];
  part.tokens.assign(batch.tokens.begin() + begin, batch.tokens.begin() + end);
  if (!batch.loss_mask.empty()) {
    part.loss_mask.assign(batch.loss_mask.begin() + begin, batch.loss_mask.begin() + end);
  }
  for (int s = range.first; s <= range.second; ++s) {
    part.seq_offsets.push_back(batch.seq_offsets[s] - begin);
  }
  return part;
}

class DataParallelPolicy : public Policy {
 public:
  DataParallelPolicy(std::vector<std::unique_ptr<Policy>> replicas,
                     std::vector<std::unique_ptr<NcclDataParallel>> nccl)
      : replicas_(std::move(replicas)), nccl_(std::move(nccl)) {}

  std::vector<uint64_t> Digests() {
    std::vector<uint64_t> digests;
    for (const auto& n : nccl_) digests.push_back(n->ParamsDigest());
    return digests;
  }

  model::Backend backend() const override { return model::Backend::kCuda; }
  const model::ModelConfig& config() const override { return replicas_[0]->config(); }
  model::Precision precision() const override { return replicas_[0]->precision(); }
  model::ParamArena<float>& params() override { return replicas_[0]->params(); }
  void ParamsChanged() override {
    const model::ParamArena<float>& source = replicas_[0]->params();
    for (size_t r = 1; r < replicas_.size(); ++r) replicas_[r]->params() = source;
    CHECK_OK(Run([&](int r) {
      replicas_[r]->ParamsChanged();
      return Status::Ok();
    }));
  }
  void InitializeRandom(uint64_t seed) override {
    CHECK_OK(Run([&](int r) {
      replicas_[r]->InitializeRandom(seed);
      return Status::Ok();
    }));
  }

  StatusOr<ForwardOutput<float>> Forward(const PackedBatch& batch,
                                         const ForwardOptions& options) override {
    RETURN_IF_ERROR(
        model::AnalyzeBatch(batch, config().vocab_size, config().max_position_embeddings).status());
    ranges_ = SplitSequences(batch, ranks());
    token_offsets_.clear();
    for (const auto& range : ranges_) token_offsets_.push_back(batch.seq_offsets[range.first]);
    token_offsets_.push_back(batch.num_tokens());
    std::vector<ForwardOutput<float>> parts(ranks());
    RETURN_IF_ERROR(Run([&](int r) -> Status {
      if (Empty(r)) return Status::Ok();
      ASSIGN_OR_RETURN(parts[r], replicas_[r]->Forward(Slice(batch, ranges_[r]), options));
      return Status::Ok();
    }));
    ForwardOutput<float> out;
    double aux_weighted = 0;
    for (int r = 0; r < ranks(); ++r) {
      const ForwardOutput<float>& part = parts[r];
      out.logprobs.insert(out.logprobs.end(), part.logprobs.begin(), part.logprobs.end());
      out.entropies.insert(out.entropies.end(), part.entropies.begin(), part.entropies.end());
      out.num_targets += part.num_targets;
      aux_weighted += part.aux_loss * (token_offsets_[r + 1] - token_offsets_[r]);
    }
    out.aux_loss = batch.num_tokens() > 0 ? aux_weighted / batch.num_tokens() : 0;
    kept_ = options.keep_activations;
    return out;
  }

  Status Backward(std::span<const float> dlogprob, std::span<const float> dentropy) override {
    if (!kept_) return FailedPreconditionError("backward: no kept forward");
    kept_ = false;
    const size_t tokens = static_cast<size_t>(token_offsets_.back());
    if (dlogprob.size() != tokens || (!dentropy.empty() && dentropy.size() != tokens)) {
      return InvalidArgumentError("backward: one gradient per token of the forward is needed");
    }
    return Run([&](int r) -> Status {
      if (Empty(r)) return Status::Ok();
      const size_t begin = token_offsets_[r], count = token_offsets_[r + 1] - begin;
      return replicas_[r]->Backward(dlogprob.subspan(begin, count),
                                    dentropy.empty() ? dentropy : dentropy.subspan(begin, count));
    });
  }
  void ZeroGrad() override {
    CHECK_OK(Run([&](int r) {
      replicas_[r]->ZeroGrad();
      return Status::Ok();
    }));
  }
  double ClipAndStep(double max_grad_norm) override {
    std::vector<double> norms(ranks());
    CHECK_OK(Run([&](int r) {
      nccl_[r]->AllReduceGrads();
      norms[r] = replicas_[r]->ClipAndStep(max_grad_norm);
      return Status::Ok();
    }));
    return norms[0];
  }
  StatusOr<std::vector<float>> Logits(const PackedBatch& batch,
                                      std::vector<std::vector<float>>* hidden) override {
    return replicas_[0]->Logits(batch, hidden);
  }
  kernels::LmHeadOptions HeadOptions(double temperature) const override {
    return replicas_[0]->HeadOptions(temperature);
  }

  const model::AdamWOptions& optimizer_options() const override {
    return replicas_[0]->optimizer_options();
  }
  void set_optimizer_options(const model::AdamWOptions& options) override {
    for (auto& replica : replicas_) replica->set_optimizer_options(options);
  }
  int64_t optimizer_step() const override { return replicas_[0]->optimizer_step(); }
  model::AdamW SaveOptimizerState() override { return replicas_[0]->SaveOptimizerState(); }
  void RestoreOptimizerState(const model::AdamW& state) override {
    for (auto& replica : replicas_) replica->RestoreOptimizerState(state);
  }

  Status ReserveDecoding(int slots, int capacity) override {
    return replicas_[0]->ReserveDecoding(slots, capacity);
  }
  Status Prefill(std::span<const model::PrefillRequest> requests, float* logits) override {
    return replicas_[0]->Prefill(requests, logits);
  }
  Status DecodeStep(std::span<const TokenId> tokens, std::span<const int32_t> slots,
                    float* logits) override {
    return replicas_[0]->DecodeStep(tokens, slots, logits);
  }
  model::CudaModel* weights_model() override { return replicas_[0]->weights_model(); }

 private:
  int ranks() const { return static_cast<int>(replicas_.size()); }
  bool Empty(int r) const { return ranges_[r].first == ranges_[r].second; }
  Status Run(const std::function<Status(int)>& fn) { return OnEveryRank(ranks(), fn); }

  std::vector<std::unique_ptr<Policy>> replicas_;
  std::vector<std::unique_ptr<NcclDataParallel>> nccl_;
  // The last Forward's split: sequence ranges and their first tokens (+ the total).
  std::vector<std::pair<int, int>> ranges_;
  std::vector<int> token_offsets_;
  bool kept_ = false;
};

}  // namespace

std::vector<std::pair<int, int>> SplitSequences(const PackedBatch& batch, int parts) {
  std::vector<std::pair<int, int>> ranges;
  const int sequences = batch.num_sequences();
  const int filled = std::min(parts, sequences);  // parts that get at least one sequence
  const int64_t total = batch.num_tokens();
  int first = 0;
  for (int p = 0; p < parts; ++p) {
    int last = first;
    if (p == filled - 1) {
      last = sequences;
    } else if (p < filled) {
      // At least one sequence; then more while that ends nearer to this part's share of the
      // tokens, leaving one sequence for each later part.
      const int64_t target = total * (p + 1) / filled;
      last = first + 1;
      while (sequences - last > filled - p - 1) {
        const int64_t with = batch.seq_offsets[last + 1], without = batch.seq_offsets[last];
        if (with - target > target - without) break;
        ++last;
      }
    }
    ranges.emplace_back(first, last);
    first = last;
  }
  return ranges;
}

StatusOr<std::unique_ptr<Policy>> CreateDataParallelPolicy(const model::ModelConfig& config,
                                                           const model::PolicyOptions& options,
                                                           std::span<const int64_t> devices) {
  if (devices.size() < 2) {
    return InvalidArgumentError("data-parallel training needs at least two devices");
  }
  if (std::set<int64_t>(devices.begin(), devices.end()).size() != devices.size()) {
    return InvalidArgumentError("data-parallel training needs distinct devices");
  }
  const int world = static_cast<int>(devices.size());
  std::vector<std::unique_ptr<Policy>> replicas;
  for (int64_t device : devices) {
    model::PolicyOptions replica = options;
    replica.backend = model::Backend::kCuda;
    replica.device = static_cast<int>(device);
    ASSIGN_OR_RETURN(std::unique_ptr<Policy> policy, model::CreatePolicy(config, replica));
    replicas.push_back(std::move(policy));
  }
  ASSIGN_OR_RETURN(ncclUniqueId id, NewNcclId());
  std::vector<std::unique_ptr<NcclDataParallel>> nccl(world);
  RETURN_IF_ERROR(OnEveryRank(world, [&](int r) -> Status {
    ASSIGN_OR_RETURN(nccl[r], NcclDataParallel::Create(replicas[r]->weights_model(), id, r, world));
    return Status::Ok();
  }));
  return std::unique_ptr<Policy>(new DataParallelPolicy(std::move(replicas), std::move(nccl)));
}

std::vector<uint64_t> ReplicaDigests(Policy& policy) {
  auto* parallel = dynamic_cast<DataParallelPolicy*>(&policy);
  return parallel == nullptr ? std::vector<uint64_t>() : parallel->Digests();
}

}  // namespace lightrl::learner
