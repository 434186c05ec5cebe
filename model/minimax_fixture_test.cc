// lightrl's model against transformers' MiniMaxForCausalLM: loads each golden fixture of
// tests/fixtures/minimax (written by transformers 5.17.0, see its README) and matches the
// logits within 1e-4 in FP32, and every hidden state on the way.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/safetensors.h"

namespace lightrl::model {
namespace {

constexpr double kLogitTolerance = 1e-4;

struct Expected {
  int64_t batch = 0, length = 0;
  std::vector<int64_t> input_ids;
  std::vector<float> logits;
  std::vector<std::vector<float>> hidden;  // hidden.0 .. hidden.L
};

Expected ReadExpected(const std::string& path, const ModelConfig& config) {
  auto file = SafetensorsFile::Read(path);
  EXPECT_TRUE(file.ok()) << file.status();
  Expected e;
  const TensorEntry* ids = file->Find("input_ids");
  EXPECT_NE(ids, nullptr);
  e.batch = ids->shape[0];
  e.length = ids->shape[1];
  e.input_ids.resize(e.batch * e.length);
  EXPECT_TRUE(file->ReadInt64s("input_ids", {e.batch, e.length}, e.input_ids.data()).ok());
  e.logits.resize(e.batch * e.length * config.vocab_size);
  EXPECT_TRUE(
      file->ReadFloats("logits", {e.batch, e.length, config.vocab_size}, e.logits.data()).ok());
  for (int i = 0; i <= config.num_hidden_layers; ++i) {
    std::vector<float>& h = e.hidden.emplace_back(e.batch * e.length * config.hidden_size);
    EXPECT_TRUE(file->ReadFloats("hidden." + std::to_string(i),
                                 {e.batch, e.length, config.hidden_size}, h.data())
                    .ok());
  }
  return e;
}

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
  return worst;
}

class MinimaxFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MinimaxFixtureTest, MatchesTransformersLogits) {
  const std::string dir =
      std::string(LIGHTRL_TEST_SOURCE_DIR) + "/tests/fixtures/minimax/" + GetParam();
  auto model = LoadModel(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelConfig& config = (*model)->config();
  const Expected expected = ReadExpected(dir + "/expected.safetensors", config);
  PackedBatch batch;  // each row of input_ids is one sequence starting at position 0
  for (int64_t b = 0; b < expected.batch; ++b) {
    batch.Append(std::vector<int32_t>(expected.input_ids.begin() + b * expected.length,
                                      expected.input_ids.begin() + (b + 1) * expected.length));
  }
  std::vector<std::vector<float>> hidden;
  auto logits = (*model)->Logits(batch, &hidden);
  ASSERT_TRUE(logits.ok()) << logits.status();
  ASSERT_EQ(hidden.size(), expected.hidden.size());
  for (size_t i = 0; i < hidden.size(); ++i) {
    const double diff = MaxAbsDiff(hidden[i], expected.hidden[i]);
    EXPECT_LE(diff, kLogitTolerance) << GetParam() << " hidden." << i;
  }
  const double diff = MaxAbsDiff(*logits, expected.logits);
  RecordProperty("max_abs_logit_error", std::to_string(diff));
  std::printf("%s: max |logit - transformers| = %.3g over %zu logits\n", GetParam().c_str(), diff,
              expected.logits.size());
  EXPECT_LE(diff, kLogitTolerance) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MinimaxFixtureTest,
                         ::testing::Values("hybrid_moe", "lightning_only", "alpha_beta_mix"));

}  // namespace
}  // namespace lightrl::model
