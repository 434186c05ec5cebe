// Rotary position embedding (transformers' layout: "rotate half").
//
// For each head of each row, the first `rotary_dim` dims are rotated pairwise, dim i with
// dim i + rotary_dim/2, by the angle pos · θ^(−2i/rotary_dim); the remaining dims pass
// through. Angles are computed as transformers does (inverse frequency and angle in the
// scalar type, then cos/sin), per row, so a row's result does not depend on the batch.
// Thread-safety: reentrant; rows are split over the kernels' thread pool (parallel.h).
#ifndef LIGHTRL_KERNELS_ROPE_H_
#define LIGHTRL_KERNELS_ROPE_H_

#include <cstdint>

namespace lightrl::kernels {

struct RopeShape {
  int heads = 0;  // heads per row, stored back to back
  int head_dim = 0;
  int rotary_dim = 0;  // even, <= head_dim
  double theta = 10000.0;
};

// Rotates x in place: rows × (heads · head_dim) with row stride ld; positions[r] is the
// position of row r inside its sequence.
template <typename T>
void RopeForward(T* x, int rows, int ld, const RopeShape& shape, const int32_t* positions);

// The backward of RopeForward (the inverse rotation), in place on the gradient.
template <typename T>
void RopeBackward(T* dx, int rows, int ld, const RopeShape& shape, const int32_t* positions);

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_ROPE_H_
