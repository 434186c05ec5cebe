// Batched generation with continuous batching.
//
// Requests join a queue with Add(); each Step() first admits queued requests while the
// batch has room (running their prompts through the model), then produces exactly one
// token for every active sequence: admitted ones sample from their prompt's last
// position, the others feed their previous token and sample the next. A sequence leaves
// the batch in the step that finishes it (EOS, max_tokens, a stop string, MiniMax's
// repetition rule, or the model's max_position_embeddings), so a new one can join at the
// next step. The policy's weights may be replaced (params() then ParamsChanged()) between
// two steps; sequences in flight keep their caches and continue with the new weights.
// Each active sequence holds one of the policy's max_batch decoding slots.
//
// Determinism: a request's tokens depend only on its prompt, its SamplingParams (seed
// included) and the weights, not on the other requests of the batch or on when it joined.
// Thread-safety: not thread-safe; one thread calls Add/Step, and nothing else uses the
// policy's decoding slots while the generator lives.
#ifndef LIGHTRL_MODEL_GENERATOR_H_
#define LIGHTRL_MODEL_GENERATOR_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/sample.h"
#include "core/status.h"
#include "model/policy.h"
#include "model/sampler.h"

namespace lightrl::model {

struct GenerationRequest {
  uint64_t id = 0;  // chosen by the caller, unique among queued and active requests
  std::vector<TokenId> prompt;
  SamplingParams params;
};

struct StepOutput {
  uint64_t id = 0;
  TokenId token = 0;
  float logprob = 0;        // under the sampling distribution (see SampledToken)
  float model_logprob = 0;  // log softmax(logits / temperature), what a learner recomputes
  FinishReason finish = FinishReason::kNone;  // kNone: the sequence continues
};

struct GeneratorOptions {
  int max_batch = 32;
  int eos_token_id = -1;  // -1: the model config's eos_token_id (none if that is -1 too)
  // Longest sequence (prompt + completion); 0 or more than max_position_embeddings: the
  // model's max_position_embeddings. A GPU policy reserves a KV cache this long per slot.
  int max_context = 0;
};

class Generator {
 public:
  // `policy` must outlive the generator; options.max_batch >= 1. Reserves the policy's
  // decoding slots (errors: the policy's, e.g. ResourceExhausted on a GPU).
  static StatusOr<std::unique_ptr<Generator>> Create(Policy* policy,
                                                     const GeneratorOptions& options);

  // Queues a request. InvalidArgument: empty prompt, ids outside the model's vocabulary, a
  // prompt of max_context tokens or more, bad sampling params. AlreadyExists: an
  // id that is queued or active.
  Status Add(GenerationRequest request);

  // One token for every active sequence (see above), in order of admission. Errors come
  // only from the model (none are expected for validated requests); the request being
  // admitted is then dropped.
  StatusOr<std::vector<StepOutput>> Step();

  int active() const { return static_cast<int>(active_.size()); }
  int queued() const { return static_cast<int>(queue_.size()); }

 private:
  struct Sequence {
    GenerationRequest request;
    int slot = 0;
    int length = 0;    // tokens in the slot's cache
    std::string text;  // completion decoded to bytes, for stop strings
    int generated = 0;
    int confident_run = 0;  // consecutive sampled tokens with probability > repetition_p
    int32_t last_token = 0;
  };

  Generator(Policy* policy, const GeneratorOptions& options);
  // Records a sampled token; returns the reason the sequence finishes (or kNone).
  FinishReason Advance(Sequence* seq, const SampledToken& sampled);

  Policy* policy_;
  GeneratorOptions options_;
  std::vector<int> free_slots_;
  std::deque<GenerationRequest> queue_;
  std::vector<Sequence> active_;
  std::unordered_set<uint64_t> ids_;
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_GENERATOR_H_
