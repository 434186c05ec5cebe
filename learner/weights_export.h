// The learner's weights as transferable images (actors/weights.h): the parameter arena's
// bytes with its tensor layout, and the reusable host buffers that hold them.
#ifndef LIGHTRL_LEARNER_WEIGHTS_EXPORT_H_
#define LIGHTRL_LEARNER_WEIGHTS_EXPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/weights.h"
#include "model/param_arena.h"

namespace lightrl {

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

#endif  // LIGHTRL_LEARNER_WEIGHTS_EXPORT_H_
