#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/logging.h"

namespace lightrl::kernels {

template <typename T>
__attribute__((noinline)) void AttentionRow(const T* q, const T* k, ptrdiff_t ldk, const T* v,
                                            ptrdiff_t ldv, int n, int dim, T scale, T* out, T* lse,
                                            T* scores) {
  T max_score = -std::numeric_limits<T>::infinity();
  for (int j = 0; j < n; ++j) {
    const T* kj = k + j * ldk;
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int c = 0; c < dim; ++c) dot += q[c] * kj[c];
    scores[j] = dot * scale;
    max_score = std::max(max_score, scores[j]);
  }
  T sum = 0;
  for (int j = 0; j < n; ++j) {
    scores[j] = std::exp(scores[j] - max_score);
    sum += scores[j];
  }
  for (int c = 0; c < dim; ++c) out[c] = T(0);
  for (int j = 0; j < n; ++j) {
    const T p = scores[j] / sum;
    const T* vj = v + j * ldv;
#pragma omp simd
    for (int c = 0; c < dim; ++c) out[c] += p * vj[c];
  }
  *lse = max_score + std::log(sum);
}

namespace {

int MaxLength(const int32_t* seq_offsets, int num_seqs) {
  int longest = 0;
  for (int s = 0; s < num_seqs; ++s)
    longest = std::max(longest, seq_offsets[s + 1] - seq_offsets[s]);
  return longest;
}

}  // namespace

template <typename T>
void AttentionForward(const T* q, int ldq, const T* k, int ldk, const T* v, int ldv,
                      const int32_t* seq_offsets, int num_seqs, const AttentionShape& shape, T* out,
                      T* lse) {
  CHECK(shape.kv_heads > 0 && shape.heads % shape.kv_heads == 0);
  const int group = shape.heads / shape.kv_heads;
  const int d = shape.head_dim;
  const int ldo = shape.heads * d;
  const int longest = MaxLength(seq_offsets, num_seqs);
  const int tasks = num_seqs * shape.heads;
#pragma omp parallel
  {
    std::vector<T> scores(longest);
#pragma omp for schedule(dynamic, 1)
    for (int task = 0; task < tasks; ++task) {
      const int s = task / shape.heads, h = task % shape.heads, g = h / group;
      const ptrdiff_t row0 = seq_offsets[s];
      const T* ks = k + row0 * ldk + g * d;
      const T* vs = v + row0 * ldv + g * d;
      for (int t = 0; t < seq_offsets[s + 1] - row0; ++t) {
        const ptrdiff_t row = row0 + t;
        AttentionRow(q + row * ldq + h * d, ks, ldk, vs, ldv, t + 1, d, static_cast<T>(shape.scale),
                     out + row * ldo + h * d, lse + row * shape.heads + h, scores.data());
      }
    }
  }
}

template <typename T>
void AttentionBackward(const T* q, int ldq, const T* k, int ldk, const T* v, int ldv, const T* out,
                       const T* lse, const T* dout, const int32_t* seq_offsets, int num_seqs,
                       const AttentionShape& shape, T* dq, T* dk, T* dv) {
  const int group = shape.heads / shape.kv_heads;
  const int d = shape.head_dim;
  const int ldo = shape.heads * d;
  const T scale = static_cast<T>(shape.scale);
  // Parallel over (sequence, kv head): the query heads of a group accumulate into the
  // same dk/dv rows, so one task owns them.
  const int tasks = num_seqs * shape.kv_heads;
#pragma omp parallel for schedule(dynamic, 1)
  for (int task = 0; task < tasks; ++task) {
    const int s = task / shape.kv_heads, g = task % shape.kv_heads;
    const ptrdiff_t row0 = seq_offsets[s];
    const int len = seq_offsets[s + 1] - static_cast<int>(row0);
    for (int t = 0; t < len; ++t) {
      std::fill_n(dk + (row0 + t) * ldk + g * d, d, T(0));
      std::fill_n(dv + (row0 + t) * ldv + g * d, d, T(0));
    }
    for (int h = g * group; h < (g + 1) * group; ++h) {
      for (int t = 0; t < len; ++t) {
        const ptrdiff_t row = row0 + t;
        const T* qt = q + row * ldq + h * d;
        const T* ot = out + row * ldo + h * d;
        const T* gt = dout + row * ldo + h * d;
        T* dqt = dq + row * ldq + h * d;
        T delta = 0;
        for (int c = 0; c < d; ++c) delta += gt[c] * ot[c];
        std::fill_n(dqt, d, T(0));
        const T row_lse = lse[row * shape.heads + h];
        for (int j = 0; j <= t; ++j) {
          const T* kj = k + (row0 + j) * ldk + g * d;
          const T* vj = v + (row0 + j) * ldv + g * d;
          T score = 0, dp = 0;
          for (int c = 0; c < d; ++c) {
            score += qt[c] * kj[c];
            dp += gt[c] * vj[c];
          }
          const T p = std::exp(score * scale - row_lse);
          const T ds = p * (dp - delta) * scale;
          T* dkj = dk + (row0 + j) * ldk + g * d;
          T* dvj = dv + (row0 + j) * ldv + g * d;
          for (int c = 0; c < d; ++c) {
            dqt[c] += ds * kj[c];
            dkj[c] += ds * qt[c];
            dvj[c] += p * gt[c];
          }
        }
      }
    }
  }
}

#define LIGHTRL_INSTANTIATE_ATTENTION(T)                                                         \
  template void AttentionRow<T>(const T*, const T*, ptrdiff_t, const T*, ptrdiff_t, int, int, T, \
                                T*, T*, T*);                                                     \
  template void AttentionForward<T>(const T*, int, const T*, int, const T*, int, const int32_t*, \
                                    int, const AttentionShape&, T*, T*);                         \
  template void AttentionBackward<T>(const T*, int, const T*, int, const T*, int, const T*,      \
                                     const T*, const T*, const int32_t*, int,                    \
                                     const AttentionShape&, T*, T*, T*);
LIGHTRL_INSTANTIATE_ATTENTION(float)
LIGHTRL_INSTANTIATE_ATTENTION(double)
#undef LIGHTRL_INSTANTIATE_ATTENTION

}  // namespace lightrl::kernels
