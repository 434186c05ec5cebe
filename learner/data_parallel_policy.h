// A policy trained data-parallel on several GPUs of one host: one CUDA replica per device,
// each driven by its own thread per call, with gradients summed over NCCL
// (nccl_data_parallel.h). It is a model::Policy, so the trainer and the learner node use it
// as they use one GPU:
//
//   Forward    splits the batch into one contiguous run of whole sequences per replica
//              (balanced by tokens), runs the replicas together and concatenates their
//              per-token outputs in batch order; aux_loss is the token-weighted mean.
//   Backward   gives each replica its slice of dlogprob/dentropy. Sequences of a packed
//              batch are independent, so the summed replica gradients are the gradient of
//              the whole batch (the MoE balancing loss aside: nccl_data_parallel.h).
//   ClipAndStep  all-reduces the gradients, then every replica clips by the same global
//              norm and takes the same AdamW step: the replicas stay bit-identical
//              (ReplicaDigests checks that).
//   weights    params() is replica 0's host copy; ParamsChanged() and InitializeRandom()
//              reach every replica; checkpoints save replica 0's optimizer and restore all.
//   decoding and Logits run on replica 0.
//
// Errors: CreateDataParallelPolicy returns InvalidArgument for fewer than two or repeated
// devices, FailedPrecondition without CUDA/NCCL or without the GPUs, and the replicas'
// errors; a batch error names the batch's own sequence. A failing collective aborts.
// Thread-safety: as model::Policy (one thread drives it; it runs its own per-call threads).
#ifndef LIGHTRL_LEARNER_DATA_PARALLEL_POLICY_H_
#define LIGHTRL_LEARNER_DATA_PARALLEL_POLICY_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "model/policy.h"

namespace lightrl::learner {

// `options.device` is ignored: one replica per entry of `devices`.
StatusOr<std::unique_ptr<model::Policy>> CreateDataParallelPolicy(
    const model::ModelConfig& config, const model::PolicyOptions& options,
    std::span<const int64_t> devices);

// The FNV-1a digests of every replica's device weights (equal exactly when the replicas are
// bit-identical); empty for a policy that is not data-parallel.
std::vector<uint64_t> ReplicaDigests(model::Policy& policy);

// The sequence ranges [first, last) of `batch` given to each of `parts` replicas: contiguous,
// every sequence in one range, token counts as even as whole sequences allow (empty ranges
// when there are fewer sequences than parts).
std::vector<std::pair<int, int>> SplitSequences(const model::PackedBatch& batch, int parts);

}  // namespace lightrl::learner

#endif  // LIGHTRL_LEARNER_DATA_PARALLEL_POLICY_H_
