#include "model/checkpoint.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <vector>

#include "core/logging.h"
#include "kernels/lightning.h"
#include "model/file_util.h"
#include "model/safetensors.h"
#include "model/test_configs.h"

namespace lightrl::model {
namespace {

std::string MakeTempDir() {
  std::string pattern = ::testing::TempDir() + "lightrl_ckpt_XXXXXX";
  return mkdtemp(pattern.data());
}

std::unique_ptr<Model> TinyModel(uint64_t seed) {
  return testing::MakeModel(testing::TinyHybridConfig(), seed);
}

// Writes a safetensors file from a literal header and data bytes.
void WriteRaw(const std::string& path, const std::string& header, const std::string& data) {
  const uint64_t n = header.size();
  std::string bytes(reinterpret_cast<const char*>(&n), 8);
  bytes += header + data;
  std::ofstream(path, std::ios::binary) << bytes;
}

void ExpectErrorNaming(const Status& status, const std::string& file, const std::string& what) {
  ASSERT_FALSE(status.ok());
  const std::string message(status.message());
  EXPECT_NE(message.find(file), std::string::npos) << message;
  EXPECT_NE(message.find(what), std::string::npos) << message;
}

TEST(CheckpointTest, ModelRoundTripIsBitwise) {
  const std::string dir = MakeTempDir();
  auto model = TinyModel(1);
  ASSERT_TRUE(SaveModel(dir, model->config(), model->params()).ok());
  auto loaded = LoadModel(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ((*loaded)->params().size(), model->params().size());
  EXPECT_EQ(0, std::memcmp((*loaded)->params().data(), model->params().data(),
                           model->params().size() * 4));
  EXPECT_EQ(ModelConfigToJson((*loaded)->config()), ModelConfigToJson(model->config()));
  auto file = SafetensorsFile::Read(dir + "/" + kWeightsFile);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->metadata().at("format"), "pt");
}

TEST(CheckpointTest, OptimizerRoundTripIsBitwiseAndTrainingContinuesIdentically) {
  const std::string dir = MakeTempDir();
  auto model = TinyModel(2);
  AdamW optimizer(model->params().layout(), {.lr = 0.01, .weight_decay = 0.1});
  const PackedBatch batch = testing::RandomBatch({6, 5}, 1, 11, 4);
  std::vector<float> g(batch.num_tokens(), -1.0f);
  auto train_step = [&](Model& m, AdamW& opt) {
    ASSERT_TRUE(m.Forward(batch).ok());
    m.ZeroGrad();
    ASSERT_TRUE(m.Backward(g).ok());
    opt.Step(m.params(), m.grads());
  };
  train_step(*model, optimizer);
  train_step(*model, optimizer);
  ASSERT_TRUE(SaveModel(dir, model->config(), model->params()).ok());
  ASSERT_TRUE(SaveOptimizer(dir, optimizer).ok());
  auto restored = LoadModel(dir);
  ASSERT_TRUE(restored.ok());
  AdamW restored_opt((*restored)->params().layout(), {.lr = 0.01, .weight_decay = 0.1});
  ASSERT_TRUE(LoadOptimizer(dir, &restored_opt).ok());
  EXPECT_EQ(restored_opt.step(), 2);
  const size_t bytes = optimizer.first_moment().size() * sizeof(float);
  EXPECT_EQ(
      0, std::memcmp(restored_opt.first_moment().data(), optimizer.first_moment().data(), bytes));
  EXPECT_EQ(
      0, std::memcmp(restored_opt.second_moment().data(), optimizer.second_moment().data(), bytes));
  train_step(*model, optimizer);
  train_step(**restored, restored_opt);
  EXPECT_EQ(0, std::memcmp(model->params().data(), (*restored)->params().data(), bytes));
}

TEST(CheckpointTest, LoadsTransformers5FusedExpertsAndChecksDecayBuffers) {
  const std::string dir = MakeTempDir();
  auto model = TinyModel(3);
  const ModelConfig& c = model->config();
  const ParamArena<float>& p = model->params();
  SafetensorsWriter writer;
  std::vector<std::vector<float>> keep;
  keep.reserve(3 * c.num_hidden_layers);  // references into it stay valid
  for (const TensorInfo& t : p.layout().tensors()) {
    if (t.name.find("experts") != std::string::npos) continue;
    std::string name = t.name;
    if (name.ends_with("block_sparse_moe.gate.weight"))
      name.replace(name.find("block_sparse_moe"), 16, "mlp");
    writer.Add(name, DType::kF32, t.shape, p.data() + t.offset);
  }
  const int64_t e = c.num_local_experts, inter = c.intermediate_size, h = c.hidden_size;
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string prefix = "model.layers." + std::to_string(l) + ".";
    std::vector<float>& gate_up = keep.emplace_back();
    std::vector<float>& down = keep.emplace_back();
    for (int j = 0; j < e; ++j) {
      const std::string expert = prefix + "block_sparse_moe.experts." + std::to_string(j) + ".";
      for (const char* w : {"w1.weight", "w3.weight"}) {
        const float* src = p.Tensor(expert + w);
        gate_up.insert(gate_up.end(), src, src + inter * h);
      }
      down.insert(down.end(), p.Tensor(expert + "w2.weight"),
                  p.Tensor(expert + "w2.weight") + h * inter);
    }
    writer.Add(prefix + "mlp.experts.gate_up_proj", DType::kF32, {e, 2 * inter, h}, gate_up.data());
    writer.Add(prefix + "mlp.experts.down_proj", DType::kF32, {e, h, inter}, down.data());
    if (c.layer_types[l] == AttentionType::kLightning) {
      std::vector<float>& slopes = keep.emplace_back();
      for (int head = 0; head < c.num_attention_heads; ++head) {
        slopes.push_back(
            kernels::LightningSlope<float>(head, c.num_attention_heads, l, c.num_hidden_layers));
      }
      writer.Add(prefix + "self_attn.slope_rate", DType::kF32, {c.num_attention_heads, 1, 1},
                 slopes.data());
      writer.Add(prefix + "self_attn.key_decay", DType::kF32, {c.num_attention_heads, 1},
                 slopes.data());
    }
  }
  const std::string path = dir + "/fused.safetensors";
  ASSERT_TRUE(writer.Write(path).ok());
  ParamArena<float> loaded(p.layout());
  ASSERT_TRUE(LoadWeights(path, c, &loaded).ok());
  EXPECT_EQ(0, std::memcmp(loaded.data(), p.data(), p.size() * sizeof(float)));

