// Test helper: a policy on the CUDA backend, or the reason the calling test must skip.
#ifndef LIGHTRL_MODEL_POLICY_TEST_UTIL_H_
#define LIGHTRL_MODEL_POLICY_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "model/policy.h"
#if LIGHTRL_WITH_CUDA
#include "kernels/cuda/device.h"
#endif

namespace lightrl::model::testing {

// A CUDA policy of `config`, or null with *skip saying why (a build without CUDA, or no
// device); in both cases it checks that CreatePolicy failed with FailedPrecondition.
// Needs LIGHTRL_WITH_CUDA defined as the model library was built.
inline std::unique_ptr<Policy> CudaPolicyOrSkipReason(const ModelConfig& config,
                                                      std::optional<Precision> precision,
                                                      std::string* skip) {
  PolicyOptions options;
  options.backend = Backend::kCuda;
  options.precision = precision;
  auto policy = CreatePolicy(config, options);
  if (!CudaBackendBuilt()) {
    EXPECT_EQ(policy.status().code(), StatusCode::kFailedPrecondition);
    *skip = "built without CUDA: " + policy.status().ToString();
    return nullptr;
  }
#if LIGHTRL_WITH_CUDA
  std::string why;
  if (kernels::cuda::DeviceCount(&why) == 0) {
    EXPECT_EQ(policy.status().code(), StatusCode::kFailedPrecondition) << policy.status();
    *skip = "no CUDA device (" + why + "): " + policy.status().ToString();
    return nullptr;
  }
#endif
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? std::move(*policy) : nullptr;
}

}  // namespace lightrl::model::testing

#endif  // LIGHTRL_MODEL_POLICY_TEST_UTIL_H_
