// Scratch buffers that persist between calls, so that large temporaries of a training step
// are allocated (and page-faulted) once instead of every step.
//
// Each user asks for a fixed slot; the slots below are the whole list, so that callers
// and callees never share one. Contents are unspecified when handed out.
// Thread-safety: not thread-safe; owned by one model.
#ifndef LIGHTRL_MODEL_WORKSPACE_H_
#define LIGHTRL_MODEL_WORKSPACE_H_

#include <cstddef>
#include <vector>

namespace lightrl::model {

enum class Slot {
  kTrunk,    // the model: residual stream of a forward
  kDx,       // the model: gradient of the residual stream
  kDBranch,  // the model: gradient into a layer's branch
  kDNorm,    // the model: gradient into a layer's normed input
  kDHead,    // the model: gradient of the head rows
  kLayerA,   // a layer's backward, four buffers
  kLayerB,
  kLayerC,
  kLayerD,
  kCount
};

template <typename T>
class Workspace {
 public:
  // At least n elements for `slot`.
  T* Get(Slot slot, size_t n) {
    std::vector<T>& buffer = buffers_[static_cast<size_t>(slot)];
    if (buffer.size() < n) buffer.resize(n);
    return buffer.data();
  }

 private:
  std::vector<T> buffers_[static_cast<size_t>(Slot::kCount)];
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_WORKSPACE_H_
