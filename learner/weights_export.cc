#include "learner/weights_export.h"

#include <cstring>

namespace lightrl {

std::vector<TensorLayout> WeightsLayout(const model::ParamArena<float>& params) {
  std::vector<TensorLayout> tensors;
  for (const model::ByteLayoutEntry& e : params.ByteLayout()) {
    TensorLayout t;
    t.name = e.name;
    t.dtype = proto::DType::F32;
    t.shape.assign(e.shape.begin(), e.shape.end());
    t.offset = e.byte_offset;
    t.byte_size = e.byte_size;
    tensors.push_back(std::move(t));
  }
  return tensors;
}

WeightsImage ExportWeights(const model::ParamArena<float>& params, uint64_t version) {
  WeightsImage image;
  image.version = version;
  std::span<const std::byte> bytes = params.Bytes();
  auto copy = std::make_shared<std::vector<uint8_t>>(bytes.size());
  std::memcpy(copy->data(), bytes.data(), bytes.size());
  image.bytes = std::move(copy);
  image.tensors = WeightsLayout(params);
  return image;
}

ImageBuffers::ImageBuffers(size_t bytes, size_t max_idle)
    : bytes_(bytes), idle_(std::make_shared<Idle>()) {
  idle_->max = max_idle;
}

std::shared_ptr<std::vector<uint8_t>> ImageBuffers::Acquire() {
  std::unique_ptr<std::vector<uint8_t>> buffer;
  {
    std::lock_guard<std::mutex> lock(idle_->mu);
    if (!idle_->buffers.empty()) {
      buffer = std::move(idle_->buffers.back());
      idle_->buffers.pop_back();
    }
  }
  if (buffer == nullptr) buffer = std::make_unique<std::vector<uint8_t>>(bytes_);
  return std::shared_ptr<std::vector<uint8_t>>(
      buffer.release(), [idle = std::weak_ptr<Idle>(idle_)](std::vector<uint8_t>* returned) {
        std::unique_ptr<std::vector<uint8_t>> owned(returned);
        if (std::shared_ptr<Idle> pool = idle.lock()) {
          std::lock_guard<std::mutex> lock(pool->mu);
          if (pool->buffers.size() < pool->max) pool->buffers.push_back(std::move(owned));
        }
      });
}

}  // namespace lightrl
