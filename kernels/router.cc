#include "kernels/router.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "core/logging.h"
#include "kernels/fast_exp.h"
#include "kernels/parallel.h"

namespace lightrl::kernels {

template <typename T>
void RouterLogits(const T* x, int rows, int hidden, const T* gate, int experts, T* logits) {
  ParallelForIndex(rows, static_cast<int64_t>(hidden) * experts, [&](int64_t r) {
    const T* row = x + static_cast<size_t>(r) * hidden;
    for (int e = 0; e < experts; ++e) {
      const T* g = gate + static_cast<size_t>(e) * hidden;
      T dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int c = 0; c < hidden; ++c) dot += row[c] * g[c];
      logits[static_cast<size_t>(r) * experts + e] = dot;
    }
  });
}

template <typename T>
void RouterForward(const T* logits, int rows, int experts, int top_k, T* probs, int32_t* indices,
                   T* weights) {
  CHECK(top_k >= 1 && top_k <= experts);
  ParallelForIndex(rows, experts * top_k, [&](int64_t r) {
    const T* l = logits + static_cast<size_t>(r) * experts;
    T* p = probs + static_cast<size_t>(r) * experts;
    const T max_logit = *std::max_element(l, l + experts);
    T sum = 0;
    for (int e = 0; e < experts; ++e) {
      p[e] = Exp(l[e] - max_logit);
      sum += p[e];
    }
    for (int e = 0; e < experts; ++e) p[e] /= sum;
    int32_t* idx = indices + static_cast<size_t>(r) * top_k;
    T* w = weights + static_cast<size_t>(r) * top_k;
    T chosen_sum = 0;
    for (int slot = 0; slot < top_k; ++slot) {
      int best = -1;
      for (int e = 0; e < experts; ++e) {
        if (std::find(idx, idx + slot, e) != idx + slot) continue;
        if (best < 0 || p[e] > p[best]) best = e;
      }
      idx[slot] = best;
      w[slot] = p[best];
      chosen_sum += p[best];
    }
    for (int slot = 0; slot < top_k; ++slot) w[slot] /= chosen_sum;
  });
}

template <typename T>
void RouterBackward(const T* probs, const int32_t* indices, const T* weights, const T* dweights,
                    const T* dprobs, int rows, int experts, int top_k, T* dlogits) {
  ParallelForIndex(rows, experts * top_k, [&](int64_t r) {
    const T* p = probs + static_cast<size_t>(r) * experts;
    const int32_t* idx = indices + static_cast<size_t>(r) * top_k;
    const T* w = weights + static_cast<size_t>(r) * top_k;
    const T* dw = dweights + static_cast<size_t>(r) * top_k;
    T* dl = dlogits + static_cast<size_t>(r) * experts;
    // dl first holds ∂L/∂p, then becomes ∂L/∂logits.
    for (int e = 0; e < experts; ++e)
      dl[e] = dprobs ? dprobs[static_cast<size_t>(r) * experts + e] : T(0);
    T chosen_sum = 0, weighted = 0;
    for (int slot = 0; slot < top_k; ++slot) {
      chosen_sum += p[idx[slot]];
      weighted += dw[slot] * w[slot];
    }
    for (int slot = 0; slot < top_k; ++slot) dl[idx[slot]] += (dw[slot] - weighted) / chosen_sum;
    T mean = 0;
    for (int e = 0; e < experts; ++e) mean += p[e] * dl[e];
    for (int e = 0; e < experts; ++e) dl[e] = p[e] * (dl[e] - mean);
  });
}

template <typename T>
void RouterAccumulateStats(const T* probs, const int32_t* indices, int rows, int experts, int top_k,
                           double* routed, double* prob_sum) {
  for (int r = 0; r < rows; ++r) {
    for (int slot = 0; slot < top_k; ++slot)
      routed[indices[static_cast<size_t>(r) * top_k + slot]] += 1;
    for (int e = 0; e < experts; ++e) prob_sum[e] += probs[static_cast<size_t>(r) * experts + e];
  }
}

double RouterAuxLoss(const double* routed, const double* prob_sum, int experts, double total_rows) {
  if (total_rows <= 0) return 0;
  double loss = 0;
  for (int e = 0; e < experts; ++e) loss += (routed[e] / total_rows) * (prob_sum[e] / total_rows);
  return loss * experts;
}

void RouterAuxLossGradient(const double* routed, int experts, double total_rows,
                           double* dprob_per_expert) {
  for (int e = 0; e < experts; ++e) {
    dprob_per_expert[e] = total_rows > 0 ? experts * routed[e] / (total_rows * total_rows) : 0;
  }
}

#define LIGHTRL_INSTANTIATE_ROUTER(T)                                                          \
  template void RouterLogits<T>(const T*, int, int, const T*, int, T*);                        \
  template void RouterForward<T>(const T*, int, int, int, T*, int32_t*, T*);                   \
  template void RouterBackward<T>(const T*, const int32_t*, const T*, const T*, const T*, int, \
                                  int, int, T*);                                               \
  template void RouterAccumulateStats<T>(const T*, const int32_t*, int, int, int, double*, double*);
LIGHTRL_INSTANTIATE_ROUTER(float)
LIGHTRL_INSTANTIATE_ROUTER(double)
#undef LIGHTRL_INSTANTIATE_ROUTER

}  // namespace lightrl::kernels
