// lightrl-bench-coordinator: how many prompt groups per second the coordinator routes
// (rollout → reward → learner) when every worker answers instantly.
//
// The coordinator runs its real pipeline; 8 simulated rollout actors, 2 simulated reward
// workers and a simulated learner speak the real protocol over real sockets (inproc and tcp
// loopback), each on its own actor thread, and answer at once with fixed-size samples,
// alternating rewards (so no group is dropped) and instant acks. Measured: groups trained per
// second over the run (median of repeats after a warm-up) and the messages per second that
// implies. The peer, measured in the same run on the same socket kind: the coordinator's smoke
// workload, where as many echo workers answer request/reply pairs of the same average size
// at once from their compute threads (the messaging layer and the worker skeleton, without the
// pipeline); the ratio of the two message rates is
// the pipeline's share of what the messaging layer carries. Wrong results: a group trained
// twice, a step missing, accounting that does not balance, or an echo answered wrongly.
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <set>

#include "actors/actor.h"
#include "actors/worker_session.h"
#include "bench/bench_util.h"
#include "coordinator/coordinator.h"
#include "core/logging.h"
#include "smoke/echo_worker.h"

DEFINE_int32(rollouts, 8, "Simulated rollout actors.");
DEFINE_int32(rewards, 2, "Simulated reward workers.");
DEFINE_int32(steps, 400, "Learner steps per round.");
DEFINE_int32(groups_per_batch, 8, "Groups per TrainBatch.");
DEFINE_int32(group_size, 8, "Samples per group.");
DEFINE_int32(tokens, 32, "Tokens per sample.");
DEFINE_int32(repeats, 5, "Timed rounds per transport (after one warm-up).");

namespace lightrl {
namespace {

// One simulated worker on its own actor: registers and answers its role's requests at once.
class SimulatedWorker {
 public:
  SimulatedWorker(zmq::context_t& context, const ClusterConfig& cluster, std::string id,
                  proto::Role role, MetricsRegistry* metrics)
      : id_(std::move(id)), role_(role) {
    auto actor = Actor::Start(
        id_,
        [&, cluster, metrics](EventLoop& loop) -> Status {
          WorkerIdentity identity{id_, role_, 4, 0};
          ASSIGN_OR_RETURN(session_,
                           WorkerSession::Create(context, &loop, cluster, identity, metrics));
          session_->SetLoadProvider([this] { return WorkerLoad{version_, 0, 0}; });
          session_->OnRegistered([this](proto::Registered::Reader) {
            session_->GrantCredits(4);
            if (role_ == proto::Role::LEARNER) Announce();
          });
          session_->messenger().Handle(BodyKind::ROLLOUT_REQUEST,
                                       [this](const IncomingMessage& m) { Rollout(m); });
          session_->messenger().Handle(BodyKind::REWARD_REQUEST,
                                       [this](const IncomingMessage& m) { Reward(m); });
          session_->messenger().Handle(BodyKind::TRAIN_BATCH,
                                       [this](const IncomingMessage& m) { Train(m); });
          session_->messenger().Handle(BodyKind::WEIGHTS_ANNOUNCE, [](const IncomingMessage&) {});
          return Status::Ok();
        },
        [this] { session_.reset(); });
    CHECK_OK(actor.status());
    actor_ = std::move(*actor);
  }

  // Groups the simulated learner saw more than once.
  int64_t duplicates() {
    int64_t d = 0;
    CHECK_OK(actor_->Call([&] { d = duplicates_; }));
    return d;
  }

 private:
  void Rollout(const IncomingMessage& m) {
    auto request = m.envelope().getBody().getRolloutRequest();
    uint32_t version = static_cast<uint32_t>(std::max<uint64_t>(1, request.getMinPolicyVersion()));
    std::vector<uint32_t> tokens(FLAGS_tokens, 65), versions(FLAGS_tokens, version);
    std::vector<float> logprobs(FLAGS_tokens, -0.5f);
    OutgoingMessage reply(FLAGS_group_size * FLAGS_tokens * 12 + 1024);
    auto rollout = reply.envelope().getBody().initRollout();
    rollout.setGroupId(request.getGroupId());
    auto samples = rollout.initSamples(request.getSamplesPerPrompt());
    for (auto s : samples) {
      FillList(s.initTokenIds(FLAGS_tokens), tokens);
      FillList(s.initBehaviourLogProbs(FLAGS_tokens), logprobs);
      FillList(s.initPolicyVersions(FLAGS_tokens), versions);
      s.setFinishReason(proto::FinishReason::EOS);
    }
    session_->messenger().Reply(m, std::move(reply)).status().IgnoreError();
    session_->GrantCredits(1);
  }

