#include "kernels/lm_head.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/logging.h"
#include "kernels/fast_exp.h"
#include "kernels/parallel.h"

namespace lightrl::kernels {

size_t LmHeadScratchSize(const LmHeadOptions& options, int dim) {
  return static_cast<size_t>(options.row_tile) * (static_cast<size_t>(dim) + options.vocab_chunk);
}

template <typename T>
T LseState<T>::Lse() const {
  return max + std::log(sum);
}

template <typename T>
T LseState<T>::Entropy() const {
  return std::log(sum) - weighted / sum;
}

template <typename T>
void ScaleLogits(T* logits, size_t n, double inv_temperature) {
  if (inv_temperature == 1.0) return;
  const T s = static_cast<T>(inv_temperature);
  for (size_t i = 0; i < n; ++i) logits[i] *= s;
}

// `weighted` is kept relative to the running max, Σ exp(l − max) · (l − max), so the
// entropy does not cancel large logits.
template <typename T>
__attribute__((noinline)) void LseAccumulate(const T* logits, int n, LseState<T>* state) {
  T new_max = state->max;
#pragma omp simd reduction(max : new_max)
  for (int j = 0; j < n; ++j) new_max = std::max(new_max, logits[j]);
  if (new_max == -std::numeric_limits<T>::infinity()) return;
  if (state->sum > T(0)) {
    const T shift = state->max - new_max;
    const T scale = std::exp(shift);
    state->weighted = scale * (state->weighted + shift * state->sum);
    state->sum *= scale;
  }
  T sum = 0, weighted = 0;
#pragma omp simd reduction(+ : sum, weighted)
  for (int j = 0; j < n; ++j) {
    const T centered = logits[j] - new_max;
    const T e = Exp(centered);
    sum += e;
    weighted += e * centered;
  }
  state->sum += sum;
  state->weighted += weighted;
  state->max = new_max;
}

template <typename T>
LseState<T> RowLse(const T* logits, int vocab, const LmHeadOptions& options) {
  LseState<T> state;
  for (int c0 = 0; c0 < vocab; c0 += options.vocab_chunk) {
    LseAccumulate(logits + c0, std::min(options.vocab_chunk, vocab - c0), &state);
  }
  return state;
}

namespace {

// The scratch: a padded tile of hidden rows, then the logits of that tile for one chunk.
template <typename T>
struct Tile {
  Tile(T* scratch, const LmHeadOptions& options, int dim)
      : options(options),
        dim(dim),
        rows(scratch),
        logits(scratch + static_cast<size_t>(options.row_tile) * dim) {}

  // Copies rows [r0, r0+n) of hidden into the tile, zero-filling the rest of it.
  void Load(const T* hidden, int r0, int n) {
    const size_t used = static_cast<size_t>(n) * dim;
    std::memcpy(rows, hidden + static_cast<size_t>(r0) * dim, used * sizeof(T));
    std::fill(rows + used, rows + static_cast<size_t>(options.row_tile) * dim, T(0));
  }

  // logits[row_tile × cn] = scaled tile · weight[c0 : c0+cn]ᵀ.
  void ComputeLogits(const T* weight, int c0, int cn) {
    MatMulWt(rows, options.row_tile, dim, weight + static_cast<size_t>(c0) * dim, cn, logits,
             options.gemm);
    ScaleLogits(logits, static_cast<size_t>(options.row_tile) * cn, options.inv_temperature);
  }

  // Loads rows [r0, r0+n) and calls chunk(c0, cn) with the logits of every vocabulary chunk.
  template <typename ChunkFn>
  void Sweep(const T* hidden, int r0, int n, const T* weight, int vocab, ChunkFn&& chunk) {
    Load(hidden, r0, n);
    for (int c0 = 0; c0 < vocab; c0 += options.vocab_chunk) {
      const int cn = std::min(options.vocab_chunk, vocab - c0);
      ComputeLogits(weight, c0, cn);
      chunk(c0, cn);
    }
  }

