#include "model/config.h"

#include <gtest/gtest.h>

#include <string>

#include "model/test_configs.h"

namespace lightrl::model {
namespace {

constexpr char kTransformers5[] = R"({
  "model_type": "minimax", "vocab_size": 300, "hidden_size": 64, "intermediate_size": 96,
  "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": null,
  "layer_types": ["linear_attention", "full_attention", "linear_attention"],
  "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"}, "block_size": 16,
  "num_local_experts": 4, "num_experts_per_tok": 2, "eos_token_id": [7, 8], "pad_token_id": null,
  "linear_attn_alpha_factor": 1.5, "some_future_key": {"ignored": true}
})";

TEST(ConfigTest, ParsesTransformers5Layout) {
  auto c = ParseModelConfig(kTransformers5, "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->vocab_size, 300);
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->rotary_dim, 16);
  ASSERT_EQ(c->layer_types.size(), 3u);
  EXPECT_EQ(c->layer_types[1], AttentionType::kSoftmax);
  EXPECT_EQ(c->NumLayers(AttentionType::kLightning), 2);
  EXPECT_EQ(c->rope_theta, 10000.0);
  EXPECT_EQ(c->block_size, 16);
  EXPECT_EQ(c->eos_token_id, 7);
  EXPECT_EQ(c->pad_token_id, -1);
  EXPECT_EQ(c->linear_attn_alpha_factor, 1.5);
  EXPECT_EQ(c->mlp_beta_factor, 1.0);
  EXPECT_EQ(c->rms_norm_eps, 1e-5);
}

TEST(ConfigTest, ParsesMiniMaxOriginalKeysAndDefaults) {
  auto c = ParseModelConfig(R"({"model_type": "minimax", "vocab_size": 10, "hidden_size": 8,
      "intermediate_size": 8, "num_hidden_layers": 4, "num_attention_heads": 2,
      "attn_type_list": [0, 0, 0, 1], "rope_theta": 1e7, "rotary_dim": 2})",
                            "m1.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_key_value_heads, 2);
  EXPECT_EQ(c->layer_types[3], AttentionType::kSoftmax);
  EXPECT_EQ(c->layer_types[2], AttentionType::kLightning);
  EXPECT_EQ(c->rope_theta, 1e7);
  EXPECT_EQ(c->rotary_dim, 2);
  EXPECT_EQ(c->block_size, 256);
  EXPECT_EQ(c->num_local_experts, 8);
  // Without a type list transformers alternates, starting with full attention.
  auto d = ParseModelConfig(R"({"model_type": "minimax", "vocab_size": 10, "hidden_size": 8,
      "intermediate_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2})",
                            "d.json");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->layer_types[0], AttentionType::kSoftmax);
  EXPECT_EQ(d->layer_types[1], AttentionType::kLightning);
}

TEST(ConfigTest, JsonRoundTrip) {
  const ModelConfig c = testing::TinyHybridConfig();
  auto back = ParseModelConfig(ModelConfigToJson(c), "round_trip.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ModelConfigToJson(*back), ModelConfigToJson(c));
  EXPECT_EQ(back->rotary_dim, 2);
  EXPECT_EQ(back->full_attn_beta_factor, 1.2);
}

struct BadCase {
  std::string json;
  const char* expected_in_message;
};

TEST(ConfigTest, ErrorsNameTheFileAndKey) {
  const std::string base = R"("model_type": "minimax", "vocab_size": 10, "hidden_size": 8,
      "intermediate_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2)";
  const BadCase cases[] = {
      {"{not json", "not valid JSON"},
      {R"({"model_type": "llama"})", "'model_type'"},
      {R"({"model_type": "minimax", "hidden_size": 8})", "'vocab_size': required"},
      {("{" + base + R"(, "hidden_size": "big"})"), "'hidden_size': expected an integer"},
      {("{" + base + R"(, "tie_word_embeddings": true})"), "'tie_word_embeddings'"},
      {("{" + base + R"(, "hidden_act": "gelu"})"), "'hidden_act'"},
      {("{" + base + R"(, "sliding_window": 128})"), "'sliding_window'"},
      {("{" + base + R"(, "num_key_value_heads": 3})"), "'num_key_value_heads'"},
      {("{" + base + R"(, "layer_types": ["linear_attention"]})"), "'layer_types'"},
      {("{" + base + R"(, "layer_types": ["linear_attention", "mamba"]})"), "\"mamba\""},
      {("{" + base + R"(, "num_experts_per_tok": 9})"), "'num_experts_per_tok'"},
      {("{" + base + R"(, "rotary_dim": 3})"), "'rotary_dim'"},
      {("{" + base + R"(, "eos_token_id": 10})"), "'eos_token_id'"},
      {("{" + base + R"(, "rope_parameters": {"rope_type": "yarn"}})"), "'rope_type'"},
  };
  for (const BadCase& bad : cases) {
    auto c = ParseModelConfig(bad.json, "cfg/config.json");
    ASSERT_FALSE(c.ok()) << bad.json;
    const std::string message(c.status().message());
    EXPECT_NE(message.find("cfg/config.json"), std::string::npos) << message;
    EXPECT_NE(message.find(bad.expected_in_message), std::string::npos) << message;
  }
  EXPECT_EQ(LoadModelConfig("/nonexistent/config.json").status().code(), StatusCode::kNotFound);
}

TEST(ConfigTest, ShippedConfigsLoad) {
  const std::string source = LIGHTRL_TEST_SOURCE_DIR;
  for (const char* name : {"demo.json", "20m.json"}) {
    auto c = LoadModelConfig(std::string(source) + "/model/configs/" + name);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_GE(c->NumLayers(AttentionType::kLightning), 1) << name;
    EXPECT_GE(c->NumLayers(AttentionType::kSoftmax), 1) << name;
    EXPECT_GT(c->num_local_experts, 1) << name;
    EXPECT_EQ(c->eos_token_id, 257) << name;
  }
}

}  // namespace
}  // namespace lightrl::model
