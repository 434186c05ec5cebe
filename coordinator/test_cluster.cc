#include "coordinator/test_cluster.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>

#include "actors/codec.h"
#include "core/logging.h"
#include "core/tokenizer.h"

namespace lightrl::testing {

proto::Envelope::Body::Reader HeldRequest::body() const {
  return copy->getRoot<proto::Envelope>().asReader().getBody();
}

uint64_t HeldRequest::group_id() const {
  switch (kind()) {
    case BodyKind::ROLLOUT_REQUEST:
      return body().getRolloutRequest().getGroupId();
    case BodyKind::REWARD_REQUEST:
      return body().getRewardRequest().getGroupId();
    default:
      ADD_FAILURE() << "not a group's request: " << BodyKindName(static_cast<uint16_t>(kind()));
      return 0;
  }
}

ClusterConfig TestClusterConfig() {
  ClusterConfig cluster;
  cluster.heartbeat_interval_ms = 100;
  cluster.dead_after_ms = 1000;
  cluster.request_timeout_ms = 1000;
  return cluster;
}

struct TestCluster::Worker {
  std::string id;
  proto::Role role = proto::Role::UNKNOWN;
  std::unique_ptr<Messenger> messenger;  // Null once killed.
  std::deque<HeldRequest> held;
  std::vector<HeldRequest> received;
  uint64_t announced = 0;  // The latest version announced to it.
  uint64_t version = 0;    // The weights it holds (a learner's).
  uint64_t heartbeats = 0;
  bool registered = false;
};

TestCluster::TestCluster(CoordinatorConfig config)
    : config_(std::move(config)), context_(1), lap_fd_(eventfd(0, EFD_NONBLOCK)) {
  CHECK_GE(lap_fd_, 0) << "eventfd";
  static std::atomic<int> counter{0};
  config_.cluster.coordinator_endpoint = "inproc://coordinator-test-" + std::to_string(counter++);
  config_.cluster.coordinator_bind.clear();
  ActorOptions options;
  options.time = &clock_;
  auto actor = Actor::Start(
      "test-cluster",
      [this](EventLoop& loop) -> Status {
        loop_ = &loop;
        ASSIGN_OR_RETURN(coordinator_, Coordinator::Create(context_, &loop, config_, &metrics_));
        coordinator_->OnFinished([this](bool success) {
          finished_ = true;
          success_ = success;
        });
        coordinator_->messenger().OnAnyMessage([this](const IncomingMessage&) { Audit(); });
        loop.AddFd(lap_fd_, [this] {
          uint64_t count;
          while (read(lap_fd_, &count, sizeof(count)) > 0) {
          }
          std::lock_guard<std::mutex> lock(laps_mu_);
          ++laps_;
          lap_done_.notify_all();
        });
        return Status::Ok();
      },
      [this] {
        workers_.clear();
        coordinator_.reset();
      },
      options);
  CHECK_OK(actor.status());
  actor_ = std::move(*actor);
}

TestCluster::~TestCluster() {
  actor_.reset();
  close(lap_fd_);
}

void TestCluster::Audit() {
  const TrainingPipeline* pipeline = coordinator_->pipeline();
  if (pipeline == nullptr) return;
  Status audit = pipeline->state().Audit();
  if (!audit.ok()) ADD_FAILURE() << "the state machine is inconsistent: " << audit;
  ++audits_;
}

bool TestCluster::AnyMessageWaiting() {
  std::vector<zmq::pollitem_t> items;
  items.push_back({coordinator_->messenger().socket()->handle(), 0, ZMQ_POLLIN, 0});
  for (const auto& [id, worker] : workers_) {
    if (worker->messenger) {
      items.push_back({worker->messenger->socket()->handle(), 0, ZMQ_POLLIN, 0});
    }
  }
  return zmq::poll(items.data(), items.size(), std::chrono::milliseconds(0)) > 0;
}

void TestCluster::Settle() {
  for (int round = 0; round < 10000; ++round) {
    bool waiting = false;
    int64_t laps = 0;
    CHECK_OK(actor_->Call([&] {
      Audit();
      waiting = AnyMessageWaiting();
      if (!waiting) return;
      std::lock_guard<std::mutex> lock(laps_mu_);
      laps = laps_;
      uint64_t one = 1;
      CHECK_EQ(write(lap_fd_, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
    }));
    if (!waiting) return;
    // The loop handles the waiting messages in its next lap, which also reports the lap fd.
    // (Asking again at once could run in the same mailbox drain, before any socket is read.)
    std::unique_lock<std::mutex> lock(laps_mu_);
    lap_done_.wait(lock, [&] { return laps_ > laps; });
  }
  LOG(FATAL) << "the cluster never settles";
}

void TestCluster::Run(const std::function<void()>& fn) {
  CHECK_OK(actor_->Call(fn));
  Settle();
}

TestCluster::Worker& TestCluster::Find(const std::string& id) {
  auto it = workers_.find(id);
  CHECK(it != workers_.end()) << "no fake worker " << id;
  return *it->second;
}

void TestCluster::AddWorker(const std::string& id, proto::Role role, uint64_t policy_version) {
  bool registered = false;
  Run([&] {
    auto worker = std::make_unique<Worker>();
    worker->id = id;
    worker->role = role;
    worker->version = policy_version;
    SocketOptions options;
    options.routing_id = id;
    options.immediate = false;
    options.linger_ms = 0;
    auto socket = ZmqSocket::Create(context_, SocketKind::kDealer, options);
    CHECK_OK(socket.status());
    CHECK_OK((*socket)->Connect(config_.cluster.coordinator_endpoint));
    Worker* w = worker.get();
    MessengerConfig messenger_config;
    messenger_config.name = id;
    messenger_config.sender_id = id;
    w->messenger =
        std::make_unique<Messenger>(loop_, std::move(*socket), messenger_config, nullptr);
    auto hold = [w](const IncomingMessage& m) {
      HeldRequest request;
      request.message_id = m.envelope().getMessageId();
      request.copy = std::make_shared<capnp::MallocMessageBuilder>();
      request.copy->setRoot(m.envelope());
      w->held.push_back(request);
      w->received.push_back(request);
    };
    for (BodyKind kind :
         {BodyKind::ROLLOUT_REQUEST, BodyKind::REWARD_REQUEST, BodyKind::TRAIN_BATCH}) {
      w->messenger->Handle(kind, hold);
    }
    w->messenger->Handle(BodyKind::HEARTBEAT, [](const IncomingMessage&) {});
    w->messenger->Handle(BodyKind::WEIGHTS_ANNOUNCE, [w](const IncomingMessage& m) {
      w->announced = m.envelope().getBody().getWeightsAnnounce().getVersion();
    });
    w->messenger->Handle(BodyKind::SHUTDOWN, [w](const IncomingMessage& m) {
      OutgoingMessage ack;
      ack.envelope().getBody().initAck().setDetail("stopping");
      w->messenger->Reply(m, std::move(ack)).status().IgnoreError();
    });
    OutgoingMessage message;
    auto reg = message.envelope().getBody().initRegister();
    reg.setRole(role);
    reg.setHostname("test");
    reg.setPid(1);
    reg.setMaxInFlight(4);
    reg.setPolicyVersion(policy_version);
    w->messenger->Request(
        "", std::move(message), Millis(config_.cluster.request_timeout_ms),
        [w](StatusOr<std::unique_ptr<IncomingMessage>> reply) { w->registered = reply.ok(); });
    workers_[id] = std::move(worker);  // A restarted worker replaces its former self.
  });
  CHECK_OK(actor_->Call([&] { registered = Find(id).registered; }));
  EXPECT_TRUE(registered) << id << " did not register";
}

void TestCluster::Grant(const std::string& id, uint32_t credits) {
  Run([&] {
    OutgoingMessage message;
    message.envelope().getBody().initWorkRequest().setCredits(credits);
    CHECK_OK(Find(id).messenger->Send("", std::move(message)).status());
  });
}

void TestCluster::Announce(const std::string& id, uint64_t version) {
  Run([&] {
    Worker& worker = Find(id);
    worker.version = version;
    OutgoingMessage message;
    auto announce = message.envelope().getBody().initWeightsAnnounce();
    announce.setVersion(version);
    announce.setEndpoint("inproc://weights-of-" + id);
    CHECK_OK(worker.messenger->Send("", std::move(message)).status());
  });
}

void TestCluster::Kill(const std::string& id) {
  Run([&] { Find(id).messenger.reset(); });
}

std::vector<HeldRequest> TestCluster::Held(const std::string& id) {
  std::vector<HeldRequest> held;
  CHECK_OK(actor_->Call([&] {
    const Worker& worker = Find(id);
    held.assign(worker.held.begin(), worker.held.end());
  }));
  return held;
}

std::vector<HeldRequest> TestCluster::Received(const std::string& id) {
  std::vector<HeldRequest> received;
  CHECK_OK(actor_->Call([&] { received = Find(id).received; }));
  return received;
}

uint64_t TestCluster::AnnouncedTo(const std::string& id) {
  uint64_t version = 0;
  CHECK_OK(actor_->Call([&] { version = Find(id).announced; }));
  return version;
}

void TestCluster::Answer(const std::string& id, const HeldRequest& request, OutgoingMessage reply) {
  Run([&] {
    Worker& worker = Find(id);
    auto it = std::find_if(worker.held.begin(), worker.held.end(), [&](const HeldRequest& h) {
      return h.message_id == request.message_id;
    });
    CHECK(it != worker.held.end()) << id << " does not hold request " << request.message_id;
    worker.held.erase(it);
    CHECK(worker.messenger != nullptr) << id << " was killed";
    CHECK_OK(worker.messenger->Send("", std::move(reply), request.message_id).status());
  });
}

void TestCluster::AnswerError(const std::string& id, const HeldRequest& request,
                              proto::RetryClass retry_class) {
  OutgoingMessage reply;
  auto error = reply.envelope().getBody().initError();
  error.setRetryClass(retry_class);
  error.setMessage("scripted error");
  Answer(id, request, std::move(reply));
}

OutgoingMessage TestCluster::RolloutReply(const HeldRequest& request, uint32_t version) {
  auto asked = request.body().getRolloutRequest();
  OutgoingMessage reply;
  auto rollout = reply.envelope().getBody().initRollout();
  rollout.setGroupId(asked.getGroupId());
  auto samples = rollout.initSamples(asked.getSamplesPerPrompt());
  const std::vector<uint32_t> tokens = {'4', '2', ByteTokenizer::kEos};
  for (auto sample : samples) {
    FillList(sample.initTokenIds(3), tokens);
    FillList(sample.initBehaviourLogProbs(3), std::vector<float>{-0.5f, -0.25f, -0.1f});
    FillList(sample.initPolicyVersions(3), std::vector<uint32_t>(3, version));
    sample.setFinishReason(proto::FinishReason::EOS);
  }
  return reply;
}

OutgoingMessage TestCluster::RewardReply(const HeldRequest& request,
                                         const std::vector<float>& rewards) {
  auto asked = request.body().getRewardRequest();
  OutgoingMessage reply;
  auto result = reply.envelope().getBody().initRewardResult();
  result.setGroupId(asked.getGroupId());
  auto scores = result.initScores(static_cast<uint>(rewards.size()));
  for (uint i = 0; i < scores.size(); ++i) {
    scores[i].setSampleIndex(i);
    scores[i].setScore(rewards[i]);
    scores[i].setVerdict(rewards[i] > 0 ? proto::Verdict::CORRECT : proto::Verdict::INCORRECT);
  }
  return reply;
}

OutgoingMessage TestCluster::AckReply(uint64_t durable_version) {
  OutgoingMessage reply;
  reply.envelope().getBody().initAck().setDurableVersion(durable_version);
  return reply;
}

int TestCluster::Serve(const ServePolicy& policy) {
  int answers = 0;
  while (answers < policy.max_answers) {
    std::string id;
    HeldRequest request;
    uint64_t announced = 0;
    CHECK_OK(actor_->Call([&] {
      for (const auto& [worker_id, worker] : workers_) {
        if (!worker->messenger || worker->held.empty() || policy.silent.count(worker_id)) {
          continue;
        }
        id = worker_id;
        request = worker->held.front();
        announced = worker->announced;
        return;
      }
    }));
    if (id.empty()) break;
    ++answers;
    switch (request.kind()) {
      case BodyKind::ROLLOUT_REQUEST: {
        uint64_t min = request.body().getRolloutRequest().getMinPolicyVersion();
        Answer(id, request, RolloutReply(request, static_cast<uint32_t>(std::max(min, announced))));
        break;
      }
      case BodyKind::REWARD_REQUEST: {
        size_t samples = request.body().getRewardRequest().getItems().size();
        std::vector<float> rewards(samples, 1.0f);  // An eval answer (one sample) is right.
        if (samples > 1) {
          for (size_t i = 0; i < samples; ++i) rewards[i] = static_cast<float>(i % 2);
        }
        Answer(id, request, RewardReply(request, rewards));
        break;
      }
      case BodyKind::TRAIN_BATCH: {
        uint64_t version = request.body().getTrainBatch().getBatchId();
        if (policy.on_batch) policy.on_batch(request);
        Answer(id, request, AckReply(policy.durable_version(version)));
        Announce(id, version);
        break;
      }
      default:
        LOG(FATAL) << "a fake worker holds a "
                   << BodyKindName(static_cast<uint16_t>(request.kind()));
    }
    Grant(id, 1);
  }
  return answers;
}

void TestCluster::Advance(Millis by) {
  const Millis step(config_.cluster.heartbeat_interval_ms);
  for (Millis moved(0); moved < by; moved += step) {
    clock_.Advance(std::min(step, by - moved));
    Run([&] {
      for (auto& [id, worker] : workers_) {
        if (!worker->messenger) continue;
        OutgoingMessage message;
        auto heartbeat = message.envelope().getBody().initHeartbeat();
        heartbeat.setSequence(++worker->heartbeats);
        heartbeat.setPolicyVersion(worker->version);
        worker->messenger->Send("", std::move(message)).status().IgnoreError();
      }
    });
  }
}

void TestCluster::Inspect(const std::function<void(const TrainingPipeline&)>& fn) {
  CHECK_OK(actor_->Call([&] {
    CHECK(coordinator_->pipeline() != nullptr);
    fn(*coordinator_->pipeline());
  }));
}

std::string TestCluster::StatusJson() {
  std::string json;
  CHECK_OK(actor_->Call([&] { json = coordinator_->StatusJson(); }));
  return json;
}

bool TestCluster::finished() {
  bool finished = false;
  CHECK_OK(actor_->Call([&] { finished = finished_; }));
  return finished;
}

bool TestCluster::success() {
  bool success = false;
  CHECK_OK(actor_->Call([&] { success = success_; }));
  return success;
}

int64_t TestCluster::audits() {
  int64_t audits = 0;
  CHECK_OK(actor_->Call([&] { audits = audits_; }));
  return audits;
}

}  // namespace lightrl::testing