  const LmHeadOptions& options;
  int dim;
  T* rows;
  T* logits;
};

void CheckOptions(const LmHeadOptions& options) {
  CHECK(options.row_tile > 0 && options.vocab_chunk > 0 && options.inv_temperature > 0);
}

}  // namespace

template <typename T>
void LmHeadForward(const T* hidden, int rows, int dim, const T* weight, int vocab,
                   const int32_t* targets, const LmHeadOptions& options, T* scratch, T* logprob,
                   T* entropy, T* lse) {
  CheckOptions(options);
  for (int r = 0; r < rows; ++r) {
    CHECK(targets[r] >= 0 && targets[r] < vocab) << "target " << targets[r] << " of row " << r;
  }
  Tile<T> tile(scratch, options, dim);
  std::vector<LseState<T>> states(options.row_tile);
  std::vector<T> target_logit(options.row_tile);
  for (int r0 = 0; r0 < rows; r0 += options.row_tile) {
    const int n = std::min(options.row_tile, rows - r0);
    std::fill(states.begin(), states.end(), LseState<T>());
    tile.Sweep(hidden, r0, n, weight, vocab, [&](int c0, int cn) {
      ParallelForIndex(n, cn, [&](int64_t r) {
        const T* row = tile.logits + static_cast<size_t>(r) * cn;
        LseAccumulate(row, cn, &states[r]);
        const int t = targets[r0 + r];
        if (t >= c0 && t < c0 + cn) target_logit[r] = row[t - c0];
      });
    });
    for (int r = 0; r < n; ++r) {
      lse[r0 + r] = states[r].Lse();
      logprob[r0 + r] = target_logit[r] - lse[r0 + r];
      if (entropy != nullptr) entropy[r0 + r] = states[r].Entropy();
    }
  }
}

template <typename T>
void LmHeadBackward(const T* hidden, int rows, int dim, const T* weight, int vocab,
                    const int32_t* targets, const LmHeadOptions& options, const T* lse,
                    const T* entropy, const T* dlogprob, const T* dentropy, T* scratch, T* dhidden,
                    T* dweight) {
  CheckOptions(options);
  CHECK(dentropy == nullptr || entropy != nullptr);
  Tile<T> tile(scratch, options, dim);
  const T inv_temperature = static_cast<T>(options.inv_temperature);
  for (int r0 = 0; r0 < rows; r0 += options.row_tile) {
    const int n = std::min(options.row_tile, rows - r0);
    tile.Sweep(hidden, r0, n, weight, vocab, [&](int c0, int cn) {
      ParallelForIndex(n, cn, [&](int64_t r) {
        T* row = tile.logits + static_cast<size_t>(r) * cn;
        const int i = r0 + r;
        const T g = dlogprob[i];
        const T ge = dentropy != nullptr ? dentropy[i] : T(0);
        const T h = dentropy != nullptr ? entropy[i] : T(0);
        for (int j = 0; j < cn; ++j) {
          const T centered = row[j] - lse[i];
          const T p = Exp(centered);
          T d = -p * g - ge * p * (centered + h);
          if (c0 + j == targets[i]) d += g;
          row[j] = d * inv_temperature;
        }
      });
      T* dh = dhidden + static_cast<size_t>(r0) * dim;
      Gemm<T>(Transpose::kNo, Transpose::kNo, n, dim, cn, T(1), tile.logits, cn,
              weight + static_cast<size_t>(c0) * dim, dim, c0 == 0 ? T(0) : T(1), dh, dim,
              options.gemm);
      Gemm<T>(Transpose::kYes, Transpose::kNo, cn, dim, n, T(1), tile.logits, cn, tile.rows, dim,
              T(1), dweight + static_cast<size_t>(c0) * dim, dim, options.gemm);
    });
  }
}

template <typename T>
void LmHeadLogits(const T* hidden, int rows, int dim, const T* weight, int vocab,
                  const LmHeadOptions& options, T* scratch, T* logits) {
  CheckOptions(options);
  Tile<T> tile(scratch, options, dim);
  for (int r0 = 0; r0 < rows; r0 += options.row_tile) {
    const int n = std::min(options.row_tile, rows - r0);
    tile.Sweep(hidden, r0, n, weight, vocab, [&](int c0, int cn) {
      for (int r = 0; r < n; ++r) {
        std::memcpy(logits + static_cast<size_t>(r0 + r) * vocab + c0,
                    tile.logits + static_cast<size_t>(r) * cn, cn * sizeof(T));
      }
    });
  }
}

#define LIGHTRL_INSTANTIATE_LM_HEAD(T)                                                          \
  template struct LseState<T>;                                                                  \
  template void ScaleLogits<T>(T*, size_t, double);                                             \
  template void LseAccumulate<T>(const T*, int, LseState<T>*);                                  \
  template LseState<T> RowLse<T>(const T*, int, const LmHeadOptions&);                          \
  template void LmHeadForward<T>(const T*, int, int, const T*, int, const int32_t*,             \
                                 const LmHeadOptions&, T*, T*, T*, T*);                         \
  template void LmHeadBackward<T>(const T*, int, int, const T*, int, const int32_t*,            \
                                  const LmHeadOptions&, const T*, const T*, const T*, const T*, \
                                  T*, T*, T*);                                                  \
  template void LmHeadLogits<T>(const T*, int, int, const T*, int, const LmHeadOptions&, T*, T*);
LIGHTRL_INSTANTIATE_LM_HEAD(float)
LIGHTRL_INSTANTIATE_LM_HEAD(double)
#undef LIGHTRL_INSTANTIATE_LM_HEAD

}  // namespace lightrl::kernels
