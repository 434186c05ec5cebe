// lightrl-bench-gpu-nccl: NCCL all-reduce (gradients) and broadcast (new weights) across the
// GPUs of one host, against the peer-to-peer copy bandwidth measured in the same run.
//
//   lightrl-bench-gpu-nccl [--sizes_mib=64,256,1024] [--repeats=5] [--warmup=2]
// Exits 1 if any result is wrong, 2 with fewer than two GPUs.
//
// One thread drives all GPUs through one communicator per GPU (ncclCommInitAll) and grouped
// calls. Bandwidths follow nccl-tests: algbw = bytes / time; bus bandwidth = algbw ·
// 2(n−1)/n for all-reduce and algbw for broadcast. The ceiling is the median
// cudaMemcpyPeerAsync bandwidth from GPU 0 to GPU 1 (one direction). Wrong results: after
// the timed runs each buffer is refilled (rank r holds (r+1)·(i mod 13)) and every element
// of the all-reduced sum and of the broadcast copy is checked exactly.
//
// NVLink multicast (NVLS) must stay off on shared hosts: the tool sets NCCL_NVLS_ENABLE=0
// unless it is already set to 0.
#include <gflags/gflags.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cuda/device.h"

DEFINE_string(sizes_mib, "64,256,1024", "Comma-separated message sizes in MiB.");
DEFINE_int32(repeats, 5, "Timed runs per measurement (the median is reported).");
DEFINE_int32(warmup, 2, "Untimed runs before the timed ones.");

#define NCCL_CHECK(call)                                                                     \
  do {                                                                                       \
    const ncclResult_t nccl_result_ = (call);                                                \
    CHECK(nccl_result_ == ncclSuccess) << #call << ": " << ncclGetErrorString(nccl_result_); \
  } while (0)

