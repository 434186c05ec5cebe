#include "kernels/lightning.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/logging.h"

namespace lightrl::kernels {

template <typename T>
T LightningSlope(int head, int num_heads, int layer, int num_layers) {
  const T base = static_cast<T>(1.0 / std::pow(2.0, 8.0 / num_heads));
  const T rate = std::pow(base, static_cast<T>(head + 1));
  const double factor = 1.0 - layer / (num_layers - 1 + 1e-5) + 1e-5;
  return rate * static_cast<T>(factor);
}

template <typename T>
std::vector<T> LightningDecayTable(T slope, int block) {
  std::vector<T> table(block + 1);
  for (int n = 0; n <= block; ++n) table[n] = std::exp(-slope * static_cast<T>(n));
  return table;
}

template <typename T>
__attribute__((noinline)) void LightningBlockRow(const T* q, const T* k, ptrdiff_t ldk, const T* v,
                                                 ptrdiff_t ldv, int i, const T* state,
                                                 const T* decay, int dim, T* out) {
  T inter[kMaxLightningHeadDim];
  T intra[kMaxLightningHeadDim];
  for (int c = 0; c < dim; ++c) inter[c] = intra[c] = T(0);
  const T q_decay = decay[i + 1];
  for (int r = 0; r < dim; ++r) {
    const T w = q[r] * q_decay;
    const T* s_row = state + static_cast<size_t>(r) * dim;
#pragma omp simd
    for (int c = 0; c < dim; ++c) inter[c] += w * s_row[c];
  }
  for (int j = 0; j <= i; ++j) {
    const T* kj = k + j * ldk;
    const T* vj = v + j * ldv;
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int c = 0; c < dim; ++c) dot += q[c] * kj[c];
    const T w = dot * decay[i - j];
#pragma omp simd
    for (int c = 0; c < dim; ++c) intra[c] += w * vj[c];
  }
  for (int c = 0; c < dim; ++c) out[c] = inter[c] + intra[c];
}

template <typename T>
__attribute__((noinline)) void LightningFoldBlock(const T* k, ptrdiff_t ldk, const T* v,
                                                  ptrdiff_t ldv, int m, const T* decay, int dim,
                                                  T* state) {
  std::vector<T> update(static_cast<size_t>(dim) * dim, T(0));
  for (int j = 0; j < m; ++j) {
    const T* kj = k + j * ldk;
    const T* vj = v + j * ldv;
    const T k_decay = decay[m - 1 - j];
    for (int r = 0; r < dim; ++r) {
      const T w = kj[r] * k_decay;
      T* u_row = update.data() + static_cast<size_t>(r) * dim;
#pragma omp simd
      for (int c = 0; c < dim; ++c) u_row[c] += w * vj[c];
    }
  }
  const T block_decay = decay[m];
  for (size_t e = 0; e < update.size(); ++e) state[e] = state[e] * block_decay + update[e];
}

template <typename T>
void LightningSequenceForward(const LightningHeadView<T>& in, int len, int dim, const T* decay,
                              int block, T* out, ptrdiff_t ldo, T* state) {
  CHECK(dim > 0 && dim <= kMaxLightningHeadDim) << "lightning head dim " << dim;
  CHECK_GT(block, 0);
  for (int start = 0; start < len; start += block) {
    const int m = std::min(block, len - start);
    const T* k = in.k + start * in.ldk;
    const T* v = in.v + start * in.ldv;
    for (int i = 0; i < m; ++i) {
      LightningBlockRow(in.q + (start + i) * in.ldq, k, in.ldk, v, in.ldv, i, state, decay, dim,
                        out + (start + i) * ldo);
    }
    if (m == block) LightningFoldBlock(k, in.ldk, v, in.ldv, m, decay, dim, state);
  }
}

namespace {

template <typename T>
std::vector<std::vector<T>> DecayTables(const LightningShape& shape, const T* slopes) {
  std::vector<std::vector<T>> tables(shape.heads);
  for (int h = 0; h < shape.heads; ++h) tables[h] = LightningDecayTable(slopes[h], shape.block);
  return tables;
}

// Runs `body(seq, head, state)` for every (sequence, head) pair, in parallel, with a
// zeroed dim × dim state per call.
template <typename T, typename Body>
void ForEachSequenceHead(int num_seqs, const LightningShape& shape, Body&& body) {
  const int pairs = num_seqs * shape.heads;
#pragma omp parallel
  {
    std::vector<T> state(static_cast<size_t>(shape.dim) * shape.dim);
#pragma omp for schedule(dynamic, 1)
    for (int p = 0; p < pairs; ++p) {
      std::fill(state.begin(), state.end(), T(0));
      body(p / shape.heads, p % shape.heads, state.data());
    }
  }
}

// A view of `len` rows starting at `first`, read forward or (reversed) from the last row.
template <typename T>
const T* RowStart(const T* first, int len, ptrdiff_t ld, bool reversed) {
  return reversed ? first + (len - 1) * ld : first;
}

}  // namespace

