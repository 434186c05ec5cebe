#include "rollout/rollout_node.h"

#include <chrono>
#include <map>
#include <optional>
#include <variant>

#include "actors/codec.h"
#include "actors/sample_codec.h"
#include "core/activity_log.h"
#include "core/logging.h"
#include "core/tokenizer.h"
#include "model/config.h"
#if LIGHTRL_WITH_NCCL
#include "weights/nccl_weights.h"
#endif

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

struct RolloutNode::GroupJob {
  uint64_t message_id = 0;
  uint64_t group_id = 0;
  std::vector<TokenId> prompt;
  int samples = 0;
  model::SamplingParams params;
  uint64_t min_version = 0;
  std::vector<Sample> out;
  int finished = 0;
  std::chrono::steady_clock::time_point started;
};

// Weights pulled by the actor, waiting for the generation thread to switch to them: the
// image's bytes, or (on_device) the version in the NCCL staging buffer.
struct RolloutNode::PendingWeights {
  WeightsImage image;
  bool on_device = false;
};

// An NCCL pull in progress: its announce (kept for the chunked fallback) and the outcomes
// of its two halves, the receive and the learner's answer.
struct RolloutNode::NcclPull {
  std::unique_ptr<capnp::MallocMessageBuilder> announce;
  std::optional<Status> received, acknowledged;

  proto::WeightsAnnounce::Reader reader() {
    return announce->getRoot<proto::WeightsAnnounce>().asReader();
  }
};

namespace {

std::unique_ptr<capnp::MallocMessageBuilder> CopyAnnounce(proto::WeightsAnnounce::Reader announce) {
  auto copy = std::make_unique<capnp::MallocMessageBuilder>();
  copy->setRoot(announce);
  return copy;
}

uint64_t VersionOf(capnp::MallocMessageBuilder& announce) {
  return announce.getRoot<proto::WeightsAnnounce>().getVersion();
}

// The announce's tensors as a parameter-arena byte layout.
std::vector<model::ByteLayoutEntry> AnnouncedLayout(proto::WeightsAnnounce::Reader announce) {
  std::vector<model::ByteLayoutEntry> layout;
  for (auto t : announce.getTensors()) {
    std::vector<int64_t> shape;
    for (uint64_t d : t.getShape()) shape.push_back(static_cast<int64_t>(d));
    layout.push_back({t.getName().cStr(), "F32", std::move(shape), t.getOffset(), t.getByteSize()});
  }
  return layout;
}

}  // namespace

Status ParseRolloutNodeConfig(const ConfigNode& rollout, const ConfigNode& model,
                              RolloutNodeConfig* out) {
  RETURN_IF_ERROR(rollout.ExpectOnlyKeys(
      {"max_batch", "groups_in_flight", "weight_switch", "devices", "weight_transport"}));
  RETURN_IF_ERROR(rollout.Optional("max_batch", &out->max_batch, 1, 4096));
  RETURN_IF_ERROR(rollout.Optional("groups_in_flight", &out->groups_in_flight, 1, 4096));
  std::string mode = "mid_generation";
  RETURN_IF_ERROR(
      rollout.OptionalChoice("weight_switch", &mode, {"mid_generation", "request_boundary"}));
  out->weight_switch =
      mode == "mid_generation" ? WeightSwitch::kMidGeneration : WeightSwitch::kRequestBoundary;
  RETURN_IF_ERROR(rollout.Optional("devices", &out->devices));
  std::string transport = "zmq";
  RETURN_IF_ERROR(rollout.OptionalChoice("weight_transport", &transport, {"zmq", "nccl"}));
  out->weight_transport = transport == "nccl" ? WeightTransport::kNccl : WeightTransport::kZmq;
  for (int64_t device : out->devices) {
    if (device < 0) return rollout.Error("devices", "device indices must be >= 0");
  }
  const std::string_view model_keys[] = {"config", "init", "seed"};
  RETURN_IF_ERROR(model::ParsePolicyOptions(model, &out->policy, model_keys));
  return model.Required("config", &out->model_config);
}

namespace {

// The GPU of this worker: devices[i % size] for a worker id ending in "-<i>".
int WorkerDevice(const RolloutNodeConfig& config) {
  if (config.devices.empty()) return config.policy.device;
  const size_t dash = config.worker_id.rfind('-');
  int64_t index = 0;
  if (dash != std::string::npos) {
    const std::string suffix = config.worker_id.substr(dash + 1);
    if (!suffix.empty() && suffix.find_first_not_of("0123456789") == std::string::npos) {
      index = std::stoll(suffix);
    }
  }
  return static_cast<int>(config.devices[index % config.devices.size()]);
}

}  // namespace

