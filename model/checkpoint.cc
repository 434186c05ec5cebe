#include "model/checkpoint.h"

#include <cmath>
#include <set>
#include <string_view>

#include "kernels/lightning.h"
#include "model/file_util.h"
#include "model/safetensors.h"

namespace lightrl::model {
namespace {

constexpr std::string_view kDecayBuffers[] = {"slope_rate", "query_decay", "key_decay",
                                              "diagonal_decay"};

std::string PathIn(const std::string& dir, const char* file) { return dir + "/" + file; }

std::string LayerPrefix(int layer) { return "model.layers." + std::to_string(layer) + "."; }

// The lightning buffer suffix of `name` ("slope_rate", ...) or empty.
std::string_view DecayBufferOf(std::string_view name) {
  for (std::string_view buffer : kDecayBuffers) {
    if (name.size() > buffer.size() && name.ends_with(buffer) &&
        name[name.size() - buffer.size() - 1] == '.') {
      return buffer;
    }
  }
  return {};
}

// Checks a stored slope_rate [H, 1, 1] against the slopes lightrl computes.
Status CheckSlopes(const SafetensorsFile& file, const ModelConfig& c, int layer) {
  const std::string name = LayerPrefix(layer) + "self_attn.slope_rate";
  if (file.Find(name) == nullptr) return Status::Ok();
  std::vector<double> stored(c.num_attention_heads);
  RETURN_IF_ERROR(file.ReadFloats(name, {c.num_attention_heads, 1, 1}, stored.data()));
  for (int h = 0; h < c.num_attention_heads; ++h) {
    const double mine =
        kernels::LightningSlope<double>(h, c.num_attention_heads, layer, c.num_hidden_layers);
    if (std::abs(stored[h] - mine) > 1e-6 * std::abs(mine) + 1e-12) {
      return InvalidArgumentError(file.path() + ": tensor '" + name + "': head " +
                                  std::to_string(h) + " slope " + std::to_string(stored[h]) +
                                  " differs from the config's " + std::to_string(mine));
    }
  }
  return Status::Ok();
}

// Fills the experts of one layer from transformers 5's fused tensors.
// `used` receives the file's tensor names, `filled` the parameters they provide.
Status ReadFusedExperts(const SafetensorsFile& file, const ModelConfig& c, int layer,
                        ParamArena<float>* params, std::set<std::string>* used,
                        std::set<std::string>* filled) {
  const int64_t e = c.num_local_experts, inter = c.intermediate_size, h = c.hidden_size;
  const std::string prefix = LayerPrefix(layer) + "mlp.experts.";
  std::vector<float> gate_up(e * 2 * inter * h), down(e * h * inter);
  RETURN_IF_ERROR(file.ReadFloats(prefix + "gate_up_proj", {e, 2 * inter, h}, gate_up.data()));
  RETURN_IF_ERROR(file.ReadFloats(prefix + "down_proj", {e, h, inter}, down.data()));
  used->insert(prefix + "gate_up_proj");
  used->insert(prefix + "down_proj");
  for (int64_t j = 0; j < e; ++j) {
    const std::string expert =
        LayerPrefix(layer) + "block_sparse_moe.experts." + std::to_string(j) + ".";
    const float* gu = gate_up.data() + j * 2 * inter * h;
    std::copy(gu, gu + inter * h, params->Tensor(expert + "w1.weight"));
    std::copy(gu + inter * h, gu + 2 * inter * h, params->Tensor(expert + "w3.weight"));
    std::copy(down.data() + j * h * inter, down.data() + (j + 1) * h * inter,
              params->Tensor(expert + "w2.weight"));
    for (const char* w : {"w1.weight", "w3.weight", "w2.weight"}) filled->insert(expert + w);
  }
  return Status::Ok();
}

// transformers 5 renames block_sparse_moe.gate to mlp.gate.
std::string AlternativeName(const std::string& name) {
  const std::string from = ".block_sparse_moe.gate.weight";
  if (name.ends_with(from)) return name.substr(0, name.size() - from.size()) + ".mlp.gate.weight";
  return {};
}

}  // namespace

Status LoadWeights(const std::string& path, const ModelConfig& config, ParamArena<float>* target) {
  ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Read(path));
  ParamArena<float> staged(target->layout());
  ParamArena<float>* params = &staged;
  std::set<std::string> used, filled;
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    if (file.Find(LayerPrefix(l) + "mlp.experts.gate_up_proj") != nullptr) {
      RETURN_IF_ERROR(ReadFusedExperts(file, config, l, params, &used, &filled));
    }
    if (config.layer_types[l] == AttentionType::kLightning)
      RETURN_IF_ERROR(CheckSlopes(file, config, l));
  }
  for (const TensorInfo& t : params->layout().tensors()) {
    if (filled.count(t.name) > 0) continue;
    std::string name = t.name;
    if (file.Find(name) == nullptr && !AlternativeName(name).empty() &&
        file.Find(AlternativeName(name)) != nullptr) {
      name = AlternativeName(name);
    }
    RETURN_IF_ERROR(file.ReadFloats(name, t.shape, params->data() + t.offset));
    used.insert(name);
  }
  for (const TensorEntry& entry : file.entries()) {
    if (used.count(entry.name) > 0 || !DecayBufferOf(entry.name).empty()) continue;
    return InvalidArgumentError(path + ": unexpected tensor '" + entry.name +
                                "', not a parameter of this config");
  }
  *target = std::move(staged);
  return Status::Ok();
}

