// The learner's weights as a transferable image (actors/weights.h): the parameter arena's
// bytes, copied, with its tensor layout.
#ifndef LIGHTRL_LEARNER_WEIGHTS_EXPORT_H_
#define LIGHTRL_LEARNER_WEIGHTS_EXPORT_H_

#include "actors/weights.h"
#include "model/param_arena.h"

namespace lightrl {

WeightsImage ExportWeights(const model::ParamArena<float>& params, uint64_t version);

}  // namespace lightrl

#endif  // LIGHTRL_LEARNER_WEIGHTS_EXPORT_H_
