// Decoding on the GPU: CudaModel's ReserveDecoding, Prefill and DecodeStep (model.h).
#include <string>
#include <vector>

#include "core/logging.h"
#include "kernels/cuda/elementwise.h"
#include "model/cuda/model.h"
#include "model/cuda/model_state.h"

namespace lightrl::model {
namespace {

namespace kc = kernels::cuda;
using internal::CudaLayerActivations;
using internal::CudaModelState;
using internal::Sized;

template <typename T>
void Upload(const CudaModelState& s, const std::vector<T>& host, kc::DeviceBuffer<T>* out) {
  out->MustResize(host.size());
  kc::CopyToDevice(*s.ctx, host.data(), host.size(), out->data());
}

Status CheckSlot(const CudaModelState& s, int slot) {
  if (s.slots == 0) return FailedPreconditionError("decoding: ReserveDecoding was not called");
  if (slot < 0 || slot >= s.slots) {
    return InvalidArgumentError("decoding: slot " + std::to_string(slot) + " is outside [0, " +
                                std::to_string(s.slots) + ")");
  }
  return Status::Ok();
}

// Final norm and head logits (temperature 1) of `rows` rows of x picked by `pick` (device),
// into s.logits; copied to host_logits when given.
void HeadLogits(CudaModelState& s, const float* x, const int32_t* pick, int rows,
                float* host_logits) {
  const int h = s.config.hidden_size, vocab = s.config.vocab_size;
  float* picked = s.ws.Get(Slot::kDHead, static_cast<size_t>(rows) * h);
  float* normed = s.ws.Get(Slot::kDNorm, static_cast<size_t>(rows) * h);
  kc::GatherRows(*s.ctx, x, pick, rows, h, picked);
  s.FinalNorm(picked, rows, normed, nullptr);
  float* logits = Sized(&s.logits, static_cast<size_t>(rows) * vocab);
  kc::LmHeadLogits(*s.ctx, normed, rows, h,
                   {s.params.data() + s.lm_head, h, s.params16.data() + s.lm_head}, vocab,
                   s.HeadOptions(1.0), logits);
  if (host_logits != nullptr) {
    kc::CopyToHost(*s.ctx, logits, static_cast<size_t>(rows) * vocab, host_logits);
  }
}

}  // namespace

Status CudaModel::ReserveDecoding(int slots, int capacity) {
  CudaModelState& s = *s_;
  if (slots <= 0 || capacity <= 0) {
    return InvalidArgumentError("decoding: slots and capacity must be positive, got " +
                                std::to_string(slots) + " and " + std::to_string(capacity));
  }
  s.slots = slots;
  s.capacity = capacity;
  s.lengths.assign(slots, 0);
  s.lightning_states.resize(s.lightning.size());
  for (size_t m = 0; m < s.lightning.size(); ++m) {
    const size_t n = static_cast<size_t>(slots) * s.lightning[m].StateFloats();
    RETURN_IF_ERROR(s.lightning_states[m].Resize(n));
    LIGHTRL_CUDA_CHECK(
        cudaMemsetAsync(s.lightning_states[m].data(), 0, n * sizeof(float), s.ctx->stream()));
  }
  s.keys.resize(s.softmax.size());
  s.values.resize(s.softmax.size());
  for (size_t m = 0; m < s.softmax.size(); ++m) {
    const size_t n = static_cast<size_t>(slots) * capacity * s.softmax[m].kv_width();
    RETURN_IF_ERROR(s.keys[m].Resize(n));
    RETURN_IF_ERROR(s.values[m].Resize(n));
  }
  return Status::Ok();
}

int CudaModel::SlotLength(int slot) const {
  return slot >= 0 && slot < s_->slots ? s_->lengths[slot] : 0;
}

const float* CudaModel::LastLogits() const { return s_->logits.data(); }

Status CudaModel::Prefill(std::span<const PrefillRequest> requests, float* logits) {
  CudaModelState& s = *s_;
  PackedBatch batch;
  std::vector<bool> seen(s.slots, false);
  for (const PrefillRequest& r : requests) {
    RETURN_IF_ERROR(CheckSlot(s, r.slot));
    if (seen[r.slot]) {
      return InvalidArgumentError("prefill: slot " + std::to_string(r.slot) + " appears twice");
    }
    seen[r.slot] = true;
    if (r.prompt.empty()) return InvalidArgumentError("prefill: empty prompt");
    if (static_cast<int>(r.prompt.size()) > s.capacity) {
      return InvalidArgumentError("prefill: a prompt of " + std::to_string(r.prompt.size()) +
                                  " tokens exceeds the reserved capacity " +
                                  std::to_string(s.capacity));
    }
    batch.Append(r.prompt);
  }
  if (requests.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(BatchRows rows,
                   AnalyzeBatch(batch, s.config.vocab_size, s.config.max_position_embeddings));
  const int n = batch.num_tokens(), num_seqs = batch.num_sequences();
  if (n > s.options.max_tokens) {
    return InvalidArgumentError("prefill: " + std::to_string(n) +
                                " tokens is above the model's max_tokens");
  }
  s.Prepare(batch, rows, &s.temp_batch);
  std::vector<int32_t> seq_slots, row_slots(n), last_rows;
  for (int q = 0; q < num_seqs; ++q) {
    seq_slots.push_back(requests[q].slot);
    for (int r = batch.seq_offsets[q]; r < batch.seq_offsets[q + 1]; ++r) {
      row_slots[r] = requests[q].slot;
    }
    last_rows.push_back(batch.seq_offsets[q + 1] - 1);
  }
  internal::DeviceInts d_seq_slots, d_row_slots, d_last;
  Upload(s, seq_slots, &d_seq_slots);
  Upload(s, row_slots, &d_row_slots);
  Upload(s, last_rows, &d_last);
  const int h = s.config.hidden_size;
  float* x = s.ws.Get(Slot::kTrunk, static_cast<size_t>(n) * h);
  kc::EmbeddingForward(*s.ctx, s.params.data() + s.embed, h, s.temp_batch.tokens.data(), n, x);
  const internal::BatchLayout layout = s.temp_batch.Layout();
  const internal::DeviceWeights w = s.Weights();
  for (int l = 0; l < s.config.num_hidden_layers; ++l) {
    const int m = s.mixer_index[l];
    s.DecoderLayer(
        l, n, false, &s.scratch_layer, x, nullptr,
        [&](const internal::Operand& a, CudaLayerActivations* act, float* y) {
          if (s.config.layer_types[l] == AttentionType::kLightning) {
            s.lightning[m].Forward(w, a, n, layout, &act->lightning, y,
                                   s.lightning_states[m].data(), d_seq_slots.data());
          } else {
            const kc::KvCacheView cache{s.keys[m].data(), s.values[m].data(), s.capacity};
            s.softmax[m].Forward(w, a, n, layout, &act->softmax, y, &cache, d_row_slots.data());
          }
        });
  }
  HeadLogits(s, x, d_last.data(), num_seqs, logits);
  for (int q = 0; q < num_seqs; ++q) {
    s.lengths[requests[q].slot] = batch.seq_offsets[q + 1] - batch.seq_offsets[q];
  }
  s.ctx->Synchronize();  // the local device arrays above go out of scope
  return Status::Ok();
}

Status CudaModel::DecodeStep(std::span<const TokenId> tokens, std::span<const int32_t> slots,
                             float* logits) {
  CudaModelState& s = *s_;
  if (tokens.size() != slots.size()) {
    return InvalidArgumentError("decode: " + std::to_string(tokens.size()) + " tokens for " +
                                std::to_string(slots.size()) + " slots");
  }
  const int rows = static_cast<int>(tokens.size());
  if (rows == 0) return Status::Ok();
  std::vector<bool> seen(s.slots, false);
  // One upload: tokens, slots, positions, lengths after the step, row ids.
  std::vector<int32_t> packed(5 * static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    const int slot = slots[r];
    RETURN_IF_ERROR(CheckSlot(s, slot));
    if (seen[slot]) {
      return InvalidArgumentError("decode: slot " + std::to_string(slot) + " appears twice");
    }
    seen[slot] = true;
    if (s.lengths[slot] == 0) {
      return FailedPreconditionError("decode: slot " + std::to_string(slot) +
                                     " has no prefilled prompt");
    }
    if (s.lengths[slot] >= s.capacity || s.lengths[slot] >= s.config.max_position_embeddings) {
      return InvalidArgumentError("decode: slot " + std::to_string(slot) + " is full (" +
                                  std::to_string(s.lengths[slot]) + " tokens)");
    }
    if (tokens[r] < 0 || tokens[r] >= s.config.vocab_size) {
      return InvalidArgumentError("decode: token " + std::to_string(tokens[r]) +
                                  " is outside the vocabulary");
    }
    packed[r] = tokens[r];
    packed[rows + r] = slot;
    packed[2 * rows + r] = s.lengths[slot];
    packed[3 * rows + r] = s.lengths[slot] + 1;
    packed[4 * rows + r] = r;
  }
  Upload(s, packed, &s.step_ints);
  const int32_t* d_tokens = s.step_ints.data();
  const int32_t* d_slots = d_tokens + rows;
  const int32_t* d_positions = d_slots + rows;
  const int32_t* d_lengths = d_positions + rows;
  const int32_t* d_identity = d_lengths + rows;
  const int h = s.config.hidden_size;
  float* x = s.ws.Get(Slot::kTrunk, static_cast<size_t>(rows) * h);
  kc::EmbeddingForward(*s.ctx, s.params.data() + s.embed, h, d_tokens, rows, x);
  const internal::DeviceWeights w = s.Weights();
  for (int l = 0; l < s.config.num_hidden_layers; ++l) {
    const int m = s.mixer_index[l];
    s.DecoderLayer(
        l, rows, false, &s.scratch_layer, x, nullptr,
        [&](const internal::Operand& a, CudaLayerActivations* act, float* y) {
          if (s.config.layer_types[l] == AttentionType::kLightning) {
            s.lightning[m].Decode(w, a, rows, d_slots, s.lightning_states[m].data(),
                                  &act->lightning, y);
          } else {
            const kc::KvCacheView cache{s.keys[m].data(), s.values[m].data(), s.capacity};
            s.softmax[m].Decode(w, a, rows, d_slots, d_positions, d_lengths, cache, &act->softmax,
                                y);
          }
        });
  }
  HeadLogits(s, x, d_identity, rows, logits);
  for (int r = 0; r < rows; ++r) ++s.lengths[slots[r]];
  return Status::Ok();
}

}  // namespace lightrl::model
