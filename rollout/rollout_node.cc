#include "rollout/rollout_node.h"

#include "actors/sample_codec.h"
#include "core/logging.h"
#include "core/tokenizer.h"
#include "model/config.h"

namespace lightrl {
namespace {

model::SamplingParams FromProto(proto::SamplingParams::Reader p) {
  model::SamplingParams params;
  params.temperature = p.getTemperature();
  params.top_p = p.getTopP();
  params.top_k = static_cast<int>(p.getTopK());
  params.max_tokens = static_cast<int>(p.getMaxTokens());
  params.seed = p.getSeed();
  for (auto stop : p.getStopStrings()) params.stop_strings.emplace_back(stop.cStr());
  params.repetition_k = static_cast<int>(p.getRepetitionWindow());
  params.repetition_p = p.getRepetitionProbability();
  return params;
}

}  // namespace

StatusOr<std::unique_ptr<RolloutNode>> RolloutNode::Start(zmq::context_t& context,
                                                          const RolloutNodeConfig& config,
                                                          MetricsRegistry* metrics) {
  ASSIGN_OR_RETURN(model::ModelConfig model_config, model::LoadModelConfig(config.model_config));
  model::PolicyOptions policy_options = config.policy;
  policy_options.device = RolloutDevice(config);
  ASSIGN_OR_RETURN(std::unique_ptr<model::Policy> policy,
                   model::CreatePolicy(model_config, policy_options));
  LOG(INFO) << "rollout policy on " << model::BackendName(policy->backend())
            << (policy->backend() == model::Backend::kCuda
                    ? " device " + std::to_string(policy_options.device)
                    : std::string());
  std::unique_ptr<RolloutNode> node(new RolloutNode(config, metrics, std::move(policy)));
  model::GeneratorOptions options;
  options.max_batch = config.max_batch;
  options.eos_token_id = ByteTokenizer::kEos;
  ASSIGN_OR_RETURN(node->generator_, model::Generator::Create(node->policy_.get(), options));
  RolloutNode* self = node.get();
  WorkerNodeOptions node_options;
  node_options.identity.worker_id = config.worker_id;
  node_options.identity.role = proto::Role::ROLLOUT;
  node_options.identity.metrics_port = config.metrics_port;
  node_options.identity.max_in_flight = static_cast<uint32_t>(config.groups_in_flight);
  node_options.cluster = config.cluster;
  node_options.policy_version = [self] { return self->policy_version(); };
  node_options.can_take_work = [self] { return self->policy_version() != 0; };  // Has weights.
  ASSIGN_OR_RETURN(node->node_,
                   WorkerNode<GroupJob>::Start(
                       context, node_options, metrics,
                       [self, &context](WorkerNode<GroupJob>& worker, EventLoop& loop) {
                         return self->SetUp(context, worker, loop);
                       },
                       [self] { self->puller_.reset(); }));
  // The generation loop and the puller were made on the actor, in SetUp.
  node->generation_thread_ = std::thread([self] {
    ActivityLog activity(
        ActivityLogPath(self->config_.cluster.activity_dir, self->config_.worker_id),
        self->config_.worker_id, "generating");
    self->generation_->Run(activity);
  });
  return node;
}

RolloutNode::RolloutNode(const RolloutNodeConfig& config, MetricsRegistry* metrics,
                         std::unique_ptr<model::Policy> policy)
    : config_(config), metrics_(metrics), policy_(std::move(policy)) {}

RolloutNode::~RolloutNode() { Stop(); }

Status RolloutNode::SetUp(zmq::context_t& context, WorkerNode<GroupJob>& node, EventLoop& loop) {
  WeightPullerConfig puller_config;
  puller_config.fetcher.sender_id = config_.worker_id + "-weights";
  puller_config.fetcher.limits = config_.cluster.codec_limits();
  puller_config.nccl = config_.weight_transport == WeightTransport::kNccl;
  puller_config.nccl_timeout = config_.nccl_timeout;
  StatusOr<std::unique_ptr<WeightPuller>> puller = WeightPuller::Create(
      context, &loop, [&node](std::function<void()> fn) { node.RunOnActor(std::move(fn)); },
      policy_.get(), puller_config, metrics_,
      [this](uint64_t, const Status& outcome) {
        if (outcome.ok()) generation_->Wake();
      });
  if (!puller.ok()) return puller.status().WithContext("rollout.weight_transport");
  puller_ = std::move(*puller);
  generation_ = std::make_unique<GenerationLoop>(
      generator_.get(), puller_.get(), config_.weight_switch, &node.jobs(),
      [this](uint64_t request, uint64_t group_id, StatusOr<std::vector<Sample>> samples,
             std::chrono::milliseconds took) {
        Answer(request, group_id, std::move(samples), took);
      },
      [&node] { node.RunOnActor([&node] { node.GrantFreeSlots(); }); }, metrics_);
  node.Handle(BodyKind::WEIGHTS_ANNOUNCE, [this](const IncomingMessage& m) {
    puller_->OnAnnounce(m.envelope().getBody().getWeightsAnnounce());
  });
  node.Serve(BodyKind::ROLLOUT_REQUEST, Decode, [this] { generation_->Wake(); });
  return Status::Ok();
}

void RolloutNode::OnShutdown(std::function<void()> callback) {
  node_->OnShutdown(std::move(callback));
}

uint64_t RolloutNode::policy_version() const { return puller_ != nullptr ? puller_->version() : 0; }

StatusOr<GroupJob> RolloutNode::Decode(const IncomingMessage& message) {
  auto request = message.envelope().getBody().getRolloutRequest();
  GroupJob job;
  job.group_id = request.getGroupId();
  StatusOr<std::vector<TokenId>> prompt = ReadTokens(request.getPromptTokens());
  if (!prompt.ok()) return InvalidArgumentError("bad prompt: " + prompt.status().ToString());
  job.prompt = std::move(*prompt);
  job.samples = static_cast<int>(request.getSamplesPerPrompt());
  if (job.samples <= 0 || job.samples > 4096) {
    return InvalidArgumentError("samplesPerPrompt must be in [1, 4096]");
  }
  job.params = FromProto(request.getSampling());
  job.min_version = request.getMinPolicyVersion();
  return job;
}

void RolloutNode::Answer(uint64_t request, uint64_t group_id, StatusOr<std::vector<Sample>> samples,
                         std::chrono::milliseconds took) {
  if (!samples.ok()) {
    node_->ReplyError(request, proto::RetryClass::FAILED, samples.status().ToString());
    return;
  }
  size_t tokens = 0;
  for (const Sample& s : *samples) tokens += s.tokens.size();
  OutgoingMessage reply(tokens * 12 + 512);
  auto rollout = reply.envelope().getBody().initRollout();
  rollout.setGroupId(group_id);
  rollout.setGenerationMillis(static_cast<uint32_t>(took.count()));
  auto out = rollout.initSamples(static_cast<uint>(samples->size()));
  for (size_t i = 0; i < samples->size(); ++i)
    WriteSample((*samples)[i], out[static_cast<uint>(i)]);
  node_->Reply(request, std::move(reply));
}

void RolloutNode::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (generation_ != nullptr) generation_->Stop();
  if (node_ != nullptr) node_->CloseQueue();
  if (generation_thread_.joinable()) generation_thread_.join();
  if (node_ != nullptr) node_->Stop();  // The puller stops in its teardown.
}

}  // namespace lightrl
