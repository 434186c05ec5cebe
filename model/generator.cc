#include "model/generator.h"

#include <cmath>

#include "core/logging.h"
#include "core/tokenizer.h"

namespace lightrl::model {

StatusOr<std::unique_ptr<Generator>> Generator::Create(Policy* policy,
                                                       const GeneratorOptions& options) {
  if (options.max_batch < 1) return InvalidArgumentError("generator: max_batch must be >= 1");
  std::unique_ptr<Generator> generator(new Generator(policy, options));
  RETURN_IF_ERROR(policy->ReserveDecoding(options.max_batch, generator->options_.max_context));
  return generator;
}

Generator::Generator(Policy* policy, const GeneratorOptions& options)
    : policy_(policy), options_(options) {
  const ModelConfig& c = policy->config();
  if (options_.eos_token_id < 0) options_.eos_token_id = c.eos_token_id;
  if (options_.max_context <= 0 || options_.max_context > c.max_position_embeddings) {
    options_.max_context = c.max_position_embeddings;
  }
  for (int slot = options_.max_batch - 1; slot >= 0; --slot) free_slots_.push_back(slot);
}

Status Generator::Add(GenerationRequest request) {
  const ModelConfig& c = policy_->config();
  const std::string where = "request " + std::to_string(request.id) + ": ";
  if (request.prompt.empty()) return InvalidArgumentError(where + "empty prompt");
  if (static_cast<int>(request.prompt.size()) >= options_.max_context) {
    return InvalidArgumentError(where + "prompt of " + std::to_string(request.prompt.size()) +
                                " tokens leaves no room below the context length " +
                                std::to_string(options_.max_context));
  }
  for (size_t i = 0; i < request.prompt.size(); ++i) {
    if (request.prompt[i] < 0 || request.prompt[i] >= c.vocab_size) {
      return InvalidArgumentError(where + "prompt token " + std::to_string(i) + " has id " +
                                  std::to_string(request.prompt[i]) + " outside the vocabulary");
    }
  }
  Status params = ValidateSamplingParams(request.params);
  if (!params.ok()) return params.WithContext(where.substr(0, where.size() - 2));
  if (!ids_.insert(request.id).second)
    return AlreadyExistsError(where + "id already queued or active");
  queue_.push_back(std::move(request));
  return Status::Ok();
}

FinishReason Generator::Advance(Sequence* seq, const SampledToken& sampled) {
  const SamplingParams& p = seq->request.params;
  ++seq->generated;
  seq->last_token = sampled.token;
  const size_t before = seq->text.size();
  if (auto text = ByteTokenizer::TokenText(sampled.token); text.ok()) seq->text += *text;
  seq->confident_run =
      std::exp(static_cast<double>(sampled.logprob)) > p.repetition_p ? seq->confident_run + 1 : 0;
  if (sampled.token == options_.eos_token_id) return FinishReason::kEos;
  for (const std::string& stop : p.stop_strings) {
    const size_t from = before >= stop.size() ? before - stop.size() + 1 : 0;
    if (seq->text.find(stop, from) != std::string::npos) return FinishReason::kStopString;
  }
  if (p.repetition_k > 0 && seq->confident_run >= p.repetition_k) return FinishReason::kRepetition;
  if (seq->generated >= p.max_tokens) return FinishReason::kMaxTokens;
  if (seq->length + 1 >= options_.max_context) return FinishReason::kContextLength;
  return FinishReason::kNone;
}

StatusOr<std::vector<StepOutput>> Generator::Step() {
  const int vocab = policy_->config().vocab_size;
  const kernels::LmHeadOptions head = policy_->HeadOptions(1.0);
  // Sequences active before this step decode their last token; admitted ones prefill.
  const size_t decoding = active_.size();
  std::vector<float> logits(static_cast<size_t>(decoding) * vocab);
  if (decoding > 0) {
    std::vector<int32_t> tokens(decoding), slots(decoding);
    for (size_t i = 0; i < decoding; ++i) {
      tokens[i] = active_[i].last_token;
      slots[i] = active_[i].slot;
      ++active_[i].length;
    }
    RETURN_IF_ERROR(policy_->DecodeStep(tokens, slots, logits.data()));
  }
  std::vector<PrefillRequest> prefills;
  while (!free_slots_.empty() && !queue_.empty()) {
    Sequence seq;
    seq.request = std::move(queue_.front());
    queue_.pop_front();
    seq.slot = free_slots_.back();
    free_slots_.pop_back();
    seq.length = static_cast<int>(seq.request.prompt.size());
    prefills.push_back({seq.slot, seq.request.prompt});
    active_.push_back(std::move(seq));
  }
  if (!prefills.empty()) {
    logits.resize(active_.size() * vocab);
    Status prefilled = policy_->Prefill(prefills, logits.data() + decoding * vocab);
    if (!prefilled.ok()) {
      for (size_t i = decoding; i < active_.size(); ++i) {
        ids_.erase(active_[i].request.id);
        free_slots_.push_back(active_[i].slot);
      }
      active_.resize(decoding);
      return prefilled;
    }
  }
  std::vector<StepOutput> outputs;
  std::vector<Sequence> remaining;
  for (size_t i = 0; i < active_.size(); ++i) {
    Sequence& seq = active_[i];
    const double u = SampleUniform(seq.request.params.seed, static_cast<uint64_t>(seq.generated));
    const SampledToken sampled =
        SampleToken(logits.data() + i * vocab, vocab, seq.request.params, u, head);
    const FinishReason finish = Advance(&seq, sampled);
    outputs.push_back(
        {seq.request.id, sampled.token, sampled.logprob, sampled.model_logprob, finish});
    if (finish == FinishReason::kNone) {
      remaining.push_back(std::move(seq));
    } else {
      ids_.erase(seq.request.id);
      free_slots_.push_back(seq.slot);
    }
  }
  active_ = std::move(remaining);
  return outputs;
}

}  // namespace lightrl::model
