// The learner process: the worker skeleton (actors/worker_node.h: coordinator link, credits,
// hand-off queue), a training thread (the PolicyTrainer) and a weight publisher
// (weights/publisher.h: the weight server on the node's actor and a publishing thread).
//
//   startup   resume from the newest complete checkpoint under checkpoint.dir, else start
//             from init (a checkpoint folder) or a random init, then run the SFT warm start
//             when configured and the run is fresh; publish the starting version.
//   per batch the actor decodes a TrainBatch and queues it (the learner grants one credit per
//             free slot of queue_capacity, held from arrival to answer, so the queue never
//             overflows; an uncredited batch is refused with Error(overloaded), a malformed
//             one with Error(failed)); the training thread runs one RL step, appends the
//             step's metrics to the JSONL log and the gauges, checkpoints every N steps,
//             captures the new weights (a copy on the GPU for a GPU policy) and goes on to
//             the next batch, while the actor answers the batch with Ack (only now: the batch
//             has been applied) and grants its slot again. A batch the trainer rejects is
//             answered Error(failed) naming why.
//   publish   the publisher turns the newest captured version into a served image, which
//             the actor announces to the coordinator (and again after each registration).
//             Versions captured while the previous one was still being turned into an image
//             are skipped (counted in lightrl_learner_versions_skipped_total); the newest
//             is always published.
//   NCCL      a learner on a GPU also serves each version GPU to GPU to rollout actors on
//             the same host that ask for it (weights/nccl_weights.h; the chunked pull stays
//             the fallback).
//   shutdown  Stop() (or a Shutdown from the coordinator, reported through OnShutdown) lets
//             the training thread finish its batch, writes a final checkpoint and stops.
//
// Thread-safety: Start/Stop from one thread; everything else runs on the node's own threads.
#ifndef LIGHTRL_LEARNER_LEARNER_NODE_H_
#define LIGHTRL_LEARNER_LEARNER_NODE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actors/worker_node.h"
#include "learner/trainer.h"
#include "tasks/task_config.h"
#include "weights/publisher.h"

namespace lightrl {

struct SftWarmStart {
  int steps = 0;  // 0: no warm start.
  int examples_per_step = 32;
  double lr = 0;  // 0: the RL learning rate; RL continues with its own rate afterwards.
  TaskConfig task;
};

struct LearnerNodeConfig {
  std::string worker_id = "learner";
  ClusterConfig cluster;
  uint16_t metrics_port = 0;  // Reported at registration, for `lightrl status`.
  TrainerConfig trainer;
  std::string model_config;  // Path of the architecture's config.json.
  // Backend and precision (model: section; learner.device overrides model.device). With
  // two or more `devices` (learner.devices, cuda backend) the learner trains data-parallel,
  // one replica per GPU (data_parallel_policy.h).
  model::PolicyOptions policy;
  std::vector<int64_t> devices;
  std::string init_checkpoint;  // Folder with model.safetensors to start from ("" = random).
  uint64_t init_seed = 1;
  std::string checkpoint_dir;  // "" disables checkpoints.
  int checkpoint_every = 10;   // Steps between checkpoints.
  int keep_checkpoints = 3;
  std::string metrics_jsonl;  // "" disables the log.
  std::string weights_bind = "tcp://127.0.0.1:0";
  int queue_capacity = 2;  // Train batches held at once (credits granted).
  SftWarmStart sft;
};

// Reads the `learner:` section (trainer keys, plus checkpoint, weights, warm-start and device
// keys) and `model:`. Errors name file, key and reason.
Status ParseLearnerNodeConfig(const ConfigNode& learner, const ConfigNode& model,
                              LearnerNodeConfig* out);

class LearnerNode {
 public:
  // Loads or resumes the model, runs the warm start, binds the weight server and connects to
  // the coordinator. Blocks for the warm start. `metrics` must outlive the node.
  static StatusOr<std::unique_ptr<LearnerNode>> Start(zmq::context_t& context,
                                                      const LearnerNodeConfig& config,
                                                      MetricsRegistry* metrics);
  ~LearnerNode();

  // Called (on the node's actor thread) when the coordinator sends Shutdown.
  void OnShutdown(std::function<void()> callback);
  // Finishes the batch in progress, writes a final checkpoint, stops both threads. Idempotent.
  Status Stop();

  uint64_t version() const;
  const std::string& weights_endpoint() const { return weights_endpoint_; }

 private:
  struct Job {
    std::vector<TrainGroup> groups;
    std::string coordinator_state;
  };
  LearnerNode(const LearnerNodeConfig& config, MetricsRegistry* metrics,
              std::unique_ptr<PolicyTrainer> trainer);
  // Actor thread: the publisher, the served request kind and the announces.
  Status SetUp(zmq::context_t& context, WorkerNode<Job>& node, EventLoop& loop);
  // The batch as a job; InvalidArgument naming a malformed group.
  static StatusOr<Job> Decode(const IncomingMessage& message);
  void TrainLoop();
  Status Checkpoint();
  void RecordMetrics(const StepMetrics& m, const char* kind);

  LearnerNodeConfig config_;
  MetricsRegistry* metrics_;
  std::unique_ptr<PolicyTrainer> trainer_;  // Owned by the training thread once it runs.
  std::unique_ptr<WorkerNode<Job>> node_;
  // Created and destroyed on the actor; captures from the training thread.
  std::unique_ptr<WeightPublisher> publisher_;
  std::string weights_endpoint_;
  std::thread trainer_thread_;
  std::atomic<uint64_t> version_{0};
  std::atomic<uint64_t> durable_version_{0};  // Version of the newest complete checkpoint.
  std::string coordinator_state_;             // Training thread only: latest snapshot received.
  int64_t last_checkpoint_step_ = -1;
  bool stopped_ = false;
};

}  // namespace lightrl

#endif  // LIGHTRL_LEARNER_LEARNER_NODE_H_
