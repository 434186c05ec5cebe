// lightrl-bench-coordinator: how many prompt groups per second the coordinator routes
// (rollout → reward → learner) when every worker answers instantly.
//
// The coordinator runs its real pipeline; 8 simulated rollout actors, 2 simulated reward
// workers and a simulated learner speak the real protocol over real sockets (inproc and tcp
// loopback), each on its own actor thread, and answer at once with fixed-size samples,
// alternating rewards (so no group is dropped) and instant acks. Measured: groups trained per
// second over the run (median of repeats after a warm-up), as a share of the message rate of
// the transport itself (lightrl-bench-transport). Wrong results: a group trained twice, a step
// missing, or accounting that does not balance.
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <set>

#include "actors/actor.h"
#include "actors/coordinator.h"
#include "actors/worker_session.h"
#include "core/logging.h"

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
          ASSIGN_OR_RETURN(session_, WorkerSession::Create(context, &loop, cluster, identity, metrics));
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

Round RunRound(const std::string& endpoint) {
  zmq::context_t context(1);
  MetricsRegistry metrics;
  ClusterConfig cluster;
  cluster.coordinator_endpoint = endpoint;
  CoordinatorConfig config;
  config.cluster = cluster;
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
  std::unique_ptr<Coordinator> coordinator;
  std::promise<void> finished;
  std::chrono::steady_clock::time_point start;
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
  start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<SimulatedWorker>> workers;
  MetricsRegistry worker_metrics;
  auto learner = std::make_unique<SimulatedWorker>(context, cluster, "learner",
                                                   proto::Role::LEARNER, &worker_metrics);
  for (int i = 0; i < FLAGS_rollouts; ++i) {
    workers.push_back(std::make_unique<SimulatedWorker>(
        context, cluster, "rollout-" + std::to_string(i), proto::Role::ROLLOUT, &worker_metrics));
  }
  for (int i = 0; i < FLAGS_rewards; ++i) {
    workers.push_back(std::make_unique<SimulatedWorker>(
        context, cluster, "reward-" + std::to_string(i), proto::Role::REWARD, &worker_metrics));
  }
  finished.get_future().wait();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Round round{seconds, 0, learner->duplicates()};
  CHECK_OK((*actor)->Call([&] {
    const PipelineAccounting& a = coordinator->pipeline()->accounting();
    round.groups = a.trained;
    if (!a.balanced() || a.steps != FLAGS_steps ||
        a.trained != static_cast<int64_t>(FLAGS_steps) * FLAGS_groups_per_batch) {
      ++round.wrong;
    }
  }));
  workers.clear();
  learner.reset();
  (*actor)->Stop();
  return round;
}

}  // namespace
}  // namespace lightrl

int main(int argc, char** argv) {
  using namespace lightrl;
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  SetMinLogLevel(LogLevel::kWarning);
  std::printf("lightrl-bench-coordinator: %d simulated rollout actors, %d reward workers, "
              "1 learner; %d steps x %d groups x %d samples x %d tokens per round\n",
              FLAGS_rollouts, FLAGS_rewards, FLAGS_steps, FLAGS_groups_per_batch,
              FLAGS_group_size, FLAGS_tokens);
  std::printf("%-8s %12s %14s %10s\n", "socket", "groups/s", "messages/s", "wrong");
  int64_t wrong = 0;
  for (const char* endpoint : {"inproc://bench-coordinator", "tcp://127.0.0.1:0"}) {
    RunRound(endpoint);  // Warm-up.
    std::vector<double> rates;
    for (int r = 0; r < FLAGS_repeats; ++r) {
      Round round = RunRound(endpoint);
      rates.push_back(static_cast<double>(round.groups) / round.seconds);
      wrong += round.wrong;
    }
    std::sort(rates.begin(), rates.end());
    double groups = rates[rates.size() / 2];
    // Per group: request + rollout, reward request + result, plus 1/B of a batch and its ack,
    // plus the credit grants (one per request answered).
    double messages = groups * (6.0 + 3.0 / FLAGS_groups_per_batch);
    std::printf("%-8s %12.0f %14.0f %10lld\n", std::string(endpoint).substr(0, 6).c_str(), groups,
                messages, static_cast<long long>(wrong));
  }
  std::printf("coordinator: wrong %lld: %s\n", static_cast<long long>(wrong),
              wrong == 0 ? "PASS" : "FAIL");
  return wrong == 0 ? 0 : 1;
}
