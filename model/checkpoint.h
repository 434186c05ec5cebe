// Checkpoints in transformers' format: a directory with config.json and model.safetensors
// (FP32, transformers' MiniMax tensor names, metadata format "pt"), plus the optimizer
// state beside them in optimizer.safetensors ("<param>.exp_avg", "<param>.exp_avg_sq" and
// an I64 scalar "step").
//
// Loading also accepts the fused expert tensors of transformers 5
// (mlp.experts.gate_up_proj [E, 2I, H], mlp.experts.down_proj [E, H, I], mlp.gate) and
// skips the lightning decay buffers that transformers stores (slope_rate, query_decay,
// key_decay, diagonal_decay) after checking slope_rate against lightrl's own slopes.
// Every other mismatch is an error that names the file and the tensor: missing or
// unexpected tensors, wrong shapes, non-float dtypes, and every corruption the safetensors
// reader detects. Files are written atomically (temporary file + rename).
// Thread-safety: reentrant; the model/optimizer must not be used during a call.
#ifndef LIGHTRL_MODEL_CHECKPOINT_H_
#define LIGHTRL_MODEL_CHECKPOINT_H_

#include <memory>
#include <string>

#include "core/status.h"
#include "model/model.h"
#include "model/optimizer.h"

namespace lightrl::model {

inline constexpr char kConfigFile[] = "config.json";
inline constexpr char kWeightsFile[] = "model.safetensors";
inline constexpr char kOptimizerFile[] = "optimizer.safetensors";

// Writes dir/config.json and dir/model.safetensors (dir must exist).
Status SaveModel(const std::string& dir, const ModelConfig& config,
                 const ParamArena<float>& params);

// Builds a model from dir/config.json and dir/model.safetensors.
StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& dir, const Precision& precision = {});

// Replaces every parameter of `params` with the tensors of a safetensors file; on error
// `params` is unchanged.
Status LoadWeights(const std::string& path, const ModelConfig& config, ParamArena<float>* params);

// Writes dir/optimizer.safetensors.
Status SaveOptimizer(const std::string& dir, const AdamW& optimizer);

// Restores the moments and the step count from dir/optimizer.safetensors (the options,
// such as the learning rate, stay those of `optimizer`). On error `optimizer` is unchanged.
Status LoadOptimizer(const std::string& dir, AdamW* optimizer);

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_CHECKPOINT_H_
