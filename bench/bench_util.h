// Helpers shared by the benchmark tools.
#ifndef LIGHTRL_BENCH_BENCH_UTIL_H_
#define LIGHTRL_BENCH_BENCH_UTIL_H_

#include <algorithm>
#include <vector>

namespace lightrl {

// The median of a non-empty set of timings or rates (the mean of the middle two for an even
// count).
inline double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

}  // namespace lightrl

#endif  // LIGHTRL_BENCH_BENCH_UTIL_H_