  // A slope that does not match the config is an error.
  keep[2][1] *= 1.5f;
  ASSERT_TRUE(writer.Write(path).ok());
  ExpectErrorNaming(LoadWeights(path, c, &loaded), path, "model.layers.0.self_attn.slope_rate");
}

class CorruptFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    model_ = TinyModel(5);
    path_ = dir_ + "/model.safetensors";
    ASSERT_TRUE(SaveModel(dir_, model_->config(), model_->params()).ok());
    arena_ = std::make_unique<ParamArena<float>>(model_->params().layout());
    arena_->Fill(42.0f);
  }
  Status Load() { return LoadWeights(path_, model_->config(), arena_.get()); }
  // Writes the model's tensors to path_; `edit` may change a tensor's dtype or shape, or
  // return false to leave it out.
  void WriteEdited(
      const std::function<bool(const std::string&, DType*, std::vector<int64_t>*)>& edit) {
    SafetensorsWriter writer;
    for (const TensorInfo& t : arena_->layout().tensors()) {
      DType dtype = DType::kF32;
      std::vector<int64_t> shape = t.shape;
      if (edit(t.name, &dtype, &shape))
        writer.Add(t.name, dtype, shape, model_->params().data() + t.offset);
    }
    ASSERT_TRUE(writer.Write(path_).ok());
  }
  void TearDown() override {
    EXPECT_EQ(arena_->data()[0], 42.0f) << "a failed load changed the arena";
  }

  std::string dir_, path_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<ParamArena<float>> arena_;
};

TEST_F(CorruptFileTest, TruncatedFile) {
  auto bytes = ReadFile(path_);
  ASSERT_TRUE(bytes.ok());
  std::ofstream(path_, std::ios::binary) << bytes->substr(0, bytes->size() - 100);
  ExpectErrorNaming(Load(), path_, "lm_head.weight");
  std::ofstream(path_, std::ios::binary) << bytes->substr(0, 5);
  ExpectErrorNaming(Load(), path_, "truncated");
  std::ofstream(path_, std::ios::binary) << bytes->substr(0, 40);
  ExpectErrorNaming(Load(), path_, "header length");
}

