#include "model/config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lightrl::model {
namespace {

using Json = nlohmann::json;

std::string KeyError(std::string_view source, std::string_view key, std::string_view what) {
  std::string message(source);
  message += ": key '";
  message += key;
  message += "': ";
  message += what;
  return message;
}

// Typed access to the keys of one JSON object; absent or null keys keep the default.
class KeyReader {
 public:
  KeyReader(const Json& object, std::string_view source) : object_(object), source_(source) {}

  bool Has(const char* key) const { return object_.contains(key) && !object_[key].is_null(); }

  Status Int(const char* key, int* out, bool required = false) const {
    if (!Has(key)) return Missing(key, required);
    const Json& value = object_[key];
    if (!value.is_number_integer() || value.get<int64_t>() > std::numeric_limits<int>::max() ||
        value.get<int64_t>() < std::numeric_limits<int>::min()) {
      return InvalidArgumentError(
          KeyError(source_, key, "expected an integer, got " + value.dump()));
    }
    *out = value.get<int>();
    return Status::Ok();
  }

  Status Double(const char* key, double* out) const {
    if (!Has(key)) return Status::Ok();
    const Json& value = object_[key];
    if (!value.is_number()) {
      return InvalidArgumentError(KeyError(source_, key, "expected a number, got " + value.dump()));
    }
    *out = value.get<double>();
    return Status::Ok();
  }

  // A token id: an integer, or a list whose first entry is used (transformers allows both).
  Status TokenId(const char* key, int* out) const {
    if (Has(key) && object_[key].is_array()) {
      if (object_[key].empty()) return Status::Ok();
      const Json first_only = {{key, object_[key][0]}};
      return KeyReader(first_only, source_).Int(key, out);
    }
    return Int(key, out);
  }

  // Fails unless the key is absent, null or equal to `expected`.
  Status Expect(const char* key, const Json& expected, std::string_view why) const {
    if (!Has(key) || object_[key] == expected) return Status::Ok();
    return InvalidArgumentError(
        KeyError(source_, key, std::string(why) + " (got " + object_[key].dump() + ")"));
  }

  const Json& operator[](const char* key) const { return object_[key]; }

 private:
  Status Missing(const char* key, bool required) const {
    if (!required) return Status::Ok();
    return InvalidArgumentError(KeyError(source_, key, "required key is missing"));
  }

  const Json& object_;
  std::string_view source_;
};

Status ParseLayerTypes(const KeyReader& keys, std::string_view source, ModelConfig* config) {
  config->layer_types.clear();
  if (keys.Has("layer_types")) {
    const Json& list = keys["layer_types"];
    if (!list.is_array())
      return InvalidArgumentError(KeyError(source, "layer_types", "expected a list"));
    for (const Json& entry : list) {
      if (entry == "linear_attention") {
        config->layer_types.push_back(AttentionType::kLightning);
      } else if (entry == "full_attention") {
        config->layer_types.push_back(AttentionType::kSoftmax);
      } else {
        return InvalidArgumentError(
            KeyError(source, "layer_types",
                     "expected \"linear_attention\" or \"full_attention\", got " + entry.dump()));
      }
    }
    return Status::Ok();
  }
  if (keys.Has("attn_type_list")) {
    const Json& list = keys["attn_type_list"];
    if (!list.is_array())
      return InvalidArgumentError(KeyError(source, "attn_type_list", "expected a list"));
    for (const Json& entry : list) {
      if (entry != 0 && entry != 1) {
        return InvalidArgumentError(
            KeyError(source, "attn_type_list", "expected 0 or 1, got " + entry.dump()));
      }
      config->layer_types.push_back(entry == 1 ? AttentionType::kSoftmax
                                               : AttentionType::kLightning);
    }
    return Status::Ok();
  }
  // transformers' default: full attention on even layers, linear on odd ones.
  for (int i = 0; i < config->num_hidden_layers; ++i) {
    config->layer_types.push_back((i + 1) % 2 ? AttentionType::kSoftmax
                                              : AttentionType::kLightning);
  }
  return Status::Ok();
}

Status ParseRope(const KeyReader& keys, std::string_view source, ModelConfig* config) {
  RETURN_IF_ERROR(keys.Double("rope_theta", &config->rope_theta));
  if (keys.Has("rope_parameters")) {
    const Json& rope = keys["rope_parameters"];
    if (!rope.is_object())
      return InvalidArgumentError(KeyError(source, "rope_parameters", "expected an object"));
    const std::string rope_source = std::string(source) + ": rope_parameters";
    KeyReader rope_keys(rope, rope_source);
    RETURN_IF_ERROR(rope_keys.Double("rope_theta", &config->rope_theta));
    RETURN_IF_ERROR(rope_keys.Expect("rope_type", "default", "only the default RoPE is supported"));
  }
  config->rotary_dim = config->head_dim;
  return keys.Int("rotary_dim", &config->rotary_dim);
}

}  // namespace

