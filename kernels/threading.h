// Worker threads of the CPU kernels.
//
// One pool does all the work: OpenMP. OpenBLAS is set to one thread (on the first GEMM),
// and Gemm() splits the columns of a large product over the OpenMP threads, each running a
// single-threaded OpenBLAS call. Two pools that spin while the other works (OpenBLAS's
// pthreads and OpenMP's) slowed a small training step 80-fold on 2 cores; one pool never
// oversubscribes.
// Thread-safety: call SetNumThreads before starting work, from one thread.
#ifndef LIGHTRL_KERNELS_THREADING_H_
#define LIGHTRL_KERNELS_THREADING_H_

namespace lightrl::kernels {

// Uses `n` (>= 1) OpenMP threads.
void SetNumThreads(int n);
// The number of threads of the OpenMP pool.
int NumThreads();

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_THREADING_H_
