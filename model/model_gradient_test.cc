// The whole model's backward against float64 central finite differences, tensor by tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/gradient_check.h"
#include "model/model.h"
#include "model/test_configs.h"

namespace lightrl::model {
namespace {

using kernels::testing::CheckGradient;
using kernels::testing::RandomVector;

TEST(ModelGradientTest, EveryParameterMatchesFiniteDifferences) {
  const ModelConfig config = testing::TinyHybridConfig();
  auto model_or = ModelT<double>::Create(config);
  ASSERT_TRUE(model_or.ok()) << model_or.status();
  ModelT<double>& model = **model_or;
  model.InitializeRandom(7);
  const PackedBatch batch = testing::RandomBatch({8, 1, 6}, 2, config.vocab_size, 3);
  const std::vector<double> g = RandomVector(batch.num_tokens(), 11);
  const std::vector<double> ge = RandomVector(batch.num_tokens(), 12);
  const double temperature = 0.8;

  auto loss = [&] {
    auto out = model.Forward(batch, {.keep_activations = false, .temperature = temperature});
    double total = config.router_aux_loss_coef * out->aux_loss;
    for (int j = 0; j < batch.num_tokens(); ++j)
      total += g[j] * out->logprobs[j] + ge[j] * out->entropies[j];
    return total;
  };
  auto out = model.Forward(batch, {.keep_activations = true, .temperature = temperature});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->num_targets, 6 + 0 + 4);
  model.ZeroGrad();
  ASSERT_TRUE(model.Backward(g, ge).ok());

  for (const TensorInfo& t : model.params().layout().tensors()) {
    std::vector<double> values(model.params().data() + t.offset,
                               model.params().data() + t.offset + t.numel);
    const std::vector<double> analytic(model.grads().data() + t.offset,
                                       model.grads().data() + t.offset + t.numel);
    auto tensor_loss = [&] {
      std::copy(values.begin(), values.end(), model.params().data() + t.offset);
      return loss();
    };
    const auto result = CheckGradient(&values, analytic, tensor_loss, 1e-6, 24);
    std::copy(values.begin(), values.end(), model.params().data() + t.offset);
    EXPECT_TRUE(result.Passes(1e-6)) << t.name << ": max error " << result.max_error
                                     << " (max gradient " << result.max_gradient << ")";
  }
}

TEST(ModelGradientTest, BackwardNeedsAKeptForward) {
  auto model = ModelT<float>::Create(testing::TinyHybridConfig());
  ASSERT_TRUE(model.ok());
  const PackedBatch batch = testing::RandomBatch({5}, 1, 11, 1);
  std::vector<float> g(batch.num_tokens(), 1.0f);
  EXPECT_EQ((*model)->Backward(g).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*model)->Forward(batch, {.keep_activations = false}).ok());
  EXPECT_EQ((*model)->Backward(g).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*model)->Forward(batch).ok());
  std::vector<float> wrong(3, 1.0f);
  EXPECT_EQ((*model)->Backward(wrong).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*model)->Backward(g).ok());
  EXPECT_EQ((*model)->Backward(g).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace lightrl::model
