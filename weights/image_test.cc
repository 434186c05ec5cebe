#include "weights/image.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "model/config.h"
#include "model/test_configs.h"

namespace lightrl {
namespace {

TEST(WeightsExportTest, TheImageIsTheArenaWithItsLayout) {
  model::ParamArena<float> params(
      model::ParamLayout::ForConfig(model::testing::TinyHybridConfig()));
  for (size_t i = 0; i < params.size(); ++i) params.data()[i] = 0.5f * static_cast<float>(i);
  const WeightsImage image = ExportWeights(params, 7);
  EXPECT_EQ(image.version, 7u);
  ASSERT_EQ(image.bytes->size(), params.Bytes().size());
  EXPECT_EQ(std::memcmp(image.bytes->data(), params.Bytes().data(), image.bytes->size()), 0);
  EXPECT_TRUE(ValidateLayout(image.tensors, image.bytes->size()).ok());
  ASSERT_EQ(image.tensors.size(), params.ByteLayout().size());
  EXPECT_EQ(image.tensors.front().name, params.ByteLayout().front().name);
}

TEST(ImageBuffersTest, ReleasedBuffersAreReusedUpToTheIdleLimit) {
  ImageBuffers pool(1000, 2);
  {
    auto a = pool.Acquire(), b = pool.Acquire(), c = pool.Acquire();
    uint8_t mark = 1;
    for (auto* buffer : {a.get(), b.get(), c.get()}) {
      ASSERT_EQ(buffer->size(), 1000u);
      EXPECT_EQ((*buffer)[0], 0) << "a fresh buffer is zeroed";
      (*buffer)[0] = mark++;
    }
  }  // all three come back; the pool keeps two of them
  auto x = pool.Acquire(), y = pool.Acquire(), z = pool.Acquire();
  std::multiset<uint8_t> marks;
  for (auto* buffer : {x.get(), y.get(), z.get()}) marks.insert((*buffer)[0]);
  EXPECT_EQ(marks.count(0), 1u) << "one buffer is new";
  EXPECT_EQ(marks.size() - marks.count(0), 2u) << "two were reused with their contents";
}

TEST(ImageBuffersTest, ABufferMayOutliveItsPool) {
  std::shared_ptr<std::vector<uint8_t>> kept;
  {
    ImageBuffers pool(64, 1);
    kept = pool.Acquire();
  }
  (*kept)[63] = 1;
  EXPECT_EQ(kept->size(), 64u);
  kept.reset();  // freed, not returned to the pool that is gone
}

}  // namespace
}  // namespace lightrl
