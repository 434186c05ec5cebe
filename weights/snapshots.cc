#include "weights/snapshots.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/crc32c.h"

#if LIGHTRL_WITH_CUDA
#include "kernels/cuda/device.h"
#include "model/cuda/model.h"
#endif

namespace lightrl {
namespace {

// Threads that copy out and checksum a snapshot (one thread does ~6-15 GB/s).
constexpr int kCopyThreads = 4;

// A CPU policy's weights, copied in host memory.
class HostSnapshots final : public WeightSnapshots {
 public:
  explicit HostSnapshots(model::Policy* policy)
      : WeightSnapshots(policy->params().Bytes().size()), policy_(policy) {
    for (std::vector<std::byte>& slot : slots_) slot.resize(bytes());
  }

 private:
  void CopyIn(int slot) override {
    std::span<const std::byte> weights = policy_->params().Bytes();
    std::memcpy(slots_[slot].data(), weights.data(), weights.size());
  }
  uint32_t CopyOut(int slot, uint8_t* out) override {
    return Crc32cCopyParallel(0, out, slots_[slot].data(), bytes(), kCopyThreads);
  }

  model::Policy* policy_;
  std::vector<std::byte> slots_[2];
};

#if LIGHTRL_WITH_CUDA
namespace kc = kernels::cuda;

// A GPU policy's weights, copied on its GPU and downloaded through pinned staging buffers.
class DeviceSnapshots final : public WeightSnapshots {
 public:
  static StatusOr<std::unique_ptr<WeightSnapshots>> Create(model::CudaModel* model, size_t staging_bytes) {
    std::unique_ptr<DeviceSnapshots> s(new DeviceSnapshots(model, staging_bytes));
    model->context().MakeCurrent();
    for (kc::DeviceBuffer<float>& slot : s->slots_) {
      RETURN_IF_ERROR(slot.Resize(model->num_params()));
    }
    for (void*& staging : s->staging_) {
      const cudaError_t error = cudaMallocHost(&staging, staging_bytes);
      if (error != cudaSuccess) return kc::CudaStatus(error, "cudaMallocHost");
    }
    LIGHTRL_CUDA_CHECK(cudaStreamCreateWithFlags(&s->stream_, cudaStreamNonBlocking));
    for (cudaEvent_t* event :
         {&s->captured_[0], &s->captured_[1], &s->downloaded_[0], &s->downloaded_[1]}) {
      LIGHTRL_CUDA_CHECK(cudaEventCreateWithFlags(event, cudaEventDisableTiming));
    }
    return std::unique_ptr<WeightSnapshots>(std::move(s));
  }

  ~DeviceSnapshots() override {
    int current = 0;
    cudaGetDevice(&current);
    model_->context().MakeCurrent();
    for (cudaEvent_t event : {captured_[0], captured_[1], downloaded_[0], downloaded_[1]}) {
      if (event != nullptr) cudaEventDestroy(event);
    }
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    for (void* staging : staging_) {
      if (staging != nullptr) cudaFreeHost(staging);
    }
    cudaSetDevice(current);  // the destroying thread keeps its device
  }

 private:
  DeviceSnapshots(model::CudaModel* model, size_t staging_bytes)
      : WeightSnapshots(model->num_params() * sizeof(float)),
        model_(model),
        staging_bytes_(staging_bytes) {}

  void CopyIn(int slot) override {
    const kc::CudaContext& ctx = model_->context();
    ctx.MakeCurrent();
    LIGHTRL_CUDA_CHECK(cudaMemcpyAsync(slots_[slot].data(), model_->device_params(), bytes(),
                                       cudaMemcpyDeviceToDevice, ctx.stream()));
    LIGHTRL_CUDA_CHECK(cudaEventRecord(captured_[slot], ctx.stream()));
  }

