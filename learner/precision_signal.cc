#include "learner/precision_signal.h"

#include <algorithm>
#include <cmath>

#include "core/logging.h"

namespace lightrl {

PrecisionSignal ComparePrecision(std::span<const float> train_logprobs,
                                 std::span<const float> rollout_logprobs) {
  CHECK_EQ(train_logprobs.size(), rollout_logprobs.size());
  PrecisionSignal signal;
  const size_t n = train_logprobs.size();
  signal.tokens = static_cast<int>(n);
  if (n == 0) return signal;
  double sum_a = 0, sum_b = 0;
  bool identical = true;
  for (size_t i = 0; i < n; ++i) {
    double a = std::exp(static_cast<double>(train_logprobs[i]));
    double b = std::exp(static_cast<double>(rollout_logprobs[i]));
    sum_a += a;
    sum_b += b;
    double delta = std::abs(a - b);
    signal.mean_abs_delta += delta;
    signal.max_abs_delta = std::max(signal.max_abs_delta, delta);
    signal.max_abs_logprob_delta =
        std::max(signal.max_abs_logprob_delta,
                 std::abs(static_cast<double>(train_logprobs[i]) - rollout_logprobs[i]));
    identical = identical && train_logprobs[i] == rollout_logprobs[i];
  }
  signal.mean_abs_delta /= static_cast<double>(n);
  double mean_a = sum_a / n, mean_b = sum_b / n;
  double cov = 0, var_a = 0, var_b = 0;
  for (size_t i = 0; i < n; ++i) {
    double a = std::exp(static_cast<double>(train_logprobs[i])) - mean_a;
    double b = std::exp(static_cast<double>(rollout_logprobs[i])) - mean_b;
    cov += a * b;
    var_a += a * a;
    var_b += b * b;
  }
  if (var_a <= 0 || var_b <= 0) {
    signal.pearson = identical ? 1.0 : 0.0;
  } else {
    signal.pearson = cov / std::sqrt(var_a * var_b);
  }
  return signal;
}

}  // namespace lightrl
