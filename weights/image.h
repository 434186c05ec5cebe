// A policy version as a transferable image: the parameter arena's bytes back to back, with
// the layout of every tensor, and the reusable host buffers that hold images.
#ifndef LIGHTRL_WEIGHTS_IMAGE_H_
#define LIGHTRL_WEIGHTS_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/param_arena.h"
#include "proto/lightrl.capnp.h"

namespace lightrl {

struct TensorLayout {
  std::string name;
  proto::DType dtype = proto::DType::F32;
  std::vector<uint64_t> shape;
  uint64_t offset = 0;
  uint64_t byte_size = 0;
};

// One policy version: the bytes of every tensor, back to back as the layout says.
struct WeightsImage {
  uint64_t version = 0;
  std::vector<TensorLayout> tensors;
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  uint32_t checksum = 0;  // CRC32C of *bytes.
};

// Checks that the layout's tensors lie inside `byte_size`, do not overlap and have sizes that
// match their shapes and dtypes. Errors: InvalidArgument naming the tensor.
Status ValidateLayout(const std::vector<TensorLayout>& tensors, uint64_t byte_size);

// The layout of the arena's bytes as image tensors.
std::vector<TensorLayout> WeightsLayout(const model::ParamArena<float>& params);

// A copy of the arena's bytes with their layout (checksum not set).
WeightsImage ExportWeights(const model::ParamArena<float>& params, uint64_t version);

// Host buffers of one size for weight images, reused: a buffer returns here once the last
// image holding it is gone, so that publishing a version does not pay a fresh allocation's
// page faults and zero fill (seconds for a multi-GB image). At most `max_idle` returned
// buffers are kept; others are freed. Thread-safe; buffers may outlive the pool.
class ImageBuffers {
 public:
  ImageBuffers(size_t bytes, size_t max_idle);
  // A buffer of `bytes` bytes; its contents are those of an earlier image, or zeros.
  std::shared_ptr<std::vector<uint8_t>> Acquire();

 private:
  struct Idle {
    std::mutex mu;
    std::vector<std::unique_ptr<std::vector<uint8_t>>> buffers;
    size_t max = 0;
  };
  size_t bytes_;
  std::shared_ptr<Idle> idle_;
};

}  // namespace lightrl

#endif  // LIGHTRL_WEIGHTS_IMAGE_H_