  void Reward(const IncomingMessage& m) {
    auto request = m.envelope().getBody().getRewardRequest();
    OutgoingMessage reply;
    auto result = reply.envelope().getBody().initRewardResult();
    result.setGroupId(request.getGroupId());
    auto scores = result.initScores(request.getItems().size());
    for (uint i = 0; i < scores.size(); ++i) {
      scores[i].setSampleIndex(request.getItems()[i].getSampleIndex());
      scores[i].setScore(static_cast<float>(i % 2));
      scores[i].setVerdict(i % 2 ? proto::Verdict::CORRECT : proto::Verdict::INCORRECT);
    }
    session_->messenger().Reply(m, std::move(reply)).status().IgnoreError();
    session_->GrantCredits(1);
  }

  void Train(const IncomingMessage& m) {
    for (auto g : m.envelope().getBody().getTrainBatch().getGroups()) {
      if (!trained_.insert(g.getGroupId()).second) ++duplicates_;
    }
    ++version_;
    OutgoingMessage ack;
    ack.envelope().getBody().initAck().setDurableVersion(version_);
    session_->messenger().Reply(m, std::move(ack)).status().IgnoreError();
    Announce();
    session_->GrantCredits(1);
  }

  void Announce() {
    OutgoingMessage message;
    auto announce = message.envelope().getBody().initWeightsAnnounce();
    announce.setVersion(version_);
    announce.setEndpoint("inproc://unused");
    session_->messenger().Send("", std::move(message)).status().IgnoreError();
  }

  std::string id_;
  proto::Role role_;
  uint64_t version_ = 1;
  std::set<uint64_t> trained_;
  int64_t duplicates_ = 0;
  std::unique_ptr<WorkerSession> session_;
  std::unique_ptr<Actor> actor_;
};

struct Round {
  double seconds;
  int64_t groups;
  int64_t wrong;
};

// Starts a coordinator with `config` on its actor, then the workers that `start_workers`
// makes, waits for the workload to finish, and returns its wall time; `inspect` runs on the
// coordinator's thread before teardown.
template <typename StartWorkers>
double RunCoordinator(zmq::context_t& context, CoordinatorConfig config, StartWorkers start_workers,
                      const std::function<void(const Coordinator&)>& inspect) {
  MetricsRegistry metrics;
  std::unique_ptr<Coordinator> coordinator;
  std::promise<void> finished;
  ClusterConfig cluster = config.cluster;
  auto actor = Actor::Start(
      "coordinator",
      [&](EventLoop& loop) -> Status {
        ASSIGN_OR_RETURN(coordinator, Coordinator::Create(context, &loop, config, &metrics));
        cluster.coordinator_endpoint = coordinator->endpoint();
        coordinator->OnFinished([&](bool) { finished.set_value(); });
        return Status::Ok();
      },
      [&] { coordinator.reset(); });
  CHECK_OK(actor.status());
  auto start = std::chrono::steady_clock::now();
  auto workers = start_workers(cluster);
  finished.get_future().wait();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK_OK((*actor)->Call([&] { inspect(*coordinator); }));
  workers.clear();
  (*actor)->Stop();
  return seconds;
}

Round RunPipelineRound(const std::string& endpoint) {
  zmq::context_t context(1);
  CoordinatorConfig config;
  config.cluster.coordinator_endpoint = endpoint;
  config.pipeline.emplace();
  config.pipeline->steps = FLAGS_steps;
  config.pipeline->groups_per_batch = FLAGS_groups_per_batch;
  config.pipeline->group_size = FLAGS_group_size;
  config.pipeline->ready_capacity = 4 * FLAGS_groups_per_batch;
  config.pipeline->max_staleness = 1000000;
  config.pipeline->eval.items = 0;
  config.pipeline->progress_every_ms = 0;
  config.tasks.emplace_back();
  config.tasks.back().name = "add";
  MetricsRegistry worker_metrics;
  SimulatedWorker* learner = nullptr;
  Round round{0, 0, 0};
  round.seconds = RunCoordinator(
      context, config,
      [&](const ClusterConfig& cluster) {
        std::vector<std::unique_ptr<SimulatedWorker>> workers;
        workers.push_back(std::make_unique<SimulatedWorker>(context, cluster, "learner",
                                                            proto::Role::LEARNER, &worker_metrics));
        learner = workers.back().get();
        for (int i = 0; i < FLAGS_rollouts; ++i) {
          workers.push_back(
              std::make_unique<SimulatedWorker>(context, cluster, "rollout-" + std::to_string(i),
                                                proto::Role::ROLLOUT, &worker_metrics));
        }
        for (int i = 0; i < FLAGS_rewards; ++i) {
          workers.push_back(
              std::make_unique<SimulatedWorker>(context, cluster, "reward-" + std::to_string(i),
                                                proto::Role::REWARD, &worker_metrics));
        }
        return workers;
      },
      [&](const Coordinator& coordinator) {
        const PipelineAccounting& a = coordinator.pipeline()->accounting();
        round.groups = a.trained;
        if (!a.balanced() || a.steps != FLAGS_steps ||
            a.trained != static_cast<int64_t>(FLAGS_steps) * FLAGS_groups_per_batch) {
          ++round.wrong;
        }
        round.wrong += learner->duplicates();
      });
  return round;
}

// Messages of the pipeline per trained group: request + rollout, reward request + result, a
// credit grant for each answer, and 1/B of a batch, its ack and the learner's credit.
double PipelineMessagesPerGroup() { return 6.0 + 3.0 / FLAGS_groups_per_batch; }

// The peer: echo request/reply pairs (plus the credit each answer returns), as many as the
// pipeline round sends, with payloads of its average message size, answered at once by as many
// echo workers as the pipeline has workers (each answer made on the echo worker's compute
// thread and sent by its actor, as real workers do). Returns messages per second; adds wrong
// answers.
double RunEchoRound(const std::string& endpoint, int64_t* wrong) {
  zmq::context_t context(1);
  CoordinatorConfig config;
  config.cluster.coordinator_endpoint = endpoint;
  const int workers = FLAGS_rollouts + FLAGS_rewards + 1;
  const int64_t groups = static_cast<int64_t>(FLAGS_steps) * FLAGS_groups_per_batch;
  // A group's bytes on the wire: the rollout (ids, log-probs, versions: 12 bytes a token)
  // once to the coordinator and once to the reward worker, then once more in the batch.
  const double group_bytes = 3.0 * FLAGS_group_size * FLAGS_tokens * 12;
  config.echo_probe.emplace();
  config.echo_probe->workers = workers;
  config.echo_probe->probes = groups * 2;  // Two request/reply pairs per group.
  config.echo_probe->payload_bytes = static_cast<int>(group_bytes / PipelineMessagesPerGroup());
  config.echo_probe->pending_capacity = 4 * workers;
  MetricsRegistry worker_metrics;
  int64_t answered = 0;
  double seconds = RunCoordinator(
      context, config,
      [&](const ClusterConfig& cluster) {
        std::vector<std::unique_ptr<EchoWorker>> echoes;
        for (int i = 0; i < workers; ++i) {
          EchoWorkerConfig echo;
          echo.identity = {"echo-" + std::to_string(i), proto::Role::ECHO, 4, 0};
          auto worker = EchoWorker::Start(context, cluster, echo, &worker_metrics);
          CHECK_OK(worker.status());
          echoes.push_back(std::move(*worker));
        }
        return echoes;
      },
      [&](const Coordinator& coordinator) {
        const EchoProbeReport& report = *coordinator.echo_report();
        answered = report.answered;
        *wrong += report.mismatched + report.duplicates +
                  (report.answered != config.echo_probe->probes ? 1 : 0);
      });
  return answered * 3.0 / seconds;  // Request, reply, credit.
}

}  // namespace
}  // namespace lightrl

