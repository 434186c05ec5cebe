#include "model/optimizer.h"

#include <cmath>

#include "core/logging.h"

namespace lightrl::model {

template <typename T>
AdamWT<T>::AdamWT(const ParamLayout& layout, const AdamWOptions& options)
    : options_(options), m_(layout), v_(layout) {}

template <typename T>
void AdamWT<T>::Step(ParamArena<T>& params, const ParamArena<T>& grads) {
  CHECK_EQ(params.layout().Fingerprint(), m_.layout().Fingerprint());
  CHECK_EQ(grads.layout().Fingerprint(), m_.layout().Fingerprint());
  ++step_;
  const kernels::AdamWHyperparameters hyper{options_.lr, options_.beta1, options_.beta2,
                                            options_.eps};
  for (const TensorInfo& t : m_.layout().tensors()) {
    kernels::AdamWUpdate(params.data() + t.offset, grads.data() + t.offset, m_.data() + t.offset,
                         v_.data() + t.offset, t.numel, hyper, step_,
                         t.weight_decay ? options_.weight_decay : 0.0);
  }
}

template <typename T>
double GlobalGradNorm(const ParamArena<T>& grads) {
  return std::sqrt(kernels::SumOfSquares(grads.data(), grads.size()));
}

template <typename T>
double ClipGradNorm(ParamArena<T>& grads, double max_norm) {
  const double norm = GlobalGradNorm(grads);
  if (max_norm > 0 && norm > max_norm) {
    kernels::ScaleInPlace(grads.data(), grads.size(), static_cast<T>(max_norm / (norm + 1e-6)));
  }
  return norm;
}

template class AdamWT<float>;
template class AdamWT<double>;
template double GlobalGradNorm<float>(const ParamArena<float>&);
template double GlobalGradNorm<double>(const ParamArena<double>&);
template double ClipGradNorm<float>(ParamArena<float>&, double);
template double ClipGradNorm<double>(ParamArena<double>&, double);

}  // namespace lightrl::model
