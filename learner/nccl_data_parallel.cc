#include "learner/nccl_data_parallel.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/logging.h"

namespace lightrl::learner {
namespace {

void CheckNccl(ncclResult_t result, const char* what) {
  CHECK(result == ncclSuccess) << what << ": " << ncclGetErrorString(result);
}

}  // namespace

std::string NcclIdToHex(const ncclUniqueId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (const char c : id.internal) {
    const auto byte = static_cast<unsigned char>(c);
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 15];
  }
  return hex;
}

StatusOr<ncclUniqueId> ParseNcclId(const std::string& hex) {
  ncclUniqueId id;
  if (hex.size() != 2 * sizeof(id.internal)) {
    return InvalidArgumentError("NCCL id: expected " + std::to_string(2 * sizeof(id.internal)) +
                                " hex digits, got " + std::to_string(hex.size()));
  }
  for (size_t i = 0; i < sizeof(id.internal); ++i) {
    unsigned value = 0;
    for (int half = 0; half < 2; ++half) {
      const char c = hex[2 * i + half];
      int digit = -1;
      if (c >= '0' && c <= '9') digit = c - '0';
      if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      if (digit < 0) {
        return InvalidArgumentError("NCCL id: '" + std::string(1, c) + "' at " +
                                    std::to_string(2 * i + half) + " is not a hex digit");
      }
      value = value * 16 + digit;
    }
    id.internal[i] = static_cast<char>(value);
  }
  return id;
}

StatusOr<std::unique_ptr<NcclDataParallel>> NcclDataParallel::Create(model::CudaModel* model,
                                                                     const ncclUniqueId& id,
                                                                     int rank, int world) {
  if (world <= 0 || rank < 0 || rank >= world) {
    return InvalidArgumentError("NCCL rank " + std::to_string(rank) + " outside a world of " +
                                std::to_string(world));
  }
  setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0);
  LIGHTRL_CUDA_CHECK(cudaSetDevice(model->context().device()));
  ncclComm_t comm = nullptr;
  const ncclResult_t result = ncclCommInitRank(&comm, world, id, rank);
  if (result != ncclSuccess) {
    return InternalError("ncclCommInitRank (rank " + std::to_string(rank) + " of " +
                         std::to_string(world) + "): " + ncclGetErrorString(result));
  }
  return std::unique_ptr<NcclDataParallel>(new NcclDataParallel(model, comm, rank, world));
}

NcclDataParallel::~NcclDataParallel() { CheckNccl(ncclCommDestroy(comm_), "ncclCommDestroy"); }

void NcclDataParallel::AllReduceGrads() {
  model_->context().MakeCurrent();
  CheckNccl(ncclAllReduce(model_->device_grads(), model_->device_grads(), model_->num_params(),
                          ncclFloat, ncclSum, comm_, model_->context().stream()),
            "ncclAllReduce of the gradients");
}

void NcclDataParallel::BroadcastParams(int root) {
  CHECK(root >= 0 && root < world_) << "broadcast root " << root;
  model_->context().MakeCurrent();
  CheckNccl(ncclBroadcast(model_->device_params(), model_->device_params(), model_->num_params(),
                          ncclFloat, root, comm_, model_->context().stream()),
            "ncclBroadcast of the weights");
  model_->DeviceParamsChanged();
}

uint64_t NcclDataParallel::ParamsDigest() const {
  std::vector<uint32_t> bits(model_->num_params());
  static_assert(sizeof(float) == sizeof(uint32_t));
  model_->context().MakeCurrent();
  kernels::cuda::CopyToHost(model_->context(),
                            reinterpret_cast<const uint32_t*>(model_->device_params()), bits.size(),
                            bits.data());
  uint64_t hash = 1469598103934665603ull;
  for (const uint32_t word : bits) {
    for (int shift = 0; shift < 32; shift += 8) {
      hash = (hash ^ ((word >> shift) & 0xff)) * 1099511628211ull;
    }
  }
  return hash;
}

}  // namespace lightrl::learner
