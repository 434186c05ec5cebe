#include "kernels/threading.h"

#include <cblas.h>
#include <omp.h>

#include "core/logging.h"

namespace lightrl::kernels {

void SetNumThreads(int n) {
  CHECK_GE(n, 1);
  omp_set_num_threads(n);
  openblas_set_num_threads(1);
}

int NumThreads() { return omp_get_max_threads(); }

}  // namespace lightrl::kernels
