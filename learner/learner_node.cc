#include "learner/learner_node.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "actors/codec.h"
#include "actors/sample_codec.h"
#include "core/activity_log.h"
#include "core/logging.h"
#include "learner/checkpointer.h"
#include "learner/local_rl.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/file_util.h"
#if LIGHTRL_WITH_NCCL
#include "learner/data_parallel_policy.h"
#endif

namespace lightrl {
namespace {

nlohmann::json MetricsJson(const StepMetrics& m, const char* kind) {
  return {{"kind", kind},
          {"step", m.step},
          {"version", m.version},
          {"loss", m.loss},
          {"reward_mean", m.reward_mean},
          {"reward_std", m.reward_std},
          {"advantage_mean_abs", m.advantage_mean_abs},
          {"advantage_max_abs", m.advantage_max_abs},
          {"groups", m.groups},
          {"groups_zero_variance", m.groups_zero_variance},
          {"sequences", m.sequences},
          {"tokens", m.tokens},
          {"entropy_mean", m.entropy_mean},
          {"grad_norm", m.grad_norm},
          {"grad_norm_max", m.grad_norm_max},
          {"clip_fraction", m.clip_fraction},
          {"masked_fraction", m.masked_fraction},
          {"is_weight_mean", m.is_weight_mean},
          {"tis_weight_mean", m.tis_weight_mean},
          {"aux_loss", m.aux_loss},
          {"precision_tokens", m.precision.tokens},
          {"precision_pearson", m.precision.pearson},
          {"precision_mean_abs_delta", m.precision.mean_abs_delta},
          {"precision_max_abs_delta", m.precision.max_abs_delta},
          {"staleness_mean", m.staleness_mean},
          {"staleness_max", m.staleness_max},
          {"step_seconds", m.step_seconds},
          {"compute_seconds", m.compute_seconds()},
          {"forward_seconds", m.forward_seconds},
          {"backward_seconds", m.backward_seconds},
          {"optimizer_seconds", m.optimizer_seconds},
          {"tokens_per_second", m.step_seconds > 0 ? m.tokens / m.step_seconds : 0.0},
          {"lr", m.lr}};
}

// The batch's groups; InvalidArgument naming the group of a malformed sample.
StatusOr<std::vector<TrainGroup>> DecodeGroups(proto::TrainBatch::Reader batch) {
  std::vector<TrainGroup> groups;
  for (auto g : batch.getGroups()) {
    TrainGroup group;
    group.group_id = g.getGroupId();
    auto in_group = [&](const Status& status) {
      return InvalidArgumentError("group " + std::to_string(group.group_id) + ": " +
                                  std::string(status.message()));
    };
    StatusOr<std::vector<TokenId>> prompt = ReadTokens(g.getPromptTokens());
    if (!prompt.ok()) return in_group(prompt.status());
    group.prompt = std::move(*prompt);
    for (auto s : g.getSamples()) {
      StatusOr<Sample> sample = ReadSample(s.getSample());
      if (!sample.ok()) return in_group(sample.status());
      group.samples.push_back({std::move(*sample), s.getReward()});
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

// The policy on the CPU, one GPU, or data-parallel over several (learner.devices).
StatusOr<std::unique_ptr<model::Policy>> CreateLearnerPolicy(const model::ModelConfig& model_config,
                                                             const LearnerNodeConfig& config) {
  if (config.devices.size() > 1) {
#if LIGHTRL_WITH_NCCL
    LOG(INFO) << "learner policy: data-parallel over " << config.devices.size() << " GPUs";
    return learner::CreateDataParallelPolicy(model_config, config.policy, config.devices);
#else
    return FailedPreconditionError(
        "learner.devices: data-parallel training needs a build with CUDA and NCCL");
#endif
  }
  model::PolicyOptions options = config.policy;
  if (config.devices.size() == 1) options.device = static_cast<int>(config.devices[0]);
  LOG(INFO) << "learner policy on " << model::BackendName(options.backend)
            << (options.backend == model::Backend::kCuda
                    ? " device " + std::to_string(options.device)
                    : std::string());
  return model::CreatePolicy(model_config, options);
}

// Actor thread: announces the newest version served, if registered.
void Announce(WorkerNodeCore& node, const WeightPublisher& publisher) {
  if (!node.registered()) return;
  OutgoingMessage message;
  CHECK_OK(publisher.FillAnnounce(message.envelope().getBody().initWeightsAnnounce()));
  node.Send(std::move(message)).IgnoreError();  // The next registration announces again.
}

}  // namespace

Status ParseLearnerNodeConfig(const ConfigNode& learner, const ConfigNode& model,
                              LearnerNodeConfig* out) {
  std::vector<std::string_view> keys = TrainerConfigKeys();
  for (std::string_view k :
       {"checkpoint_dir", "checkpoint_every", "keep_checkpoints", "metrics_jsonl", "weights_bind",
        "queue_capacity", "sft", "device", "devices"}) {
    keys.push_back(k);
  }
  RETURN_IF_ERROR(learner.ExpectOnlyKeys(keys));
  RETURN_IF_ERROR(ParseTrainerConfig(learner, &out->trainer));
  RETURN_IF_ERROR(learner.Optional("checkpoint_dir", &out->checkpoint_dir));
  RETURN_IF_ERROR(learner.Optional("checkpoint_every", &out->checkpoint_every, 1, 1 << 30));
  RETURN_IF_ERROR(learner.Optional("keep_checkpoints", &out->keep_checkpoints, 1, 1000));
  RETURN_IF_ERROR(learner.Optional("metrics_jsonl", &out->metrics_jsonl));
  RETURN_IF_ERROR(learner.Optional("weights_bind", &out->weights_bind));
  RETURN_IF_ERROR(learner.Optional("queue_capacity", &out->queue_capacity, 1, 64));
  const std::string_view model_keys[] = {"config", "init", "seed"};
  RETURN_IF_ERROR(model::ParsePolicyOptions(model, &out->policy, model_keys));
  RETURN_IF_ERROR(learner.Optional("device", &out->policy.device, 0, 1024));
  RETURN_IF_ERROR(learner.Optional("devices", &out->devices));
  if (!out->devices.empty()) {
    if (out->policy.backend != model::Backend::kCuda) {
      return learner.Error("devices", "data-parallel training needs model.backend: cuda");
    }
    if (learner.Has("device")) return learner.Error("devices", "give device or devices, not both");
    for (int64_t device : out->devices) {
      if (device < 0) return learner.Error("devices", "device indices must be >= 0");
    }
  }
  RETURN_IF_ERROR(model.Required("config", &out->model_config));
  RETURN_IF_ERROR(model.Optional("init", &out->init_checkpoint));
  int64_t seed = static_cast<int64_t>(out->init_seed);
  RETURN_IF_ERROR(model.Optional("seed", &seed, 0, INT64_MAX));
  out->init_seed = static_cast<uint64_t>(seed);
  return Status::Ok();
}

StatusOr<std::unique_ptr<LearnerNode>> LearnerNode::Start(zmq::context_t& context,
                                                          const LearnerNodeConfig& config,
                                                          MetricsRegistry* metrics) {
  ASSIGN_OR_RETURN(model::ModelConfig model_config, model::LoadModelConfig(config.model_config));
  ASSIGN_OR_RETURN(std::unique_ptr<model::Policy> policy,
                   CreateLearnerPolicy(model_config, config));
  bool resumed = false;
  std::optional<std::string> latest;
  if (!config.checkpoint_dir.empty()) latest = LatestCheckpoint(config.checkpoint_dir);
  if (!latest) {
    if (!config.init_checkpoint.empty()) {
      RETURN_IF_ERROR(model::LoadWeights(
          (std::filesystem::path(config.init_checkpoint) / model::kWeightsFile).string(),
          model_config, &policy->params()));
      policy->ParamsChanged();
    } else {
      policy->InitializeRandom(config.init_seed);
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<PolicyTrainer> trainer,
                   PolicyTrainer::Create(std::move(policy), config.trainer));
  if (latest) {
    RETURN_IF_ERROR(RestoreCheckpoint(*latest, trainer.get()));
    resumed = true;
    LOG(INFO) << "resumed from " << *latest << " at step " << trainer->step() << ", version "
              << trainer->version();
  }
  std::unique_ptr<LearnerNode> node(new LearnerNode(config, metrics, std::move(trainer)));
  if (resumed) {
    node->last_checkpoint_step_ = node->trainer_->step();
    node->durable_version_ = node->trainer_->version();
    auto state = model::ReadFile((std::filesystem::path(*latest) / kCoordinatorStateFile).string());
    if (state.ok()) node->coordinator_state_ = *state;
  }
  if (!resumed && config.sft.steps > 0) {
    ASSIGN_OR_RETURN(std::unique_ptr<Task> task, MakeTask(config.sft.task));
    LOG(INFO) << "SFT warm start: " << config.sft.steps << " steps on task " << task->name();
    if (config.sft.lr > 0) node->trainer_->set_lr(config.sft.lr);
    for (int s = 0; s < config.sft.steps; ++s) {
      ASSIGN_OR_RETURN(std::vector<SftExample> examples,
                       SftExamples(*task, static_cast<int64_t>(s) * config.sft.examples_per_step,
                                   config.sft.examples_per_step));
      ASSIGN_OR_RETURN(StepMetrics m, node->trainer_->TrainSft(examples));
      node->RecordMetrics(m, "sft");
    }
    node->trainer_->set_lr(config.trainer.optimizer.lr);
    if (!config.checkpoint_dir.empty()) RETURN_IF_ERROR(node->Checkpoint());
  }
  node->version_ = node->trainer_->version();
  LearnerNode* self = node.get();
  WorkerNodeOptions options;
  options.identity.worker_id = config.worker_id;
  options.identity.role = proto::Role::LEARNER;
  options.identity.metrics_port = config.metrics_port;
  options.identity.max_in_flight = static_cast<uint32_t>(config.queue_capacity);
  options.cluster = config.cluster;
  options.policy_version = [self] { return self->version_.load(); };
  ASSIGN_OR_RETURN(node->node_, WorkerNode<Job>::Start(
                                    context, options, metrics,
                                    [self, &context](WorkerNode<Job>& worker, EventLoop& loop) {
                                      return self->SetUp(context, worker, loop);
                                    },
                                    [self] { self->publisher_.reset(); }));
  node->trainer_thread_ = std::thread([self] { self->TrainLoop(); });
  return node;
}

LearnerNode::LearnerNode(const LearnerNodeConfig& config, MetricsRegistry* metrics,
                         std::unique_ptr<PolicyTrainer> trainer)
    : config_(config), metrics_(metrics), trainer_(std::move(trainer)) {}

LearnerNode::~LearnerNode() { Stop().IgnoreError(); }

Status LearnerNode::SetUp(zmq::context_t& context, WorkerNode<Job>& node, EventLoop& loop) {
  WeightPublisherConfig publisher_config;
  publisher_config.server.bind_endpoint = config_.weights_bind;
  publisher_config.server.sender_id = config_.worker_id + "-weights";
  ASSIGN_OR_RETURN(
      publisher_,
      WeightPublisher::Create(
          context, &loop, [&node](std::function<void()> fn) { node.RunOnActor(std::move(fn)); },
          &trainer_->policy(), trainer_->version(), publisher_config, metrics_,
          [this, &node](uint64_t) { Announce(node, *publisher_); }));
  weights_endpoint_ = publisher_->endpoint();
  node.OnRegistered([this, &node] { Announce(node, *publisher_); });
  node.Serve(BodyKind::TRAIN_BATCH, Decode);
  LOG(INFO) << "learner serving weights version " << publisher_->latest_version() << " on "
            << weights_endpoint_;
  return Status::Ok();
}

void LearnerNode::OnShutdown(std::function<void()> callback) {
  node_->OnShutdown(std::move(callback));
}

StatusOr<LearnerNode::Job> LearnerNode::Decode(const IncomingMessage& message) {
  auto batch = message.envelope().getBody().getTrainBatch();
  StatusOr<std::vector<TrainGroup>> groups = DecodeGroups(batch);
  if (!groups.ok()) {
    return InvalidArgumentError("malformed train batch: " + groups.status().ToString());
  }
  return Job{std::move(*groups), batch.getCoordinatorState().cStr()};
}

void LearnerNode::TrainLoop() {
  ActivityLog activity(ActivityLogPath(config_.cluster.activity_dir, config_.worker_id),
                       config_.worker_id, "training");
  while (std::optional<Work<Job>> work = node_->jobs().Pop()) {
    Job& job = work->job;
    if (!job.coordinator_state.empty()) coordinator_state_ = std::move(job.coordinator_state);
    auto start = WallClock::now();
    StatusOr<StepMetrics> m = trainer_->TrainRl(job.groups);
    activity.Record(start, WallClock::now());
    if (!m.ok()) {
      LOG(ERROR) << "train batch rejected: " << m.status();
      node_->ReplyError(work->request, proto::RetryClass::FAILED, m.status().ToString());
      continue;
    }
    RecordMetrics(*m, "rl");
    version_ = trainer_->version();
    if (!config_.checkpoint_dir.empty() &&
        trainer_->step() - last_checkpoint_step_ >= config_.checkpoint_every) {
      Status saved = Checkpoint();
      if (!saved.ok()) LOG(ERROR) << "checkpoint failed: " << saved;
    }
    publisher_->Capture(trainer_->version());
    OutgoingMessage ack;
    auto body = ack.envelope().getBody().initAck();
    body.setDetail("applied; version " + std::to_string(version_.load()));
    body.setDurableVersion(durable_version_.load());
    // An ack that cannot be sent (coordinator away) surfaces there as a request timeout.
    node_->Reply(work->request, std::move(ack));
  }
}

Status LearnerNode::Checkpoint() {
  ASSIGN_OR_RETURN(std::string dir, SaveCheckpoint(config_.checkpoint_dir, *trainer_,
                                                   coordinator_state_, config_.keep_checkpoints));
  last_checkpoint_step_ = trainer_->step();
  durable_version_ = trainer_->version();
  LOG(INFO) << "checkpoint written: " << dir;
  return Status::Ok();
}

void LearnerNode::RecordMetrics(const StepMetrics& m, const char* kind) {
  auto gauge = [this](const char* name, const char* help, double value) {
    metrics_->GetGauge(name, help)->Set(value);
  };
  gauge("lightrl_learner_step", "Optimizer steps (batches) applied.",
        static_cast<double>(m.step + 1));
  gauge("lightrl_learner_policy_version", "Policy version after the last step.",
        static_cast<double>(m.version));
  gauge("lightrl_learner_loss", "Surrogate loss of the last step.", m.loss);
  gauge("lightrl_learner_reward_mean", "Mean reward of the last batch.", m.reward_mean);
  gauge("lightrl_learner_grad_norm", "Mean gradient norm of the last step, before clipping.",
        m.grad_norm);
  gauge("lightrl_learner_entropy", "Mean token entropy of the last step.", m.entropy_mean);
  gauge("lightrl_learner_precision_pearson",
        "Correlation of learner and rollout token probabilities (MiniMax-M1 signal).",
        m.precision.pearson);
  gauge("lightrl_learner_precision_max_abs_delta",
        "Largest |p_learner - p_rollout| over the last step's tokens.", m.precision.max_abs_delta);
  gauge("lightrl_learner_clip_fraction", "Share of tokens whose IS ratio was clipped.",
        m.clip_fraction);
  gauge("lightrl_learner_staleness_mean", "Mean versions between generation and training.",
        m.staleness_mean);
  gauge("lightrl_learner_step_seconds", "Wall time of the last step.", m.step_seconds);
  gauge("lightrl_learner_tokens_per_second", "Trained tokens per second in the last step.",
        m.step_seconds > 0 ? m.tokens / m.step_seconds : 0.0);
  metrics_
      ->GetCounter("lightrl_learner_zero_variance_groups_total",
                   "Groups excluded because all their rewards were equal.")
      ->Increment(m.groups_zero_variance);
  if (config_.metrics_jsonl.empty()) return;
  std::ofstream out(config_.metrics_jsonl, std::ios::app);
  out << MetricsJson(m, kind).dump() << "\n";
  if (!out) LOG(ERROR) << config_.metrics_jsonl << ": cannot append metrics";
}

Status LearnerNode::Stop() {
  if (stopped_) return Status::Ok();
  stopped_ = true;
  if (node_ != nullptr) node_->CloseQueue();
  if (trainer_thread_.joinable()) trainer_thread_.join();
  Status saved;
  if (!config_.checkpoint_dir.empty() && trainer_->step() > last_checkpoint_step_) {
    saved = Checkpoint();
  }
  if (node_ != nullptr) node_->Stop();  // The publisher stops in its teardown.
  return saved;
}

uint64_t LearnerNode::version() const { return version_.load(); }

}  // namespace lightrl
