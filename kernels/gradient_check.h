// Test helpers: float64 central finite differences against an analytic gradient.
//
// Every backward op is checked the same way: pick a random cotangent r, define the
// scalar L(x) = Σ r ⊙ f(x), get ∂L/∂x from the op's backward with dy = r, and compare it
// with (L(x + εe_i) − L(x − εe_i)) / 2ε for entries i of x. Used by *_test.cc only.
#ifndef LIGHTRL_KERNELS_GRADIENT_CHECK_H_
#define LIGHTRL_KERNELS_GRADIENT_CHECK_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace lightrl::kernels::testing {

inline std::vector<double> RandomVector(size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> v(n);
  for (double& x : v) x = normal(rng);
  return v;
}

inline double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

struct GradCheckResult {
  double max_error = 0;     // max |analytic − numeric| over the checked entries
  double max_gradient = 0;  // max |numeric| over the checked entries
  size_t checked = 0;
  // True when every checked entry agrees within tol · max(1, max_gradient).
  bool Passes(double tol = 1e-6) const {
    return checked > 0 && max_error <= tol * std::max(1.0, max_gradient);
  }
};

// Compares analytic[i] with the central difference of loss() at (*x)[i], for every entry
// or for `max_checks` entries spread evenly over x. `loss` reads *x; x is restored.
template <typename Loss>
GradCheckResult CheckGradient(std::vector<double>* x, const std::vector<double>& analytic,
                              Loss&& loss, double eps = 1e-6, size_t max_checks = 160) {
  GradCheckResult result;
  const size_t n = x->size();
  const size_t stride = std::max<size_t>(1, n / max_checks);
  for (size_t i = 0; i < n; i += stride) {
    const double saved = (*x)[i];
    (*x)[i] = saved + eps;
    const double up = loss();
    (*x)[i] = saved - eps;
    const double down = loss();
    (*x)[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    result.max_error = std::max(result.max_error, std::abs(numeric - analytic[i]));
    result.max_gradient = std::max(result.max_gradient, std::abs(numeric));
    ++result.checked;
  }
  return result;
}

}  // namespace lightrl::kernels::testing

#endif  // LIGHTRL_KERNELS_GRADIENT_CHECK_H_