int ModelConfig::NumLayers(AttentionType type) const {
  int count = 0;
  for (AttentionType t : layer_types) count += t == type;
  return count;
}

StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text, std::string_view source) {
  const Json root = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return InvalidArgumentError(std::string(source) + ": not valid JSON");
  if (!root.is_object())
    return InvalidArgumentError(std::string(source) + ": expected a JSON object");
  const KeyReader keys(root, source);
  if (!keys.Has("model_type") || root["model_type"] != "minimax") {
    return InvalidArgumentError(KeyError(source, "model_type", "expected \"minimax\""));
  }
  ModelConfig c;
  RETURN_IF_ERROR(keys.Int("vocab_size", &c.vocab_size, true));
  RETURN_IF_ERROR(keys.Int("hidden_size", &c.hidden_size, true));
  RETURN_IF_ERROR(keys.Int("intermediate_size", &c.intermediate_size, true));
  RETURN_IF_ERROR(keys.Int("num_hidden_layers", &c.num_hidden_layers, true));
  RETURN_IF_ERROR(keys.Int("num_attention_heads", &c.num_attention_heads, true));
  c.num_key_value_heads = c.num_attention_heads;
  RETURN_IF_ERROR(keys.Int("num_key_value_heads", &c.num_key_value_heads));
  c.head_dim = c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0;
  RETURN_IF_ERROR(keys.Int("head_dim", &c.head_dim));
  RETURN_IF_ERROR(ParseLayerTypes(keys, source, &c));
  RETURN_IF_ERROR(keys.Int("block_size", &c.block_size));
  RETURN_IF_ERROR(keys.Double("rms_norm_eps", &c.rms_norm_eps));
  RETURN_IF_ERROR(ParseRope(keys, source, &c));
  RETURN_IF_ERROR(keys.Int("max_position_embeddings", &c.max_position_embeddings));
  RETURN_IF_ERROR(keys.Int("num_local_experts", &c.num_local_experts));
  RETURN_IF_ERROR(keys.Int("num_experts_per_tok", &c.num_experts_per_tok));
  RETURN_IF_ERROR(keys.Double("router_aux_loss_coef", &c.router_aux_loss_coef));
  RETURN_IF_ERROR(keys.Double("full_attn_alpha_factor", &c.full_attn_alpha_factor));
  RETURN_IF_ERROR(keys.Double("full_attn_beta_factor", &c.full_attn_beta_factor));
  RETURN_IF_ERROR(keys.Double("linear_attn_alpha_factor", &c.linear_attn_alpha_factor));
  RETURN_IF_ERROR(keys.Double("linear_attn_beta_factor", &c.linear_attn_beta_factor));
  RETURN_IF_ERROR(keys.Double("mlp_alpha_factor", &c.mlp_alpha_factor));
  RETURN_IF_ERROR(keys.Double("mlp_beta_factor", &c.mlp_beta_factor));
  RETURN_IF_ERROR(keys.Double("initializer_range", &c.initializer_range));
  RETURN_IF_ERROR(keys.TokenId("bos_token_id", &c.bos_token_id));
  RETURN_IF_ERROR(keys.TokenId("eos_token_id", &c.eos_token_id));
  RETURN_IF_ERROR(keys.TokenId("pad_token_id", &c.pad_token_id));
  RETURN_IF_ERROR(keys.Expect("hidden_act", "silu", "only silu is supported"));
  RETURN_IF_ERROR(keys.Expect("tie_word_embeddings", false, "the LM head must be untied"));
  RETURN_IF_ERROR(keys.Expect("router_jitter_noise", 0.0, "router jitter is not supported"));
  RETURN_IF_ERROR(
      keys.Expect("sliding_window", nullptr, "sliding-window attention is not supported"));
  RETURN_IF_ERROR(ValidateModelConfig(c, source));
  return c;
}

StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return DataLossError(path + ": read error");
  return ParseModelConfig(text.str(), path);
}

