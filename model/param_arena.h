// All parameters of a model in one contiguous array (the "arena"), and its layout.
//
// The layout lists every tensor under transformers' MiniMax name, in a fixed order, with
// its shape and offset. One array makes weight transfer a single byte copy and lets
// AdamW run over the whole model at once. The order places tensors that share an input
// back to back, so the model can multiply them as one fused matrix:
//   self_attn.qkv_proj + self_attn.output_gate     (lightning layers)
//   self_attn.q_proj + k_proj + v_proj              (softmax layers)
//   experts.j.w1 + experts.j.w3                     (gate and up of each expert)
//
// Thread-safety: a layout is immutable. An arena is a plain buffer: readers may share it;
// a writer (optimizer step, import) needs exclusive access.
#ifndef LIGHTRL_MODEL_PARAM_ARENA_H_
#define LIGHTRL_MODEL_PARAM_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/config.h"

namespace lightrl::model {

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  size_t offset = 0;  // in elements
  size_t numel = 0;
  bool weight_decay = false;  // matrices decay, norm weights do not
};

class ParamLayout {
 public:
  static ParamLayout ForConfig(const ModelConfig& config);

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  size_t total_elements() const { return total_; }
  // Null if there is no such tensor.
  const TensorInfo* Find(std::string_view name) const;
  // The tensor `name`; dies if it does not exist (names built by the model itself).
  const TensorInfo& Get(std::string_view name) const;
  // A hash of every name, shape and offset: equal fingerprints mean equal layouts.
  uint64_t Fingerprint() const;

 private:
  void Add(std::string name, std::vector<int64_t> shape);

  std::vector<TensorInfo> tensors_;
  size_t total_ = 0;
};

// One tensor of an exported arena, in bytes.
struct ByteLayoutEntry {
  std::string name;
  std::string dtype;  // "F32" or "F64"
  std::vector<int64_t> shape;
  size_t byte_offset = 0;
  size_t byte_size = 0;
  bool operator==(const ByteLayoutEntry&) const = default;
};

template <typename T>
class ParamArena {
 public:
  explicit ParamArena(ParamLayout layout);

  const ParamLayout& layout() const { return layout_; }
  T* data() { return values_.data(); }
  const T* data() const { return values_.data(); }
  size_t size() const { return values_.size(); }
  T* Tensor(std::string_view name) { return values_.data() + layout_.Get(name).offset; }
  const T* Tensor(std::string_view name) const { return values_.data() + layout_.Get(name).offset; }
  void Fill(T value);

  // The layout with byte offsets and sizes, as a receiver of Bytes() must interpret them.
  std::vector<ByteLayoutEntry> ByteLayout() const;
  // The whole arena as bytes (valid until the arena is destroyed or resized).
  std::span<const std::byte> Bytes() const;
  // Replaces every value with `bytes`, which a sender with `sender_layout` exported.
  // InvalidArgument (nothing changed) when the layouts differ (the message names the
  // first differing tensor) or the byte count is not the layout's size.
  Status ImportBytes(std::span<const std::byte> bytes,
                     const std::vector<ByteLayoutEntry>& sender_layout);
  // The same, checked against the sender's ParamLayout::Fingerprint().
  Status ImportBytes(std::span<const std::byte> bytes, uint64_t sender_fingerprint);

 private:
  Status CheckSize(size_t bytes) const;

  ParamLayout layout_;
  std::vector<T> values_;
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_PARAM_ARENA_H_