StatusOr<std::unique_ptr<RolloutNode>> RolloutNode::Start(zmq::context_t& context,
                                                          const RolloutNodeConfig& config,
                                                          MetricsRegistry* metrics) {
  ASSIGN_OR_RETURN(model::ModelConfig model_config, model::LoadModelConfig(config.model_config));
  model::PolicyOptions policy_options = config.policy;
  policy_options.device = WorkerDevice(config);
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
  node->byte_layout_ = node->policy_->params().ByteLayout();
  if (config.weight_transport == WeightTransport::kNccl) {
#if LIGHTRL_WITH_NCCL
    ASSIGN_OR_RETURN(node->nccl_sink_, NcclWeightSink::Create(node->policy_.get()));
#else
    return FailedPreconditionError(
        "rollout.weight_transport: nccl needs a build with CUDA and NCCL");
#endif
  }
  RolloutNode* self = node.get();
  ASSIGN_OR_RETURN(node->actor_, Actor::Start(
                                     config.worker_id,
                                     [self, &context](EventLoop& loop) {
                                       return self->SetUpActor(context, loop);
                                     },
                                     [self] {
                                       self->fetcher_.reset();
                                       self->session_.reset();
                                     }));
  node->generation_thread_ = std::thread([self] { self->GenerationLoop(); });
  return node;
}

RolloutNode::RolloutNode(const RolloutNodeConfig& config, MetricsRegistry* metrics,
                         std::unique_ptr<model::Policy> policy)
    : config_(config),
      metrics_(metrics),
      policy_(std::move(policy)),
      jobs_(static_cast<size_t>(config.groups_in_flight)) {}

RolloutNode::~RolloutNode() { Stop(); }

Status RolloutNode::SetUpActor(zmq::context_t& context, EventLoop& loop) {
  WeightFetcherConfig fetcher_config;
  fetcher_config.sender_id = config_.worker_id + "-weights";
  fetcher_config.limits = config_.cluster.codec_limits();
  fetcher_ = std::make_unique<WeightFetcher>(context, &loop, fetcher_config, metrics_);
  WorkerIdentity identity;
  identity.worker_id = config_.worker_id;
  identity.role = proto::Role::ROLLOUT;
  identity.metrics_port = config_.metrics_port;
  identity.max_in_flight = static_cast<uint32_t>(config_.groups_in_flight);
  ASSIGN_OR_RETURN(session_,
                   WorkerSession::Create(context, &loop, config_.cluster, identity, metrics_));
  session_->SetLoadProvider([this] {
    WorkerLoad load;
    load.policy_version = version_.load();
    load.in_flight = static_cast<uint32_t>(held_groups_.load());
    load.queue_depth = static_cast<uint32_t>(jobs_.size());
    return load;
  });
  session_->OnRegistered([this](proto::Registered::Reader) {
    credits_outstanding_ = 0;  // A (re)registered coordinator knows no earlier grants.
    GrantFreeSlots();
  });
  session_->OnShutdown([this](bool) {
    if (on_shutdown_) on_shutdown_();
  });
  session_->messenger().Handle(BodyKind::ROLLOUT_REQUEST,
                               [this](const IncomingMessage& m) { OnRolloutRequest(m); });
  session_->messenger().Handle(BodyKind::WEIGHTS_ANNOUNCE, [this](const IncomingMessage& m) {
    OnWeightsAnnounce(m.envelope().getBody().getWeightsAnnounce());
  });
  return Status::Ok();
}

void RolloutNode::OnShutdown(std::function<void()> callback) {
  CHECK_OK(actor_->Call([&] { on_shutdown_ = std::move(callback); }));
}

void RolloutNode::GrantFreeSlots() {
  if (version_.load() == 0 || !session_->registered()) return;  // No weights: take no work.
  int free =
      config_.groups_in_flight - held_groups_.load() - static_cast<int>(credits_outstanding_);
  if (free <= 0) return;
  credits_outstanding_ += static_cast<uint32_t>(free);
  session_->GrantCredits(static_cast<uint32_t>(free));
}