template <typename T>
void LightningForward(const T* qkv, int ld, const int32_t* seq_offsets, int num_seqs,
                      const LightningShape& shape, const T* slopes, T* out) {
  const auto tables = DecayTables(shape, slopes);
  const int d = shape.dim;
  const ptrdiff_t ldo = static_cast<ptrdiff_t>(shape.heads) * d;
  ForEachSequenceHead<T>(num_seqs, shape, [&](int s, int h, T* state) {
    const ptrdiff_t row0 = seq_offsets[s];
    const T* base = qkv + row0 * ld + 3 * h * d;
    const LightningHeadView<T> view{base, base + d, base + 2 * d, ld, ld, ld};
    LightningSequenceForward(view, seq_offsets[s + 1] - seq_offsets[s], d, tables[h].data(),
                             shape.block, out + row0 * ldo + h * d, ldo, state);
  });
}

template <typename T>
void LightningBackward(const T* qkv, int ld, const T* dout, const int32_t* seq_offsets,
                       int num_seqs, const LightningShape& shape, const T* slopes, T* dqkv) {
  const auto tables = DecayTables(shape, slopes);
  const int d = shape.dim;
  const ptrdiff_t ldo = static_cast<ptrdiff_t>(shape.heads) * d;
  ForEachSequenceHead<T>(num_seqs, shape, [&](int s, int h, T* state) {
    const ptrdiff_t row0 = seq_offsets[s];
    const int len = seq_offsets[s + 1] - seq_offsets[s];
    const T* q = qkv + row0 * ld + 3 * h * d;
    const T* k = q + d;
    const T* v = q + 2 * d;
    const T* g = dout + row0 * ldo + h * d;
    T* dq = dqkv + row0 * ld + 3 * h * d;
    T* dk = dq + d;
    T* dv = dq + 2 * d;
    const T* decay = tables[h].data();
    // dq_t = Σ_{u≤t} λ^{t−u} (g_t · v_u) k_u: the forward with (q, k, v) := (g, v, k).
    LightningSequenceForward<T>({g, v, k, ldo, ld, ld}, len, d, decay, shape.block, dq, ld, state);
    // dk_u = Σ_{t≥u} λ^{t−u} (v_u · g_t) q_t and dv_u = Σ_{t≥u} λ^{t−u} (k_u · q_t) g_t: the
    // forward in reversed time with (v, g, q) and (k, q, g).
    const ptrdiff_t r_ld = -static_cast<ptrdiff_t>(ld);
    const LightningHeadView<T> for_dk{RowStart(v, len, ld, true),
                                      RowStart(g, len, ldo, true),
                                      RowStart(q, len, ld, true),
                                      r_ld,
                                      -ldo,
                                      r_ld};
    std::fill(state, state + static_cast<size_t>(d) * d, T(0));
    LightningSequenceForward(for_dk, len, d, decay, shape.block, dk + (len - 1) * ld, r_ld, state);
    const LightningHeadView<T> for_dv{RowStart(k, len, ld, true),
                                      RowStart(q, len, ld, true),
                                      RowStart(g, len, ldo, true),
                                      r_ld,
                                      r_ld,
                                      -ldo};
    std::fill(state, state + static_cast<size_t>(d) * d, T(0));
    LightningSequenceForward(for_dv, len, d, decay, shape.block, dv + (len - 1) * ld, r_ld, state);
  });
}

#define LIGHTRL_INSTANTIATE_LIGHTNING(T)                                                          \
  template T LightningSlope<T>(int, int, int, int);                                               \
  template std::vector<T> LightningDecayTable<T>(T, int);                                         \
  template void LightningBlockRow<T>(const T*, const T*, ptrdiff_t, const T*, ptrdiff_t, int,     \
                                     const T*, const T*, int, T*);                                \
  template void LightningFoldBlock<T>(const T*, ptrdiff_t, const T*, ptrdiff_t, int, const T*,    \
                                      int, T*);                                                   \
  template void LightningSequenceForward<T>(const LightningHeadView<T>&, int, int, const T*, int, \
                                            T*, ptrdiff_t, T*);                                   \
  template void LightningForward<T>(const T*, int, const int32_t*, int, const LightningShape&,    \
                                    const T*, T*);                                                \
  template void LightningBackward<T>(const T*, int, const T*, const int32_t*, int,                \
                                     const LightningShape&, const T*, T*);
LIGHTRL_INSTANTIATE_LIGHTNING(float)
LIGHTRL_INSTANTIATE_LIGHTNING(double)
#undef LIGHTRL_INSTANTIATE_LIGHTNING

}  // namespace lightrl::kernels
