// AdamW over a whole parameter arena, and global gradient-norm clipping.
//
// The moments live in two arenas with the parameters' layout, so the optimizer state
// saves and loads by tensor name (checkpoint.h). Weight decay applies to matrices only
// (TensorInfo::weight_decay), not to norm weights.
// Thread-safety: not thread-safe; one thread steps the optimizer while nothing else
// touches the parameters.
#ifndef LIGHTRL_MODEL_OPTIMIZER_H_
#define LIGHTRL_MODEL_OPTIMIZER_H_

#include <cstdint>

#include "kernels/adamw.h"
#include "model/param_arena.h"

namespace lightrl::model {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-15;
  double weight_decay = 0.0;
};

template <typename T>
class AdamWT {
 public:
  AdamWT(const ParamLayout& layout, const AdamWOptions& options);

  // One step: params ← AdamW(params, grads). Dies if the arenas' layouts differ from the
  // optimizer's (a programming error, not an input error).
  void Step(ParamArena<T>& params, const ParamArena<T>& grads);

  const AdamWOptions& options() const { return options_; }
  void set_options(const AdamWOptions& options) { options_ = options; }
  int64_t step() const { return step_; }
  void set_step(int64_t step) { step_ = step; }
  ParamArena<T>& first_moment() { return m_; }
  const ParamArena<T>& first_moment() const { return m_; }
  ParamArena<T>& second_moment() { return v_; }
  const ParamArena<T>& second_moment() const { return v_; }

 private:
  AdamWOptions options_;
  int64_t step_ = 0;
  ParamArena<T> m_, v_;
};

using AdamW = AdamWT<float>;

// The L2 norm of every gradient together.
template <typename T>
double GlobalGradNorm(const ParamArena<T>& grads);

// Scales grads so that their global norm is at most max_norm (no-op if max_norm <= 0 or
// the norm is already below it). Returns the norm before clipping.
template <typename T>
double ClipGradNorm(ParamArena<T>& grads, double max_norm);

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_OPTIMIZER_H_