void RolloutNode::OnRolloutRequest(const IncomingMessage& message) {
  auto request = message.envelope().getBody().getRolloutRequest();
  if (credits_outstanding_ > 0) --credits_outstanding_;
  auto job = std::make_unique<GroupJob>();
  job->message_id = message.envelope().getMessageId();
  job->group_id = request.getGroupId();
  StatusOr<std::vector<TokenId>> prompt = ReadTokens(request.getPromptTokens());
  if (!prompt.ok()) {
    session_->messenger().ReplyError(message, proto::RetryClass::FAILED,
                                     "bad prompt: " + prompt.status().ToString());
    GrantFreeSlots();
    return;
  }
  job->prompt = std::move(*prompt);
  job->samples = static_cast<int>(request.getSamplesPerPrompt());
  job->params = FromProto(request.getSampling());
  job->min_version = request.getMinPolicyVersion();
  if (job->samples <= 0 || job->samples > 4096) {
    session_->messenger().ReplyError(message, proto::RetryClass::FAILED,
                                     "samplesPerPrompt must be in [1, 4096]");
    GrantFreeSlots();
    return;
  }
  job->out.resize(static_cast<size_t>(job->samples));
  Status queued = jobs_.TryPush(std::move(job));
  if (!queued.ok()) {
    session_->messenger().ReplyError(message, RetryClassFor(queued),
                                     "rollout actor cannot take the group: " + queued.ToString());
    return;
  }
  held_groups_.fetch_add(1);
  WakeGenerationThread();
}

void RolloutNode::OnWeightsAnnounce(proto::WeightsAnnounce::Reader announce) {
  uint64_t version = announce.getVersion();
  announced_version_ = std::max(announced_version_.load(), version);
  metrics_->GetGauge("lightrl_rollout_version_lag", "Announced version minus the version in use.")
      ->Set(static_cast<double>(announced_version_.load() - version_.load()));
  if (version <= version_.load()) return;
  if (nccl_sink_ == nullptr) {
    FetchInChunks(announce);
  } else if (!staging_busy_) {
    StartNcclPull(CopyAnnounce(announce));
  } else if (nccl_next_ == nullptr || VersionOf(*nccl_next_) < version) {
    nccl_next_ = CopyAnnounce(announce);  // Pulled once the staging buffer is free.
  }
}

void RolloutNode::FetchInChunks(proto::WeightsAnnounce::Reader announce) {
  fetcher_->Fetch(announce, [this](StatusOr<WeightsImage> image) {
    if (!image.ok()) {
      if (image.status().code() != StatusCode::kCancelled) {
        LOG(ERROR) << "weights pull failed: " << image.status();
      }
      return;
    }
    LOG(INFO) << "pulled weights version " << image->version;
    HandOver(std::make_unique<PendingWeights>(PendingWeights{std::move(*image)}));
  });
}

void RolloutNode::HandOver(std::unique_ptr<PendingWeights> weights) {
  {
    std::lock_guard<std::mutex> lock(weights_mu_);
    if (pending_weights_ == nullptr || pending_weights_->image.version < weights->image.version) {
      pending_weights_ = std::move(weights);
    }
  }
  weights_cv_.notify_all();
}

// Runs only with an NCCL sink, which builds without NCCL never make.
void RolloutNode::StartNcclPull(std::unique_ptr<capnp::MallocMessageBuilder> announce) {
#if LIGHTRL_WITH_NCCL
  nccl_pull_ = std::make_unique<NcclPull>();
  nccl_pull_->announce = std::move(announce);
  proto::WeightsAnnounce::Reader reader = nccl_pull_->reader();
  if (nccl_thread_.joinable()) nccl_thread_.join();  // The previous receive has ended.
  StatusOr<NcclWeightSink::PullId> id = nccl_sink_->NextPull();
  if (AnnouncedLayout(reader) != byte_layout_ || !id.ok()) {
    nccl_pull_->received = nccl_pull_->acknowledged =
        id.ok() ? InvalidArgumentError("the announced layout is not this model's") : id.status();
    FinishNcclPullIfDone();
    return;
  }
  staging_busy_ = true;
  if (!id->reuse) {
    metrics_
        ->GetCounter("lightrl_rollout_nccl_links_joined_total",
                     "NCCL communicators joined with the learner for weight pulls (one, unless "
                     "a pull failed).")
        ->Increment();
  }
  nccl_cancel_ = false;
  nccl_thread_ = std::thread([this, pull_id = *id] {
    Status received = nccl_sink_->Receive(pull_id, config_.nccl_timeout, &nccl_cancel_);
    actor_
        ->Post([this, received] {
          nccl_pull_->received = received;
          FinishNcclPullIfDone();
        })
        .IgnoreError();  // A stopped actor takes no weights.
  });
  fetcher_->RequestNcclPull(reader, id->nccl_id, id->reuse, config_.nccl_timeout,
                            [this](Status answer) {
                              // A learner that will not send (e.g. it has moved on to a newer
                              // version) ends the wait.
                              if (!answer.ok()) nccl_cancel_ = true;
                              nccl_pull_->acknowledged = answer;
                              FinishNcclPullIfDone();
                            });
#endif
}