int main(int argc, char** argv) {
  using namespace lightrl;
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  SetMinLogLevel(LogLevel::kWarning);
  std::printf(
      "lightrl-bench-coordinator: %d simulated rollout actors, %d reward workers, "
      "1 learner; %d steps x %d groups x %d samples x %d tokens per round\n",
      FLAGS_rollouts, FLAGS_rewards, FLAGS_steps, FLAGS_groups_per_batch, FLAGS_group_size,
      FLAGS_tokens);
  std::printf("%-8s %12s %14s %16s %8s %8s\n", "socket", "groups/s", "messages/s",
              "echo messages/s", "ratio", "wrong");
  int64_t wrong = 0;
  for (const char* endpoint : {"inproc://bench-coordinator", "tcp://127.0.0.1:0"}) {
    RunPipelineRound(endpoint);  // Warm-up.
    RunEchoRound(endpoint, &wrong);
    std::vector<double> groups, echo;
    for (int r = 0; r < FLAGS_repeats; ++r) {
      Round round = RunPipelineRound(endpoint);
      groups.push_back(static_cast<double>(round.groups) / round.seconds);
      wrong += round.wrong;
      echo.push_back(RunEchoRound(endpoint, &wrong));
    }
    const double messages = Median(groups) * PipelineMessagesPerGroup();
    std::printf("%-8s %12.0f %14.0f %16.0f %8.2f %8lld\n",
                std::string(endpoint).substr(0, 6).c_str(), Median(groups), messages, Median(echo),
                messages / Median(echo), static_cast<long long>(wrong));
  }
  std::printf("coordinator: wrong %lld: %s\n", static_cast<long long>(wrong),
              wrong == 0 ? "PASS" : "FAIL");
  return wrong == 0 ? 0 : 1;
}