Status SaveModel(const std::string& dir, const ModelConfig& config,
                 const ParamArena<float>& params) {
  const std::string config_text = ModelConfigToJson(config);
  const std::string_view pieces[] = {config_text};
  RETURN_IF_ERROR(WriteFileAtomically(PathIn(dir, kConfigFile), pieces));
  SafetensorsWriter writer;
  writer.SetMetadata("format", "pt");
  for (const TensorInfo& t : params.layout().tensors()) {
    writer.Add(t.name, DType::kF32, t.shape, params.data() + t.offset);
  }
  return writer.Write(PathIn(dir, kWeightsFile));
}

StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& dir, const Precision& precision) {
  ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(PathIn(dir, kConfigFile)));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Create(config, precision));
  RETURN_IF_ERROR(LoadWeights(PathIn(dir, kWeightsFile), config, &model->params()));
  return model;
}

Status SaveOptimizer(const std::string& dir, const AdamW& optimizer) {
  SafetensorsWriter writer;
  writer.SetMetadata("format", "lightrl-adamw");
  writer.SetMetadata("lr", std::to_string(optimizer.options().lr));
  writer.SetMetadata("beta1", std::to_string(optimizer.options().beta1));
  writer.SetMetadata("beta2", std::to_string(optimizer.options().beta2));
  writer.SetMetadata("eps", std::to_string(optimizer.options().eps));
  writer.SetMetadata("weight_decay", std::to_string(optimizer.options().weight_decay));
  const int64_t step = optimizer.step();
  writer.Add("step", DType::kI64, {}, &step);
  for (const TensorInfo& t : optimizer.first_moment().layout().tensors()) {
    writer.Add(t.name + ".exp_avg", DType::kF32, t.shape,
               optimizer.first_moment().data() + t.offset);
    writer.Add(t.name + ".exp_avg_sq", DType::kF32, t.shape,
               optimizer.second_moment().data() + t.offset);
  }
  return writer.Write(PathIn(dir, kOptimizerFile));
}

Status LoadOptimizer(const std::string& dir, AdamW* target) {
  ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Read(PathIn(dir, kOptimizerFile)));
  AdamW staged = *target;
  AdamW* optimizer = &staged;
  int64_t step = 0;
  RETURN_IF_ERROR(file.ReadInt64s("step", {}, &step));
  if (step < 0)
    return InvalidArgumentError(file.path() + ": tensor 'step': negative step " +
                                std::to_string(step));
  const size_t expected = 1 + 2 * optimizer->first_moment().layout().tensors().size();
  if (file.entries().size() != expected) {
    return InvalidArgumentError(file.path() + ": " + std::to_string(file.entries().size()) +
                                " tensors, expected " + std::to_string(expected) +
                                " for this model");
  }
  for (const TensorInfo& t : optimizer->first_moment().layout().tensors()) {
    RETURN_IF_ERROR(
        file.ReadFloats(t.name + ".exp_avg", t.shape, optimizer->first_moment().data() + t.offset));
    RETURN_IF_ERROR(file.ReadFloats(t.name + ".exp_avg_sq", t.shape,
                                    optimizer->second_moment().data() + t.offset));
  }
  optimizer->set_step(step);
  *target = std::move(staged);
  return Status::Ok();
}

}  // namespace lightrl::model