void RolloutNode::FinishNcclPullIfDone() {
  if (!nccl_pull_->received.has_value() || !nccl_pull_->acknowledged.has_value()) return;
  std::unique_ptr<NcclPull> pull = std::move(nccl_pull_);
  proto::WeightsAnnounce::Reader announce = pull->reader();
  const Status failed = !pull->received->ok() ? *pull->received : *pull->acknowledged;
  if (failed.ok()) {
    LOG(INFO) << "pulled weights version " << announce.getVersion() << " over NCCL";
    auto weights = std::make_unique<PendingWeights>();
    weights->image.version = announce.getVersion();
    weights->on_device = true;
    HandOver(std::move(weights));  // The staging buffer stays busy until it is applied.
    return;
  }
  LOG(WARNING) << "NCCL pull of weights version " << announce.getVersion()
               << " failed, pulling it in chunks: " << failed;
  metrics_
      ->GetCounter("lightrl_rollout_nccl_pull_failures_total",
                   "Weight pulls over NCCL that fell back to the chunked transfer.")
      ->Increment();
  FetchInChunks(announce);
  OnStagingFree();
}

void RolloutNode::OnStagingFree() {
  staging_busy_ = false;
  if (nccl_next_ != nullptr && VersionOf(*nccl_next_) > version_.load()) {
    StartNcclPull(std::move(nccl_next_));
  }
  nccl_next_.reset();
}

bool RolloutNode::MaybeSwitchWeights(bool idle) {
  std::unique_ptr<PendingWeights> pending;
  {
    std::lock_guard<std::mutex> lock(weights_mu_);
    if (pending_weights_ == nullptr) return false;
    bool allowed =
        idle || version_.load() == 0 || config_.weight_switch == WeightSwitch::kMidGeneration;
    if (!allowed) return false;
    pending = std::move(pending_weights_);
  }
  if (pending->on_device) {
#if LIGHTRL_WITH_NCCL
    nccl_sink_->Apply();
#endif
    CHECK_OK(actor_->Post([this] { OnStagingFree(); }));
    return SwitchedTo(pending->image.version);
  }
  std::vector<model::ByteLayoutEntry> layout;
  for (const TensorLayout& t : pending->image.tensors) {
    layout.push_back({t.name, "F32", std::vector<int64_t>(t.shape.begin(), t.shape.end()), t.offset,
                      t.byte_size});
  }
  const auto& bytes = *pending->image.bytes;
  Status imported = policy_->params().ImportBytes(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()),
      layout);
  if (!imported.ok()) {
    LOG(ERROR) << "weights version " << pending->image.version
               << " do not fit this model: " << imported;
    metrics_
        ->GetCounter("lightrl_rollout_weight_rejects_total",
                     "Pulled weight versions that did not fit the model.")
        ->Increment();
    return false;
  }
  policy_->ParamsChanged();
  return SwitchedTo(pending->image.version);
}

bool RolloutNode::SwitchedTo(uint64_t version) {
  uint64_t previous = version_.exchange(version);
  metrics_->GetGauge("lightrl_rollout_policy_version", "Weights version used for generation.")
      ->Set(static_cast<double>(version));
  if (previous == 0) CHECK_OK(actor_->Post([this] { GrantFreeSlots(); }));
  return true;
}

