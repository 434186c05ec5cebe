// Worker threads of the CPU kernels.
//
// Two pools do the work: OpenMP runs the element-wise and attention loops, OpenBLAS runs
// the GEMMs. They take turns, never nest: a GEMM is never issued from inside an OpenMP
// parallel region, so at most `n` threads compute at any moment.
// Thread-safety: call SetNumThreads before starting work, from one thread.
#ifndef LIGHTRL_KERNELS_THREADING_H_
#define LIGHTRL_KERNELS_THREADING_H_

namespace lightrl::kernels {

// Uses `n` (>= 1) threads in both pools.
void SetNumThreads(int n);
// The number of threads of the OpenMP pool.
int NumThreads();

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_THREADING_H_
