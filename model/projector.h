// How a layer multiplies its rows by a weight: in one GEMM (training, prefill) or in
// fixed-size row groups (batched decoding, so a sequence's numbers do not depend on the
// other sequences of the batch; see kernels::MatMulWtRowGroups).
#ifndef LIGHTRL_MODEL_PROJECTOR_H_
#define LIGHTRL_MODEL_PROJECTOR_H_

#include "kernels/gemm.h"

namespace lightrl::model {

struct Projector {
  kernels::GemmOptions gemm;
  int row_group = 0;  // 0: one GEMM over all rows

  // c[m×n] = a[m×k] · w[n×k]ᵀ.
  template <typename T>
  void operator()(const T* a, int m, int k, const T* w, int n, T* c) const {
    if (row_group > 0) {
      kernels::MatMulWtRowGroups(a, m, k, w, n, c, row_group, gemm);
    } else {
      kernels::MatMulWt(a, m, k, w, n, c, false, gemm);
    }
  }
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_PROJECTOR_H_
