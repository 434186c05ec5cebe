// A training batch: variable-length sequences packed back to back, no padding.
//
// tokens holds every sequence's ids concatenated; sequence s is
// tokens[seq_offsets[s], seq_offsets[s+1]). A sequence boundary resets attention and the
// lightning state. loss_mask[j] = 1 asks for the log-prob of token j given the tokens
// before it in its sequence (the target of position j−1); the first token of a sequence
// has no prefix and must have mask 0. Prompt tokens have mask 0, completion tokens 1.
// Per-token outputs (log-probs, entropies) and their gradients are indexed by j.
#ifndef LIGHTRL_MODEL_PACKED_BATCH_H_
#define LIGHTRL_MODEL_PACKED_BATCH_H_

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/token_id.h"

namespace lightrl::model {

struct PackedBatch {
  std::vector<TokenId> tokens;
  std::vector<int32_t> seq_offsets;  // num_sequences + 1 entries, 0 first, tokens.size() last
  std::vector<uint8_t> loss_mask;    // tokens.size() entries (or empty: no targets)

  int num_tokens() const { return static_cast<int>(tokens.size()); }
  int num_sequences() const {
    return seq_offsets.empty() ? 0 : static_cast<int>(seq_offsets.size()) - 1;
  }

  // Appends a sequence; `mask` (same length, or empty for all-zero) is its loss mask.
  void Append(const std::vector<TokenId>& sequence, const std::vector<uint8_t>& mask = {});
};

// What the model derives from a valid batch.
struct BatchRows {
  std::vector<int32_t> positions;  // position of each token inside its sequence
  std::vector<int32_t> targets;    // token indices j with loss_mask[j] = 1, ascending
};

// Checks the batch (offsets ascending from 0 to tokens.size(), no empty sequence, ids in
// [0, vocab_size), sequences at most max_positions long, mask length and no mask on a
// sequence's first token) and derives positions and targets. InvalidArgument names the
// offending sequence or token.
StatusOr<BatchRows> AnalyzeBatch(const PackedBatch& batch, int vocab_size, int max_positions);

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_PACKED_BATCH_H_