  uint32_t CopyOut(int slot, uint8_t* out) override {
    model_->context().MakeCurrent();
    LIGHTRL_CUDA_CHECK(cudaStreamWaitEvent(stream_, captured_[slot], 0));
    const auto* source = reinterpret_cast<const uint8_t*>(slots_[slot].data());
    const size_t chunks = (bytes() + staging_bytes_ - 1) / staging_bytes_;
    const auto length = [&](size_t chunk) {
      return std::min(staging_bytes_, bytes() - chunk * staging_bytes_);
    };
    const auto download = [&](size_t chunk) {
      LIGHTRL_CUDA_CHECK(cudaMemcpyAsync(staging_[chunk % 2], source + chunk * staging_bytes_,
                                         length(chunk), cudaMemcpyDeviceToHost, stream_));
      LIGHTRL_CUDA_CHECK(cudaEventRecord(downloaded_[chunk % 2], stream_));
    };
    uint32_t crc = 0;
    if (chunks > 0) download(0);
    for (size_t chunk = 0; chunk < chunks; ++chunk) {
      // The other buffer was copied out in the previous round: it takes the next chunk.
      if (chunk + 1 < chunks) download(chunk + 1);
      LIGHTRL_CUDA_CHECK(cudaEventSynchronize(downloaded_[chunk % 2]));
      crc = Crc32cCopyParallel(crc, out + chunk * staging_bytes_, staging_[chunk % 2],
                               length(chunk), kCopyThreads);
    }
    return crc;
  }

  model::CudaModel* model_;
  const size_t staging_bytes_;
  kc::DeviceBuffer<float> slots_[2];
  void* staging_[2] = {nullptr, nullptr};
  cudaStream_t stream_ = nullptr;
  cudaEvent_t captured_[2] = {nullptr, nullptr};
  cudaEvent_t downloaded_[2] = {nullptr, nullptr};
};
#endif  // LIGHTRL_WITH_CUDA

}  // namespace

StatusOr<std::unique_ptr<WeightSnapshots>> WeightSnapshots::Create(model::Policy* policy,
                                                                   size_t staging_bytes) {
  if (staging_bytes == 0) return InvalidArgumentError("weight snapshots: staging_bytes is 0");
#if LIGHTRL_WITH_CUDA
  if (model::CudaModel* model = policy->weights_model()) {
    return DeviceSnapshots::Create(model, staging_bytes);
  }
#endif
  return std::unique_ptr<WeightSnapshots>(new HostSnapshots(policy));
}

void WeightSnapshots::Capture(uint64_t version) {
  int slot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reading_ >= 0) {
      slot = 1 - reading_;
    } else if (slots_[0].ready != slots_[1].ready) {
      slot = slots_[0].ready ? 1 : 0;
    } else {
      slot = slots_[0].version <= slots_[1].version ? 0 : 1;
    }
    slots_[slot].ready = false;  // the reader leaves it alone while it is written
  }
  CopyIn(slot);
  {
    std::lock_guard<std::mutex> lock(mu_);
    slots_[slot] = {true, version};
  }
  captured_.notify_all();
}

std::optional<WeightSnapshots::Snapshot> WeightSnapshots::ReadNewest(uint64_t after, uint8_t* out) {
  int slot = -1;
  uint64_t version = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    const auto newest = [&] {
      int best = -1;
      for (int s = 0; s < 2; ++s) {
        if (slots_[s].ready && slots_[s].version > after &&
            (best < 0 || slots_[s].version > slots_[best].version)) {
          best = s;
        }
      }
      return best;
    };
    captured_.wait(lock, [&] { return stopping_ || newest() >= 0; });
    if (stopping_) return std::nullopt;
    slot = newest();
    version = slots_[slot].version;
    reading_ = slot;
  }
  const auto started = std::chrono::steady_clock::now();
  const uint32_t checksum = CopyOut(slot, out);
  const std::chrono::duration<double> copy = std::chrono::steady_clock::now() - started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reading_ = -1;
    slots_[slot].ready = false;
  }
  return Snapshot{version, checksum, copy.count()};
}

void WeightSnapshots::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  captured_.notify_all();
}

}  // namespace lightrl
