#include "weights/image.h"

#include <algorithm>
#include <cstring>

namespace lightrl {
namespace {

uint64_t DTypeBytes(proto::DType dtype) {
  switch (dtype) {
    case proto::DType::F32:
    case proto::DType::I32:
      return 4;
    case proto::DType::BF16:
    case proto::DType::F16:
      return 2;
    case proto::DType::I64:
      return 8;
    case proto::DType::U8:
      return 1;
  }
  return 0;
}

}  // namespace

Status ValidateLayout(const std::vector<TensorLayout>& tensors, uint64_t byte_size) {
  std::vector<const TensorLayout*> by_offset;
  for (const TensorLayout& t : tensors) {
    uint64_t elements = 1;
    for (uint64_t d : t.shape) elements *= d;
    uint64_t element_bytes = DTypeBytes(t.dtype);
    if (element_bytes == 0) return InvalidArgumentError("tensor " + t.name + ": unknown dtype");
    if (elements * element_bytes != t.byte_size) {
      return InvalidArgumentError("tensor " + t.name + ": shape and dtype give " +
                                  std::to_string(elements * element_bytes) +
                                  " bytes, layout says " + std::to_string(t.byte_size));
    }
    if (t.offset > byte_size || t.byte_size > byte_size - t.offset) {
      return InvalidArgumentError("tensor " + t.name + ": bytes [" + std::to_string(t.offset) +
                                  ", " + std::to_string(t.offset + t.byte_size) +
                                  ") lie outside the " + std::to_string(byte_size) + "-byte image");
    }
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorLayout* a, const TensorLayout* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i - 1]->offset + by_offset[i - 1]->byte_size > by_offset[i]->offset) {
      return InvalidArgumentError("tensors " + by_offset[i - 1]->name + " and " +
                                  by_offset[i]->name + " overlap");
    }
  }
  return Status::Ok();
}

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
