#include "learner/weights_export.h"

#include <cstring>

namespace lightrl {

WeightsImage ExportWeights(const model::ParamArena<float>& params, uint64_t version) {
  WeightsImage image;
  image.version = version;
  std::span<const std::byte> bytes = params.Bytes();
  auto copy = std::make_shared<std::vector<uint8_t>>(bytes.size());
  std::memcpy(copy->data(), bytes.data(), bytes.size());
  image.bytes = std::move(copy);
  for (const model::ByteLayoutEntry& e : params.ByteLayout()) {
    TensorLayout t;
    t.name = e.name;
    t.dtype = proto::DType::F32;
    t.shape.assign(e.shape.begin(), e.shape.end());
    t.offset = e.byte_offset;
    t.byte_size = e.byte_size;
    image.tensors.push_back(std::move(t));
  }
  return image;
}

}  // namespace lightrl
