#include "model/param_arena.h"

#include <cstring>

#include "core/logging.h"
#include "model/safetensors.h"

namespace lightrl::model {
namespace {

std::string LayerName(int layer, std::string_view suffix) {
  return "model.layers." + std::to_string(layer) + "." + std::string(suffix);
}

uint64_t Mix(uint64_t hash, uint64_t value) {
  hash ^= value + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2);
  return hash * 0xff51afd7ed558ccdull;
}

uint64_t HashString(uint64_t hash, std::string_view text) {
  for (char c : text) hash = Mix(hash, static_cast<unsigned char>(c));
  return Mix(hash, text.size());
}

template <typename T>
std::string_view ArenaDType() {
  return sizeof(T) == 4 ? "F32" : "F64";
}

std::string Describe(const ByteLayoutEntry& e) {
  return "'" + e.name + "' " + e.dtype + " " + ShapeToString(e.shape) + " at byte " +
         std::to_string(e.byte_offset);
}

}  // namespace

void ParamLayout::Add(std::string name, std::vector<int64_t> shape) {
  TensorInfo info;
  info.name = std::move(name);
  info.numel = static_cast<size_t>(NumElements(shape));
  info.weight_decay = shape.size() >= 2;
  info.shape = std::move(shape);
  info.offset = total_;
  total_ += info.numel;
  tensors_.push_back(std::move(info));
}

ParamLayout ParamLayout::ForConfig(const ModelConfig& c) {
  ParamLayout layout;
  const int64_t h = c.hidden_size, inner = static_cast<int64_t>(c.num_attention_heads) * c.head_dim;
  const int64_t kv = static_cast<int64_t>(c.num_key_value_heads) * c.head_dim;
  layout.Add("model.embed_tokens.weight", {c.vocab_size, h});
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    layout.Add(LayerName(i, "input_layernorm.weight"), {h});
    if (c.layer_types[i] == AttentionType::kLightning) {
      layout.Add(LayerName(i, "self_attn.qkv_proj.weight"), {3 * inner, h});
      layout.Add(LayerName(i, "self_attn.output_gate.weight"), {inner, h});
      layout.Add(LayerName(i, "self_attn.norm.weight"), {inner});
      layout.Add(LayerName(i, "self_attn.out_proj.weight"), {h, inner});
    } else {
      layout.Add(LayerName(i, "self_attn.q_proj.weight"), {inner, h});
      layout.Add(LayerName(i, "self_attn.k_proj.weight"), {kv, h});
      layout.Add(LayerName(i, "self_attn.v_proj.weight"), {kv, h});
      layout.Add(LayerName(i, "self_attn.o_proj.weight"), {h, inner});
    }
    layout.Add(LayerName(i, "post_attention_layernorm.weight"), {h});
    layout.Add(LayerName(i, "block_sparse_moe.gate.weight"), {c.num_local_experts, h});
    for (int e = 0; e < c.num_local_experts; ++e) {
      const std::string expert = "block_sparse_moe.experts." + std::to_string(e) + ".";
      layout.Add(LayerName(i, expert + "w1.weight"), {c.intermediate_size, h});
      layout.Add(LayerName(i, expert + "w3.weight"), {c.intermediate_size, h});
      layout.Add(LayerName(i, expert + "w2.weight"), {h, c.intermediate_size});
    }
  }
  layout.Add("model.norm.weight", {h});
  layout.Add("lm_head.weight", {c.vocab_size, h});
  return layout;
}

const TensorInfo* ParamLayout::Find(std::string_view name) const {
  for (const TensorInfo& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const TensorInfo& ParamLayout::Get(std::string_view name) const {
  const TensorInfo* info = Find(name);
  CHECK(info != nullptr) << "no parameter " << name;
  return *info;
}

uint64_t ParamLayout::Fingerprint() const {
  uint64_t hash = 0x6c69676874726cull;
  for (const TensorInfo& t : tensors_) {
    hash = HashString(hash, t.name);
    for (int64_t d : t.shape) hash = Mix(hash, static_cast<uint64_t>(d));
    hash = Mix(hash, t.offset);
  }
  return hash;
}

template <typename T>
ParamArena<T>::ParamArena(ParamLayout layout)
    : layout_(std::move(layout)), values_(layout_.total_elements(), T(0)) {}

template <typename T>
void ParamArena<T>::Fill(T value) {
  std::fill(values_.begin(), values_.end(), value);
}

template <typename T>
std::vector<ByteLayoutEntry> ParamArena<T>::ByteLayout() const {
  std::vector<ByteLayoutEntry> entries;
  for (const TensorInfo& t : layout_.tensors()) {
    entries.push_back(
        {t.name, std::string(ArenaDType<T>()), t.shape, t.offset * sizeof(T), t.numel * sizeof(T)});
  }
  return entries;
}

template <typename T>
std::span<const std::byte> ParamArena<T>::Bytes() const {
  return std::as_bytes(std::span<const T>(values_));
}

template <typename T>
Status ParamArena<T>::CheckSize(size_t bytes) const {
  if (bytes == values_.size() * sizeof(T)) return Status::Ok();
  return InvalidArgumentError("weights: got " + std::to_string(bytes) +
                              " bytes, the layout needs " +
                              std::to_string(values_.size() * sizeof(T)));
}

template <typename T>
Status ParamArena<T>::ImportBytes(std::span<const std::byte> bytes,
                                  const std::vector<ByteLayoutEntry>& sender_layout) {
  const std::vector<ByteLayoutEntry> mine = ByteLayout();
  for (size_t i = 0; i < std::max(mine.size(), sender_layout.size()); ++i) {
    if (i < mine.size() && i < sender_layout.size() && mine[i] == sender_layout[i]) continue;
    const std::string theirs = i < sender_layout.size() ? Describe(sender_layout[i]) : "nothing";
    const std::string ours = i < mine.size() ? Describe(mine[i]) : "nothing";
    return InvalidArgumentError("weights: layout mismatch at tensor " + std::to_string(i) +
                                ": sender has " + theirs + ", this model has " + ours);
  }
  RETURN_IF_ERROR(CheckSize(bytes.size()));
  std::memcpy(values_.data(), bytes.data(), bytes.size());
  return Status::Ok();
}

template <typename T>
Status ParamArena<T>::ImportBytes(std::span<const std::byte> bytes, uint64_t sender_fingerprint) {
  if (sender_fingerprint != layout_.Fingerprint()) {
    return InvalidArgumentError(
        "weights: layout fingerprint " + std::to_string(sender_fingerprint) +
        " does not match this model's " + std::to_string(layout_.Fingerprint()));
  }
  RETURN_IF_ERROR(CheckSize(bytes.size()));
  std::memcpy(values_.data(), bytes.data(), bytes.size());
  return Status::Ok();
}

template class ParamArena<float>;
template class ParamArena<double>;

}  // namespace lightrl::model
