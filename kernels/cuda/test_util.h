// Helpers of the GPU op tests: skipping without a GPU, device arrays with guard regions,
// random inputs and error measures. Used by *_test.cc only.
//
// Every output array is poisoned before an op runs and surrounded by guard words; a test
// checks that the guards are intact (no out-of-bounds write) and that no poisoned value is
// left where the op must write.
#ifndef LIGHTRL_KERNELS_CUDA_TEST_UTIL_H_
#define LIGHTRL_KERNELS_CUDA_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "kernels/cuda/device.h"

namespace lightrl::kernels::cuda::testing {

// Skips the test (with the reason) where no CUDA device is usable, as on the CI machine.
#define LIGHTRL_REQUIRE_GPU()                                                       \
  do {                                                                              \
    std::string lightrl_why_;                                                       \
    if (::lightrl::kernels::cuda::DeviceCount(&lightrl_why_) == 0) {                \
      GTEST_SKIP() << "no CUDA device (" << lightrl_why_                            \
                   << "); GPU tests run on a GPU machine through scripts/test-gpu"; \
    }                                                                               \
  } while (0)

inline constexpr uint32_t kGuardBits = 0x7fa5a5a5u;   // a NaN no op produces
inline constexpr uint32_t kPoisonBits = 0x7fbadbadu;  // likewise
inline constexpr size_t kGuardWords = 256;

// A device array of T with kGuardWords guard values on each side.
template <typename T>
class Guarded {
 public:
  // n elements poisoned (floats) or filled with -1 (integers).
  Guarded(const CudaContext& ctx, size_t n) : ctx_(ctx), n_(n) {
    std::vector<T> host(n + 2 * kGuardWords, Fill(kPoisonBits));
    std::fill(host.begin(), host.begin() + kGuardWords, Fill(kGuardBits));
    std::fill(host.end() - kGuardWords, host.end(), Fill(kGuardBits));
    Upload(host);
  }
  // A copy of `values` (guards around it).
  Guarded(const CudaContext& ctx, std::span<const T> values) : ctx_(ctx), n_(values.size()) {
    std::vector<T> host(kGuardWords, Fill(kGuardBits));
    host.insert(host.end(), values.begin(), values.end());
    host.resize(n_ + 2 * kGuardWords, Fill(kGuardBits));
    Upload(host);
  }
  T* data() { return buffer_.data() + kGuardWords; }
  size_t size() const { return n_; }

  std::vector<T> Download() const {
    std::vector<T> all = DownloadAll();
    return std::vector<T>(all.begin() + kGuardWords, all.end() - kGuardWords);
  }
  // Guard words that no longer hold the guard value.
  int DamagedGuards() const {
    const std::vector<T> all = DownloadAll();
    int damaged = 0;
    for (size_t i = 0; i < kGuardWords; ++i) {
      damaged += !Same(all[i], Fill(kGuardBits));
      damaged += !Same(all[all.size() - 1 - i], Fill(kGuardBits));
    }
    return damaged;
  }
  // Elements still holding the poison value.
  int Unwritten() const {
    int count = 0;
    for (const T& value : Download()) count += Same(value, Fill(kPoisonBits));
    return count;
  }

 private:
  static T Fill(uint32_t bits) {
    if constexpr (std::is_same_v<T, float>) {
      return std::bit_cast<float>(bits);
    } else if constexpr (std::is_same_v<T, bf16>) {
      return std::bit_cast<bf16>(static_cast<uint16_t>(bits >> 16));
    } else {
      return static_cast<T>(-1);
    }
  }
  static bool Same(const T& a, const T& b) {
    if constexpr (std::is_same_v<T, float>) {
      return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
    } else if constexpr (std::is_same_v<T, bf16>) {
      return std::bit_cast<uint16_t>(a) == std::bit_cast<uint16_t>(b);
    } else {
      return a == b;
    }
  }
  void Upload(const std::vector<T>& host) {
    buffer_.MustResize(host.size());
    CopyToDevice(ctx_, host.data(), host.size(), buffer_.data());
    ctx_.Synchronize();
  }
  std::vector<T> DownloadAll() const {
    std::vector<T> host(n_ + 2 * kGuardWords);
    CopyToHost(ctx_, buffer_.data(), host.size(), host.data());
    return host;
  }

  const CudaContext& ctx_;
  size_t n_;
  DeviceBuffer<T> buffer_;
};

// Expects intact guards and, when `all_written`, no poisoned element.
template <typename T>
void ExpectClean(const Guarded<T>& array, const std::string& name, bool all_written = true) {
  EXPECT_EQ(array.DamagedGuards(), 0) << name << ": write outside the array";
  if (all_written) {
    EXPECT_EQ(array.Unwritten(), 0) << name << ": elements left unwritten";
  }
}

inline std::vector<float> RandomFloats(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// ‖a − b‖₂ / ‖b‖₂ (NaN anywhere gives infinity).
inline double RelativeError(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

inline double MaxAbsDiff(std::span<const float> a, std::span<const float> b) {
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double d = std::abs(double(a[i]) - b[i]);
    if (!(d <= worst)) worst = d;  // NaN propagates
  }
  return worst;
}

// A context on device 0 for each test; skips without a GPU.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LIGHTRL_REQUIRE_GPU();
    auto ctx = CudaContext::Create(0);
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    ctx_ = std::move(*ctx);
  }
  const CudaContext& ctx() const { return *ctx_; }

  template <typename T>
  Guarded<T> Upload(const std::vector<T>& values) {
    return Guarded<T>(*ctx_, std::span<const T>(values));
  }
  template <typename T = float>
  Guarded<T> Output(size_t n) {
    return Guarded<T>(*ctx_, n);
  }

 private:
  std::unique_ptr<CudaContext> ctx_;
};

}  // namespace lightrl::kernels::cuda::testing

#endif  // LIGHTRL_KERNELS_CUDA_TEST_UTIL_H_
