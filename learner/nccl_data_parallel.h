// Data-parallel training of the CUDA policy model across the GPUs of one host, over NCCL.
//
// One process (or thread) per GPU holds a full CudaModel replica and a CudaAdamW. Each rank
// runs Forward/Backward on its shard of the global batch with dlogprob scaled by the
// *global* target count, so the sum of the ranks' gradients is the gradient of the global
// batch; AllReduceGrads sums them in place (ncclAllReduce on the model's stream), and every
// rank then takes the same clipped AdamW step, which keeps the replicas bit-identical
// (ParamsDigest checks that). BroadcastParams sends one rank's weights to all (a new
// version from the learner to GPU rollout actors on the same fabric; the ZeroMQ chunked
// transfer remains the path across hosts).
//
// The MoE load-balancing loss is not linear in the batch: with router_aux_loss_coef > 0 the
// summed gradient is the sum of the per-shard aux gradients, not the global one.
//
// NVLink multicast (NVLS) must stay off on shared hosts: Create sets NCCL_NVLS_ENABLE=0
// unless it is already set.
//
// Errors: Create returns InvalidArgument for a rank outside [0, world) and Internal when
// NCCL fails to build the communicator; a failing collective afterwards aborts (like a
// failing CUDA call, device.h). Collectives block no host thread: they are enqueued on the
// model's stream and every rank must issue the same sequence of them.
// Thread-safety: one thread at a time drives a rank (each call selects the rank's device).
#ifndef LIGHTRL_LEARNER_NCCL_DATA_PARALLEL_H_
#define LIGHTRL_LEARNER_NCCL_DATA_PARALLEL_H_

#include <nccl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "model/cuda/model.h"

namespace lightrl::learner {

// The text form of a communicator id (NewNcclId; rank 0 makes it and hands
// it to the others) for passing between processes. ParseNcclId: InvalidArgument for text
// that is not one.
std::string NcclIdToHex(const ncclUniqueId& id);
StatusOr<ncclUniqueId> ParseNcclId(const std::string& hex);

class NcclDataParallel {
 public:
  // `model` (on the GPU this rank uses) must outlive the object. Blocks until all `world`
  // ranks have joined.
  static StatusOr<std::unique_ptr<NcclDataParallel>> Create(model::CudaModel* model,
                                                            const ncclUniqueId& id, int rank,
                                                            int world);
  ~NcclDataParallel();
  NcclDataParallel(const NcclDataParallel&) = delete;
  NcclDataParallel& operator=(const NcclDataParallel&) = delete;

  int rank() const { return rank_; }
  int world() const { return world_; }

  // device_grads ← Σ_ranks device_grads.
  void AllReduceGrads();
  // device_params ← root's device_params (then the bf16 copy follows).
  void BroadcastParams(int root);
  // FNV-1a over the bits of the device weights (waits for the stream): equal on every rank
  // exactly when the replicas are bit-identical.
  uint64_t ParamsDigest() const;

 private:
  NcclDataParallel(model::CudaModel* model, ncclComm_t comm, int rank, int world)
      : model_(model), comm_(comm), rank_(rank), world_(world) {}

  model::CudaModel* model_;
  ncclComm_t comm_;
  int rank_, world_;
};

}  // namespace lightrl::learner

#endif  // LIGHTRL_LEARNER_NCCL_DATA_PARALLEL_H_
