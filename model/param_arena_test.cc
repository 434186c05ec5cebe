#include "model/param_arena.h"

#include <gtest/gtest.h>

#include <cstring>

#include "model/test_configs.h"

namespace lightrl::model {
namespace {

TEST(ParamArenaTest, LayoutUsesTransformersNamesAndFusesSharedInputs) {
  const ModelConfig c = testing::TinyHybridConfig();
  const ParamLayout layout = ParamLayout::ForConfig(c);
  EXPECT_EQ(layout.tensors().front().name, "model.embed_tokens.weight");
  EXPECT_EQ(layout.tensors().back().name, "lm_head.weight");
  const TensorInfo& qkv = layout.Get("model.layers.0.self_attn.qkv_proj.weight");
  EXPECT_EQ(qkv.shape, (std::vector<int64_t>{24, 8}));
  EXPECT_EQ(layout.Get("model.layers.0.self_attn.output_gate.weight").offset,
            qkv.offset + qkv.numel);
  const TensorInfo& q = layout.Get("model.layers.1.self_attn.q_proj.weight");
  EXPECT_EQ(layout.Get("model.layers.1.self_attn.k_proj.weight").offset, q.offset + q.numel);
  const TensorInfo& w1 = layout.Get("model.layers.2.block_sparse_moe.experts.2.w1.weight");
  EXPECT_EQ(layout.Get("model.layers.2.block_sparse_moe.experts.2.w3.weight").offset,
            w1.offset + w1.numel);
  EXPECT_TRUE(w1.weight_decay);
  EXPECT_FALSE(layout.Get("model.norm.weight").weight_decay);
  EXPECT_EQ(layout.Find("model.layers.1.self_attn.qkv_proj.weight"), nullptr);
  size_t total = 0;
  for (const TensorInfo& t : layout.tensors()) {
    EXPECT_EQ(t.offset, total) << t.name;
    total += t.numel;
  }
  EXPECT_EQ(total, layout.total_elements());
}

TEST(ParamArenaTest, ExportImportRoundTrip) {
  const ParamLayout layout = ParamLayout::ForConfig(testing::TinyHybridConfig());
  ParamArena<float> sender(layout), receiver(layout);
  for (size_t i = 0; i < sender.size(); ++i) sender.data()[i] = 0.25f * static_cast<float>(i);
  const std::vector<ByteLayoutEntry> byte_layout = sender.ByteLayout();
  EXPECT_EQ(byte_layout[1].byte_offset, byte_layout[0].byte_size);
  EXPECT_EQ(byte_layout[0].dtype, "F32");
  ASSERT_TRUE(receiver.ImportBytes(sender.Bytes(), byte_layout).ok());
  EXPECT_EQ(0, std::memcmp(receiver.data(), sender.data(), sender.size() * sizeof(float)));
  receiver.Fill(0);
  ASSERT_TRUE(receiver.ImportBytes(sender.Bytes(), layout.Fingerprint()).ok());
  EXPECT_EQ(receiver.data()[7], sender.data()[7]);
}

TEST(ParamArenaTest, ImportRejectsMismatches) {
  const ModelConfig c = testing::TinyHybridConfig();
  ModelConfig other = c;
  other.intermediate_size = 5;
  ParamArena<float> mine((ParamLayout::ForConfig(c))), theirs((ParamLayout::ForConfig(other)));
  mine.Fill(3.0f);
  auto status = mine.ImportBytes(theirs.Bytes(), theirs.ByteLayout());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("w1.weight"), std::string_view::npos) << status;
  EXPECT_EQ(mine.ImportBytes(theirs.Bytes(), theirs.layout().Fingerprint()).code(),
            StatusCode::kInvalidArgument);
  // Right layout, wrong byte count.
  const auto bytes = mine.Bytes();
  status = mine.ImportBytes(bytes.first(bytes.size() - 4), mine.ByteLayout());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("bytes"), std::string_view::npos);
  EXPECT_EQ(mine.data()[0], 3.0f);  // nothing changed
  ParamArena<double> wide(mine.layout());
  EXPECT_FALSE(wide.ImportBytes(mine.Bytes(), mine.ByteLayout()).ok());  // F32 vs F64
}

}  // namespace
}  // namespace lightrl::model