namespace lightrl {
namespace {

using Clock = std::chrono::steady_clock;

struct Rank {
  int device = 0;
  cudaStream_t stream = nullptr;
  ncclComm_t comm = nullptr;
  float* buffer = nullptr;
};

void SyncAll(const std::vector<Rank>& ranks) {
  for (const Rank& r : ranks) {
    LIGHTRL_CUDA_CHECK(cudaSetDevice(r.device));
    LIGHTRL_CUDA_CHECK(cudaStreamSynchronize(r.stream));
  }
}

double MedianSeconds(const std::vector<Rank>& ranks, const std::function<void()>& fn) {
  for (int i = 0; i < FLAGS_warmup; ++i) fn();
  SyncAll(ranks);
  std::vector<double> times;
  for (int i = 0; i < FLAGS_repeats; ++i) {
    const auto start = Clock::now();
    fn();
    SyncAll(ranks);
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Rank r's buffer ← (r+1)·(i mod 13).
void Fill(const std::vector<Rank>& ranks, size_t count) {
  std::vector<float> host(count);
  for (size_t r = 0; r < ranks.size(); ++r) {
    for (size_t i = 0; i < count; ++i) host[i] = float((r + 1) * (i % 13));
    LIGHTRL_CUDA_CHECK(cudaSetDevice(ranks[r].device));
    LIGHTRL_CUDA_CHECK(
        cudaMemcpy(ranks[r].buffer, host.data(), count * sizeof(float), cudaMemcpyHostToDevice));
  }
}

// Elements of every rank's buffer that differ from scale(r)·(i mod 13).
int64_t Mismatches(const std::vector<Rank>& ranks, size_t count,
                   const std::function<float(size_t)>& scale) {
  std::vector<float> host(count);
  int64_t wrong = 0;
  for (size_t r = 0; r < ranks.size(); ++r) {
    LIGHTRL_CUDA_CHECK(cudaSetDevice(ranks[r].device));
    LIGHTRL_CUDA_CHECK(
        cudaMemcpy(host.data(), ranks[r].buffer, count * sizeof(float), cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < count; ++i) wrong += host[i] != scale(r) * float(i % 13);
  }
  return wrong;
}

void AllReduce(const std::vector<Rank>& ranks, size_t count) {
  NCCL_CHECK(ncclGroupStart());
  for (const Rank& r : ranks) {
    NCCL_CHECK(ncclAllReduce(r.buffer, r.buffer, count, ncclFloat, ncclSum, r.comm, r.stream));
  }
  NCCL_CHECK(ncclGroupEnd());
}

void Broadcast(const std::vector<Rank>& ranks, size_t count) {
  NCCL_CHECK(ncclGroupStart());
  for (const Rank& r : ranks) {
    NCCL_CHECK(ncclBroadcast(r.buffer, r.buffer, count, ncclFloat, 0, r.comm, r.stream));
  }
  NCCL_CHECK(ncclGroupEnd());
}

double PeerCopyBytesPerSecond(const std::vector<Rank>& ranks, size_t count) {
  LIGHTRL_CUDA_CHECK(cudaSetDevice(ranks[0].device));
  const cudaError_t enabled = cudaDeviceEnablePeerAccess(ranks[1].device, 0);
  if (enabled != cudaErrorPeerAccessAlreadyEnabled) LIGHTRL_CUDA_CHECK(enabled);
  const std::vector<Rank> first{ranks[0]};
  const double seconds = MedianSeconds(first, [&] {
    LIGHTRL_CUDA_CHECK(cudaMemcpyPeerAsync(ranks[1].buffer, ranks[1].device, ranks[0].buffer,
                                           ranks[0].device, count * sizeof(float),
                                           ranks[0].stream));
  });
  return count * sizeof(float) / seconds;
}

int Run() {
  const char* nvls = std::getenv("NCCL_NVLS_ENABLE");
  if (nvls == nullptr || std::string(nvls) != "0") setenv("NCCL_NVLS_ENABLE", "0", 1);
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n < 2) {
    std::fprintf(stderr, "lightrl-bench-gpu-nccl: needs two or more GPUs (found %d)\n", n);
    return 2;
  }
  std::vector<size_t> sizes;
  std::stringstream list(FLAGS_sizes_mib);
  for (std::string part; std::getline(list, part, ',');) {
    sizes.push_back(std::stoul(part) * (size_t{1} << 20) / sizeof(float));
  }
  const size_t largest = *std::max_element(sizes.begin(), sizes.end());
  std::vector<Rank> ranks(n);
  std::vector<int> devices(n);
  std::vector<ncclComm_t> comms(n);
  for (int d = 0; d < n; ++d) devices[d] = d;
  NCCL_CHECK(ncclCommInitAll(comms.data(), n, devices.data()));
  for (int d = 0; d < n; ++d) {
    ranks[d].device = d;
    ranks[d].comm = comms[d];
    LIGHTRL_CUDA_CHECK(cudaSetDevice(d));
    LIGHTRL_CUDA_CHECK(cudaStreamCreateWithFlags(&ranks[d].stream, cudaStreamNonBlocking));
    LIGHTRL_CUDA_CHECK(cudaMalloc(&ranks[d].buffer, largest * sizeof(float)));
  }
  cudaDeviceProp prop;
  LIGHTRL_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const double peer = PeerCopyBytesPerSecond(ranks, largest);
  std::printf("device: %d x %s; peer copy GPU0->GPU1 %.0f GB/s (the ceiling below)\n", n, prop.name,
              peer / 1e9);
  std::printf("%-12s %10s %10s %12s %12s %12s\n", "op", "MiB", "ms", "algbw GB/s", "busbw GB/s",
              "of ceiling");
  int64_t wrong = 0;
  for (const size_t count : sizes) {
    const double bytes = count * sizeof(float);
    Fill(ranks, count);
    const double reduce_s = MedianSeconds(ranks, [&] { AllReduce(ranks, count); });
    Fill(ranks, count);
    AllReduce(ranks, count);
    SyncAll(ranks);
    wrong += Mismatches(ranks, count, [&](size_t) { return float(n * (n + 1) / 2); });
    const double reduce_bus = bytes / reduce_s * 2.0 * (n - 1) / n;
    std::printf("%-12s %10.0f %10.3f %12.1f %12.1f %12.3f\n", "all-reduce", bytes / (1 << 20),
                reduce_s * 1e3, bytes / reduce_s / 1e9, reduce_bus / 1e9, reduce_bus / peer);

    const double broadcast_s = MedianSeconds(ranks, [&] { Broadcast(ranks, count); });
    Fill(ranks, count);
    Broadcast(ranks, count);
    SyncAll(ranks);
    wrong += Mismatches(ranks, count, [](size_t) { return 1.0f; });
    const double broadcast_bus = bytes / broadcast_s;
    std::printf("%-12s %10.0f %10.3f %12.1f %12.1f %12.3f\n", "broadcast", bytes / (1 << 20),
                broadcast_s * 1e3, broadcast_bus / 1e9, broadcast_bus / 1e9, broadcast_bus / peer);
  }
  for (Rank& r : ranks) {
    LIGHTRL_CUDA_CHECK(cudaSetDevice(r.device));
    LIGHTRL_CUDA_CHECK(cudaFree(r.buffer));
    LIGHTRL_CUDA_CHECK(cudaStreamDestroy(r.stream));
    NCCL_CHECK(ncclCommDestroy(r.comm));
  }
  std::printf("all-reduce/broadcast wrong elements: %lld\n", static_cast<long long>(wrong));
  return wrong == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lightrl

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return lightrl::Run();
}
