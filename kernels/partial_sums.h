// Per-thread partial sums of a gradient vector, reduced in a fixed order so that a
// backward pass gives the same bits on every run with the same thread count.
//
//   PartialSums<T> parts(n);
//   #pragma omp parallel
//   { T* mine = parts.ForThisThread(); ... mine[i] += ...; }
//   parts.AddTo(grad);   // grad[i] += Σ_threads mine[i]
//
// Thread-safety: ForThisThread() from inside the parallel region (each thread gets its
// own slice); the constructor and AddTo() outside it.
#ifndef LIGHTRL_KERNELS_PARTIAL_SUMS_H_
#define LIGHTRL_KERNELS_PARTIAL_SUMS_H_

#include <omp.h>

#include <cstddef>
#include <vector>

namespace lightrl::kernels {

template <typename T>
class PartialSums {
 public:
  explicit PartialSums(size_t n)
      : n_(n), parts_(n * static_cast<size_t>(omp_get_max_threads()), T(0)) {}

  T* ForThisThread() { return parts_.data() + n_ * static_cast<size_t>(omp_get_thread_num()); }

  void AddTo(T* out) const {
    const size_t threads = parts_.size() / (n_ == 0 ? 1 : n_);
#pragma omp parallel for schedule(static) if (n_ > 4096)
    for (size_t i = 0; i < n_; ++i) {
      T sum = out[i];
      for (size_t t = 0; t < threads; ++t) sum += parts_[t * n_ + i];
      out[i] = sum;
    }
  }

 private:
  size_t n_;
  std::vector<T> parts_;
};

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_PARTIAL_SUMS_H_