void RolloutNode::GenerationLoop() {
  model::Generator& generator = *generator_;
  ActivityLog activity(ActivityLogPath(config_.cluster.activity_dir, config_.worker_id),
                       config_.worker_id, "generating");
  std::deque<std::unique_ptr<GroupJob>> waiting;           // Received, not yet in the generator.
  std::map<uint64_t, std::pair<GroupJob*, int>> requests;  // Generator id -> (job, sample).
  std::map<GroupJob*, std::unique_ptr<GroupJob>> running;
  uint64_t next_request_id = 1;
  Counter* generated =
      metrics_->GetCounter("lightrl_rollout_generated_tokens_total", "Tokens generated.");
  Gauge* active =
      metrics_->GetGauge("lightrl_rollout_active_sequences", "Sequences in the decoding batch.");
  Gauge* queued =
      metrics_->GetGauge("lightrl_rollout_queued_groups", "Groups received and not yet decoding.");

  auto finish_job = [&](GroupJob* job, Status error) {
    std::unique_ptr<GroupJob> owned = std::move(running[job]);
    running.erase(job);
    CHECK_OK(actor_->Post([this, job = std::shared_ptr<GroupJob>(std::move(owned)), error] {
      held_groups_.fetch_sub(1);
      if (!error.ok()) {
        OutgoingMessage reply;
        auto e = reply.envelope().getBody().initError();
        e.setRetryClass(proto::RetryClass::FAILED);
        e.setMessage(error.ToString());
        session_->messenger().Send("", std::move(reply), job->message_id).status().IgnoreError();
      } else {
        size_t tokens = 0;
        for (const auto& s : job->out) tokens += s.tokens.size();
        OutgoingMessage reply(tokens * 12 + 512);
        auto rollout = reply.envelope().getBody().initRollout();
        rollout.setGroupId(job->group_id);
        rollout.setGenerationMillis(
            static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - job->started)
                                      .count()));
        auto samples = rollout.initSamples(static_cast<uint>(job->out.size()));
        for (size_t i = 0; i < job->out.size(); ++i) {
          WriteSample(job->out[i], samples[static_cast<uint>(i)]);
        }
        // If the coordinator is away the group is lost here; it re-queues it on its side.
        session_->messenger().Send("", std::move(reply), job->message_id).status().IgnoreError();
      }
      GrantFreeSlots();
    }));
  };

  while (!stopping_.load()) {
    MaybeSwitchWeights(generator.active() == 0 && generator.queued() == 0);
    while (auto job = jobs_.TryPop()) waiting.push_back(std::move(*job));
    bool hold_for_switch = false;
    if (config_.weight_switch == WeightSwitch::kRequestBoundary) {
      std::lock_guard<std::mutex> lock(weights_mu_);
      hold_for_switch = pending_weights_ != nullptr;
    }
    while (!waiting.empty() && !hold_for_switch && version_.load() != 0 &&
           waiting.front()->min_version <= version_.load()) {
      std::unique_ptr<GroupJob> job = std::move(waiting.front());
      waiting.pop_front();
      job->started = std::chrono::steady_clock::now();
      GroupJob* raw = job.get();
      running[raw] = std::move(job);
      Status added;
      for (int s = 0; s < raw->samples && added.ok(); ++s) {
        model::GenerationRequest request;
        request.id = next_request_id++;
        request.prompt = raw->prompt;
        request.params = raw->params;
        request.params.seed = raw->params.seed + static_cast<uint64_t>(s);
        requests[request.id] = {raw, s};
        added = generator.Add(std::move(request));
      }
      if (!added.ok()) {
        // The whole group is refused; samples already queued finish and are discarded.
        LOG(WARNING) << "group " << raw->group_id << " refused: " << added;
        for (auto& [id, target] : requests) {
          if (target.first == raw) target.first = nullptr;
        }
        finish_job(raw, added);
      }
    }
    queued->Set(static_cast<double>(waiting.size()));

    if (generator.active() > 0 || generator.queued() > 0) {
      StatusOr<std::vector<model::StepOutput>> step = [&] {
        ActivityLog::Scope busy(activity);
        return generator.Step();
      }();
      CHECK_OK(step.status());
      active->Set(generator.active());
      uint32_t version = static_cast<uint32_t>(version_.load());
      generated->Increment(static_cast<double>(step->size()));
      for (const model::StepOutput& out : *step) {
        auto it = requests.find(out.id);
        CHECK(it != requests.end());
        auto [job, sample] = it->second;
        if (out.finish != FinishReason::kNone) requests.erase(it);
        if (job == nullptr) continue;  // Its group was refused.
        auto& s = job->out[sample];
        s.tokens.push_back(out.token);
        s.logprobs.push_back(out.logprob);
        s.versions.push_back(version);
        if (out.finish == FinishReason::kNone) continue;
        s.finish = out.finish;
        if (++job->finished == job->samples) finish_job(job, Status::Ok());
      }
      continue;
    }
    active->Set(0);
    // Nothing to decode: wait for work, or for weights (the first ones, or a version that
    // waiting groups ask for). Both arrive with a notification of weights_cv_.
    std::unique_lock<std::mutex> lock(weights_mu_);
    weights_cv_.wait(
        lock, [&] { return pending_weights_ != nullptr || stopping_.load() || jobs_.size() > 0; });
  }
}

void RolloutNode::WakeGenerationThread() {
  // Taking the mutex orders this wake-up after the generation thread's predicate check, so it
  // cannot be lost between the check and the wait.
  { std::lock_guard<std::mutex> lock(weights_mu_); }
  weights_cv_.notify_all();
}

void RolloutNode::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  jobs_.Close();
  WakeGenerationThread();
  if (generation_thread_.joinable()) generation_thread_.join();
  if (actor_) actor_->Stop();
  if (nccl_thread_.joinable()) nccl_thread_.join();  // Ends within nccl_timeout.
}

}  // namespace lightrl