Status ValidateModelConfig(const ModelConfig& c, std::string_view source) {
  auto positive = [&](const char* key, double value) -> Status {
    if (value > 0) return Status::Ok();
    return InvalidArgumentError(
        KeyError(source, key, "must be positive, got " + std::to_string(value)));
  };
  RETURN_IF_ERROR(positive("vocab_size", c.vocab_size));
  RETURN_IF_ERROR(positive("hidden_size", c.hidden_size));
  RETURN_IF_ERROR(positive("intermediate_size", c.intermediate_size));
  RETURN_IF_ERROR(positive("num_hidden_layers", c.num_hidden_layers));
  RETURN_IF_ERROR(positive("num_attention_heads", c.num_attention_heads));
  RETURN_IF_ERROR(positive("num_key_value_heads", c.num_key_value_heads));
  RETURN_IF_ERROR(positive("head_dim", c.head_dim));
  RETURN_IF_ERROR(positive("block_size", c.block_size));
  RETURN_IF_ERROR(positive("rms_norm_eps", c.rms_norm_eps));
  RETURN_IF_ERROR(positive("rope_theta", c.rope_theta));
  RETURN_IF_ERROR(positive("max_position_embeddings", c.max_position_embeddings));
  RETURN_IF_ERROR(positive("num_local_experts", c.num_local_experts));
  RETURN_IF_ERROR(positive("num_experts_per_tok", c.num_experts_per_tok));
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return InvalidArgumentError(
        KeyError(source, "num_key_value_heads", "must divide num_attention_heads"));
  }
  if (c.head_dim > 512)
    return InvalidArgumentError(KeyError(source, "head_dim", "at most 512 is supported"));
  if (static_cast<int>(c.layer_types.size()) != c.num_hidden_layers) {
    return InvalidArgumentError(
        KeyError(source, "layer_types", "needs one entry per layer (num_hidden_layers)"));
  }
  if (c.rotary_dim < 0 || c.rotary_dim % 2 != 0 || c.rotary_dim > c.head_dim) {
    return InvalidArgumentError(
        KeyError(source, "rotary_dim", "must be even and at most head_dim"));
  }
  if (c.num_experts_per_tok > c.num_local_experts) {
    return InvalidArgumentError(
        KeyError(source, "num_experts_per_tok", "must be at most num_local_experts"));
  }
  for (const char* key : {"bos_token_id", "eos_token_id", "pad_token_id"}) {
    const int id = key[0] == 'b' ? c.bos_token_id : key[0] == 'e' ? c.eos_token_id : c.pad_token_id;
    if (id < -1 || id >= c.vocab_size) {
      return InvalidArgumentError(KeyError(source, key, "must be a token id below vocab_size"));
    }
  }
  return Status::Ok();
}

std::string ModelConfigToJson(const ModelConfig& c) {
  nlohmann::ordered_json j;
  j["architectures"] = {"MiniMaxForCausalLM"};
  j["model_type"] = "minimax";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = "silu";
  std::vector<std::string> types;
  for (AttentionType t : c.layer_types) {
    types.push_back(t == AttentionType::kLightning ? "linear_attention" : "full_attention");
  }
  j["layer_types"] = types;
  j["block_size"] = c.block_size;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_parameters"] = {{"rope_theta", c.rope_theta}, {"rope_type", "default"}};
  if (c.rotary_dim != c.head_dim) j["rotary_dim"] = c.rotary_dim;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["num_local_experts"] = c.num_local_experts;
  j["num_experts_per_tok"] = c.num_experts_per_tok;
  j["router_aux_loss_coef"] = c.router_aux_loss_coef;
  j["router_jitter_noise"] = 0.0;
  j["full_attn_alpha_factor"] = c.full_attn_alpha_factor;
  j["full_attn_beta_factor"] = c.full_attn_beta_factor;
  j["linear_attn_alpha_factor"] = c.linear_attn_alpha_factor;
  j["linear_attn_beta_factor"] = c.linear_attn_beta_factor;
  j["mlp_alpha_factor"] = c.mlp_alpha_factor;
  j["mlp_beta_factor"] = c.mlp_beta_factor;
  j["initializer_range"] = c.initializer_range;
  auto token = [](int id) {
    return id < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(id);
  };
  j["bos_token_id"] = token(c.bos_token_id);
  j["eos_token_id"] = token(c.eos_token_id);
  j["pad_token_id"] = token(c.pad_token_id);
  j["tie_word_embeddings"] = false;
  j["sliding_window"] = nullptr;
  j["use_cache"] = true;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

}  // namespace lightrl::model
