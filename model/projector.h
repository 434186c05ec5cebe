// How a layer multiplies its rows by a weight: kernels::MatMulWt with the precision mode's
// options. MatMulWt is row-stable, so training, prefill and batched decoding give a token
// the same projection bits however many rows are computed with it.
#ifndef LIGHTRL_MODEL_PROJECTOR_H_
#define LIGHTRL_MODEL_PROJECTOR_H_

#include "kernels/gemm.h"

namespace lightrl::model {

struct Projector {
  kernels::GemmOptions gemm;

  // c[m×n] = a[m×k] · w[n×k]ᵀ.
  template <typename T>
  void operator()(const T* a, int m, int k, const T* w, int n, T* c) const {
    kernels::MatMulWt(a, m, k, w, n, c, gemm);
  }
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_PROJECTOR_H_