TEST_F(CorruptFileTest, BadHeaderJson) {
  WriteRaw(path_, "{\"model.norm.weight\": {\"dtype\": ", "");
  ExpectErrorNaming(Load(), path_, "bad header JSON");
}

TEST_F(CorruptFileTest, WrongShape) {
  WriteEdited([](const std::string& name, DType*, std::vector<int64_t>* shape) {
    if (name == "model.layers.0.self_attn.qkv_proj.weight") std::swap((*shape)[0], (*shape)[1]);
    return true;
  });
  ExpectErrorNaming(Load(), path_,
                    "model.layers.0.self_attn.qkv_proj.weight': shape [8, 24], expected [24, 8]");
}

TEST_F(CorruptFileTest, UnknownDtype) {
  WriteRaw(path_,
           R"({"model.norm.weight": {"dtype": "F33", "shape": [8], "data_offsets": [0, 32]}})",
           std::string(32, '\0'));
  ExpectErrorNaming(Load(), path_, "'model.norm.weight': unknown dtype 'F33'");
  WriteEdited([](const std::string& name, DType* dtype, std::vector<int64_t>*) {
    if (name == "model.norm.weight") *dtype = DType::kI32;
    return true;
  });
  ExpectErrorNaming(Load(), path_, "'model.norm.weight': dtype I32 is not a float type");
}

TEST_F(CorruptFileTest, MissingTensor) {
  WriteEdited([](const std::string& name, DType*, std::vector<int64_t>*) {
    return name != "model.layers.2.post_attention_layernorm.weight";
  });
  ExpectErrorNaming(Load(), path_,
                    "missing tensor 'model.layers.2.post_attention_layernorm.weight'");
}

TEST_F(CorruptFileTest, DataOffsetsOutOfRange) {
  WriteRaw(path_,
           R"({"model.norm.weight": {"dtype": "F32", "shape": [8], "data_offsets": [16, 48]}})",
           std::string(32, '\0'));
  ExpectErrorNaming(Load(), path_, "'model.norm.weight': data offsets [16, 48) out of range");
  WriteRaw(path_,
           R"({"model.norm.weight": {"dtype": "F32", "shape": [8], "data_offsets": [8, 4]}})",
           std::string(32, '\0'));
  ExpectErrorNaming(Load(), path_, "out of range");
  WriteRaw(path_,
           R"({"model.norm.weight": {"dtype": "F32", "shape": [8], "data_offsets": [0, 28]}})",
           std::string(32, '\0'));
  ExpectErrorNaming(Load(), path_, "do not match shape [8]");
}

TEST_F(CorruptFileTest, UnexpectedTensor) {
  SafetensorsWriter writer;
  for (const TensorInfo& t : arena_->layout().tensors()) {
    writer.Add(t.name, DType::kF32, t.shape, model_->params().data() + t.offset);
  }
  const float extra = 1.0f;
  writer.Add("model.layers.9.mystery.weight", DType::kF32, {1}, &extra);
  ASSERT_TRUE(writer.Write(path_).ok());
  ExpectErrorNaming(Load(), path_, "unexpected tensor 'model.layers.9.mystery.weight'");
}

TEST_F(CorruptFileTest, OptimizerFileMismatch) {
  AdamW optimizer(arena_->layout(), {});
  ASSERT_TRUE(SaveOptimizer(dir_, optimizer).ok());
  ModelConfig other = model_->config();
  other.intermediate_size = 4;
  AdamW wrong(ParamLayout::ForConfig(other), {});
  ExpectErrorNaming(LoadOptimizer(dir_, &wrong), dir_ + "/optimizer.safetensors",
                    "w1.weight.exp_avg");
  EXPECT_EQ(wrong.step(), 0);
}

TEST(CheckpointTest, MissingFilesAreNotFound) {
  EXPECT_EQ(LoadModel("/nonexistent/dir").status().code(), StatusCode::kNotFound);
  AdamW optimizer(ParamLayout::ForConfig(testing::TinyHybridConfig()), {});
  EXPECT_EQ(LoadOptimizer("/nonexistent/dir", &optimizer).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace lightrl::model
