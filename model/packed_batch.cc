#include "model/packed_batch.h"

#include <string>

#include "core/logging.h"

namespace lightrl::model {

void PackedBatch::Append(const std::vector<TokenId>& sequence, const std::vector<uint8_t>& mask) {
  CHECK(mask.empty() || mask.size() == sequence.size());
  if (seq_offsets.empty()) seq_offsets.push_back(0);
  tokens.insert(tokens.end(), sequence.begin(), sequence.end());
  if (mask.empty()) {
    loss_mask.insert(loss_mask.end(), sequence.size(), 0);
  } else {
    loss_mask.insert(loss_mask.end(), mask.begin(), mask.end());
  }
  seq_offsets.push_back(static_cast<int32_t>(tokens.size()));
}

StatusOr<BatchRows> AnalyzeBatch(const PackedBatch& batch, int vocab_size, int max_positions) {
  const int n = batch.num_tokens();
  if (batch.seq_offsets.size() < 2 || batch.seq_offsets.front() != 0 ||
      batch.seq_offsets.back() != n) {
    return InvalidArgumentError("batch: seq_offsets must start at 0 and end at the token count " +
                                std::to_string(n));
  }
  if (!batch.loss_mask.empty() && static_cast<int>(batch.loss_mask.size()) != n) {
    return InvalidArgumentError("batch: loss_mask has " + std::to_string(batch.loss_mask.size()) +
                                " entries for " + std::to_string(n) + " tokens");
  }
  BatchRows rows;
  rows.positions.resize(n);
  for (int s = 0; s < batch.num_sequences(); ++s) {
    const int begin = batch.seq_offsets[s], end = batch.seq_offsets[s + 1];
    if (end <= begin)
      return InvalidArgumentError("batch: sequence " + std::to_string(s) + " is empty");
    if (end - begin > max_positions) {
      return InvalidArgumentError(
          "batch: sequence " + std::to_string(s) + " has " + std::to_string(end - begin) +
          " tokens, more than max_position_embeddings " + std::to_string(max_positions));
    }
    for (int j = begin; j < end; ++j) {
      if (batch.tokens[j] < 0 || batch.tokens[j] >= vocab_size) {
        return InvalidArgumentError(
            "batch: token " + std::to_string(j) + " has id " + std::to_string(batch.tokens[j]) +
            " outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
      }
      rows.positions[j] = j - begin;
      if (batch.loss_mask.empty() || !batch.loss_mask[j]) continue;
      if (j == begin) {
        return InvalidArgumentError("batch: loss_mask is set on token " + std::to_string(j) +
                                    ", the first of sequence " + std::to_string(s) +
                                    ", which has no prefix");
      }
      rows.targets.push_back(j);
    }
  }
  return rows;
}

}  // namespace lightrl::model
