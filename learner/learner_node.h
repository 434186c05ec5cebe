// The learner process: a messaging actor (coordinator link + weight server) and a training
// thread (the PolicyTrainer), joined by a bounded hand-off queue.
//
//   startup   resume from the newest complete checkpoint under checkpoint.dir, else start
//             from init (a checkpoint folder) or a random init, then run the SFT warm start
//             when configured and the run is fresh; publish the starting version.
//   per batch the actor decodes a TrainBatch and queues it (the learner grants one credit per
//             free queue slot, so the queue never overflows; an uncredited batch is refused
//             with Error(overloaded)); the training thread runs one RL step, appends the
//             step's metrics to the JSONL log and the gauges, checkpoints every N steps,
//             captures the new weights (weights/snapshots.h: a copy on the GPU for a GPU
//             policy) and goes on to the next batch, while the actor answers the batch with
//             Ack (only now: the batch has been applied) and grants a credit. A batch the
//             trainer rejects is answered Error(failed) naming why.
//   publish   a publishing thread turns the newest captured version into a host image with
//             its checksum, which the actor then serves and announces to the coordinator.
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

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actors/actor.h"
#include "actors/cluster_config.h"
#include "actors/handoff_queue.h"
#include "actors/worker_session.h"
#include "learner/trainer.h"
#include "tasks/task_config.h"
#include "weights/chunked_transfer.h"
#include "weights/image.h"
#include "weights/snapshots.h"

namespace lightrl {
class NcclWeightSource;

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
    uint64_t message_id;
    std::vector<TrainGroup> groups;
    std::string coordinator_state;
  };
  LearnerNode(const LearnerNodeConfig& config, MetricsRegistry* metrics,
              std::unique_ptr<PolicyTrainer> trainer);
  Status SetUpActor(zmq::context_t& context, EventLoop& loop);
  void OnTrainBatch(const IncomingMessage& message);
  void TrainLoop();
  // The publishing thread: images of the newest captured versions, until snapshots_ stop.
  void PublishLoop();
  // Runs on the actor: serves `image` (checksum computed) and announces it.
  void PublishAndAnnounce(WeightsImage image);
  void Announce();
  Status Checkpoint();
  void RecordMetrics(const StepMetrics& m, const char* kind);

  LearnerNodeConfig config_;
  MetricsRegistry* metrics_;
  std::unique_ptr<PolicyTrainer> trainer_;  // Owned by the training thread once it runs.
  HandoffQueue<Job> queue_;
  std::unique_ptr<Actor> actor_;
  std::unique_ptr<WorkerSession> session_;  // Actor thread only.
  std::unique_ptr<WeightServer> weights_;   // Actor thread only.
  std::string weights_endpoint_;
  std::thread trainer_thread_;
  std::unique_ptr<WeightSnapshots> snapshots_;
  std::unique_ptr<ImageBuffers> image_buffers_;
  std::vector<TensorLayout> image_layout_;
  std::thread publish_thread_;
  std::atomic<uint64_t> version_{0};
  std::atomic<uint64_t> durable_version_{0};  // Version of the newest complete checkpoint.
  std::string coordinator_state_;             // Training thread only: latest snapshot received.
  int64_t last_checkpoint_step_ = -1;
  std::function<void()> on_shutdown_;
  // A GPU learner serves weight pulls over NCCL (rollout.weight_transport: nccl); empty in
  // builds without NCCL. Declared last: destroyed first, so its thread stops before what
  // its callbacks reach.
  std::shared_ptr<NcclWeightSource> nccl_weights_;
  bool stopped_ = false;
};

}  // namespace lightrl

#endif  // LIGHTRL_LEARNER_LEARNER_NODE_H_
