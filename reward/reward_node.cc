#include "reward/reward_node.h"

#include <chrono>

#include "core/activity_log.h"
#include "core/logging.h"

namespace lightrl {
namespace {

constexpr uint32_t kMaxItemsPerRequest = 4096;
constexpr size_t kMaxDetailBytes = 512;

proto::Verdict ToProto(Verdict verdict) {
  switch (verdict) {
    case Verdict::kCorrect:
      return proto::Verdict::CORRECT;
    case Verdict::kIncorrect:
      return proto::Verdict::INCORRECT;
    case Verdict::kFormatError:
      return proto::Verdict::FORMAT_ERROR;
    case Verdict::kCompileError:
      return proto::Verdict::COMPILE_ERROR;
    case Verdict::kRuntimeError:
      return proto::Verdict::RUNTIME_ERROR;
    case Verdict::kTimeout:
      return proto::Verdict::TIMEOUT;
    case Verdict::kMemoryLimit:
      return proto::Verdict::MEMORY_LIMIT;
    case Verdict::kOutputLimit:
      return proto::Verdict::OUTPUT_LIMIT;
    case Verdict::kSandboxError:
      return proto::Verdict::SANDBOX_ERROR;
    case Verdict::kInvalidReference:
      return proto::Verdict::INVALID_REFERENCE;
  }
  return proto::Verdict::UNKNOWN;
}

}  // namespace

struct RewardNode::Job {
  struct Item {
    uint32_t sample_index;
    std::string completion;
    ScoreResult result;
  };
  uint64_t group_id = 0;
  std::string task_name;
  std::string reference;
  std::vector<Item> items;
};

Status ParseRewardNodeConfig(const ConfigNode& reward, const std::vector<TaskConfig>& tasks,
                             RewardNodeConfig* out) {
  RETURN_IF_ERROR(reward.ExpectOnlyKeys({"threads", "max_in_flight", "sandbox"}));
  RETURN_IF_ERROR(reward.Optional("threads", &out->threads, 1, 256));
  RETURN_IF_ERROR(reward.Optional("max_in_flight", &out->max_in_flight, 1, 4096));
  ASSIGN_OR_RETURN(ConfigNode sandbox, reward.OptionalChild("sandbox"));
  RETURN_IF_ERROR(
      sandbox.ExpectOnlyKeys({"enabled", "slots", "first_uid", "require_cgroups", "wall_ms",
                              "cpu_ms", "memory_mb", "processes", "output_kb"}));
  RETURN_IF_ERROR(sandbox.Optional("enabled", &out->use_sandbox));
  RETURN_IF_ERROR(sandbox.Optional("slots", &out->sandbox.slots, 1, 256));
  int64_t first_uid = out->sandbox.first_uid;
  RETURN_IF_ERROR(sandbox.Optional("first_uid", &first_uid, 1000, 4000000000LL));
  out->sandbox.first_uid = static_cast<uint32_t>(first_uid);
  RETURN_IF_ERROR(sandbox.Optional("require_cgroups", &out->sandbox.require_cgroups));
  RunLimits& limits = out->scorer.code.run_limits;
  RETURN_IF_ERROR(sandbox.Optional("wall_ms", &limits.wall_ms, 1, 3600000));
  RETURN_IF_ERROR(sandbox.Optional("cpu_ms", &limits.cpu_ms, 1, 3600000));
  int64_t memory_mb = limits.memory_bytes / kMiB;
  RETURN_IF_ERROR(sandbox.Optional("memory_mb", &memory_mb, 8, 1 << 20));
  limits.memory_bytes = memory_mb * kMiB;
  RETURN_IF_ERROR(sandbox.Optional("processes", &limits.processes, 1, 100000));
  int64_t output_kb = limits.output_bytes / 1024;
  RETURN_IF_ERROR(sandbox.Optional("output_kb", &output_kb, 1, 1 << 20));
  limits.output_bytes = output_kb * 1024;
  for (const TaskConfig& task : tasks) out->scorer.task_scoring[task.name] = task.scoring;
  Status valid = out->scorer.Validate();
  if (valid.ok()) valid = out->sandbox.Validate();
  if (!valid.ok()) return reward.Error("sandbox", valid.message());
  return Status::Ok();
}

StatusOr<RewardNode::Job> RewardNode::Decode(const IncomingMessage& message) {
  auto request = message.envelope().getBody().getRewardRequest();
  if (request.getItems().size() == 0 || request.getItems().size() > kMaxItemsPerRequest) {
    return InvalidArgumentError("a reward request needs 1 to " +
                                std::to_string(kMaxItemsPerRequest) + " items");
  }
  Job job;
  job.group_id = request.getGroupId();
  job.task_name = request.getTask().getTaskName().cStr();
  job.reference = request.getTask().getReference().cStr();
  for (auto item : request.getItems()) {
    job.items.push_back({item.getSampleIndex(), item.getCompletion().cStr(), ScoreResult()});
  }
  return job;
}

StatusOr<std::unique_ptr<RewardNode>> RewardNode::Start(zmq::context_t& context,
                                                        const RewardNodeConfig& config,
                                                        MetricsRegistry* metrics) {
  std::unique_ptr<Sandbox> sandbox;
  if (config.use_sandbox) {
    ASSIGN_OR_RETURN(sandbox, Sandbox::Create(config.sandbox));
    LOG(INFO) << "sandbox guarantees on this machine:\n" << sandbox->report().ToString();
  }
  std::unique_ptr<RewardNode> node(new RewardNode(config, metrics, std::move(sandbox)));
  WorkerNodeOptions options;
  options.identity.worker_id = config.worker_id;
  options.identity.role = proto::Role::REWARD;
  options.identity.metrics_port = config.metrics_port;
  options.identity.max_in_flight = static_cast<uint32_t>(config.max_in_flight);
  options.cluster = config.cluster;
  ASSIGN_OR_RETURN(
      node->node_,
      WorkerNode<Job>::Start(context, options, metrics, [](WorkerNode<Job>& worker, EventLoop&) {
        worker.Serve(BodyKind::REWARD_REQUEST, Decode);
        return Status::Ok();
      }));
  RewardNode* self = node.get();
  for (int i = 0; i < config.threads; ++i) {
    node->threads_.emplace_back([self] { self->ScoreLoop(); });
  }
  return node;
}

RewardNode::RewardNode(const RewardNodeConfig& config, MetricsRegistry* metrics,
                       std::unique_ptr<Sandbox> sandbox)
    : config_(config),
      metrics_(metrics),
      sandbox_(std::move(sandbox)),
      scorer_(std::make_unique<Scorer>(config.scorer, sandbox_.get())),
      activity_(ActivityLogPath(config.cluster.activity_dir, config.worker_id), config.worker_id,
                "scoring") {}

RewardNode::~RewardNode() { Stop(); }

void RewardNode::OnShutdown(std::function<void()> callback) {
  node_->OnShutdown(std::move(callback));
}

void RewardNode::ScoreLoop() {
  Histogram* seconds = metrics_->GetHistogram(
      "lightrl_reward_seconds", "Time to score one completion.", ExponentialBuckets(0.0001, 4, 12));
  while (std::optional<Work<Job>> work = node_->jobs().Pop()) {
    Job& job = work->job;
    for (Job::Item& item : job.items) {
      auto start = WallClock::now();
      item.result = scorer_->Score(job.task_name, job.reference, item.completion);
      auto end = WallClock::now();
      activity_.Record(start, end);
      seconds->Observe(std::chrono::duration<double>(end - start).count());
      metrics_
          ->GetCounter("lightrl_reward_scored_total", "Completions scored, by verdict.",
                       {{"verdict", std::string(VerdictName(item.result.verdict))}})
          ->Increment();
    }
    OutgoingMessage reply;
    auto result = reply.envelope().getBody().initRewardResult();
    result.setGroupId(job.group_id);
    auto scores = result.initScores(static_cast<uint>(job.items.size()));
    for (size_t i = 0; i < job.items.size(); ++i) {
      const Job::Item& item = job.items[i];
      auto score = scores[static_cast<uint>(i)];
      score.setSampleIndex(item.sample_index);
      score.setScore(static_cast<float>(item.result.score));
      score.setVerdict(ToProto(item.result.verdict));
      score.setDetails(item.result.details.substr(0, kMaxDetailBytes));
    }
    node_->Reply(work->request, std::move(reply));
  }
}

void RewardNode::Stop() {
  if (node_ == nullptr) return;
  node_->CloseQueue();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  node_->Stop();
}

}  // namespace lightrl
