// The kernels' thread pool: parallel loops that spin briefly and then sleep.
//
// Every multi-threaded loop of kernels/ and model/ runs here, and so do the GEMMs: OpenBLAS
// is set to one thread and Gemm() splits a large product by rows or columns over this
// pool. (OpenBLAS's own spinning pthreads next to another pool slowed a small training step
// 80-fold on 2 cores.) Waiting threads spin for a few tens of microseconds, so back-to-back loops
// of a training step hand over quickly, and then block in the kernel (futex). OpenMP's spinning
// barriers made a training step 30× slower whenever another process used a core of this 2-core
// machine; a pool that sleeps degrades gracefully when processes share cores.
//
// Work is split deterministically: ParallelFor gives thread t the t-th contiguous chunk, so
// a reduction over per-thread partial results (partial_sums.h) gives the same bits on
// every run with the same thread count.
//
// Thread-safety: callers on different threads take turns (one loop at a time runs on the
// pool). A loop started from inside a pool loop runs inline in the calling thread. The pool
// is created on first use and is not fork-safe: a child forked after that must not run
// pool loops (it would wait for workers it does not have).
#ifndef LIGHTRL_KERNELS_PARALLEL_H_
#define LIGHTRL_KERNELS_PARALLEL_H_

#include <cstdint>

namespace lightrl::kernels {

// Loops whose total work (items × work_per_item, in rough multiply-adds) is below this run
// inline: waking the pool costs a few microseconds.
inline constexpr int64_t kMinParallelWork = 1 << 14;

namespace internal {
using RangeFn = void (*)(void* context, int64_t begin, int64_t end);
// Runs fn over [0, n): contiguous chunks (dynamic = false) or one index at a time.
void RunOnPool(int64_t n, bool dynamic, RangeFn fn, void* context);
bool InsidePool();
}  // namespace internal

// Threads of the pool including the caller (default: the machine's hardware threads).
int NumThreads();
// Rebuilds the pool with n >= 1 threads. Not while a loop runs.
void SetNumThreads(int n);
// 0 for the calling thread, 1..NumThreads()−1 for the pool's workers.
int ThreadIndex();

// body(begin, end) for contiguous chunks covering [0, n), chunk t on thread t.
template <typename Body>
void ParallelFor(int64_t n, int64_t work_per_item, Body&& body) {
  if (n <= 0) return;
  if (n == 1 || n * work_per_item < kMinParallelWork || NumThreads() == 1 ||
      internal::InsidePool()) {
    body(int64_t{0}, n);
    return;
  }
  internal::RunOnPool(
      n, false,
      [](void* ctx, int64_t begin, int64_t end) { (*static_cast<Body*>(ctx))(begin, end); }, &body);
}

// body(i) for every i in [0, n), indices handed out one at a time (for unequal items).
template <typename Body>
void ParallelForEach(int64_t n, int64_t work_per_item, Body&& body) {
  if (n <= 0) return;
  if (n == 1 || n * work_per_item < kMinParallelWork || NumThreads() == 1 ||
      internal::InsidePool()) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
  internal::RunOnPool(
      n, true, [](void* ctx, int64_t begin, int64_t) { (*static_cast<Body*>(ctx))(begin); }, &body);
}

// body(i) for every i in [0, n), split into contiguous chunks as ParallelFor does.
template <typename Body>
void ParallelForIndex(int64_t n, int64_t work_per_item, Body&& body) {
  ParallelFor(n, work_per_item, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(i);
  });
}

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_PARALLEL_H_
