// WeightPuller with CPU policies on a test actor, against a WeightServer on the same loop:
// announced versions pulled and applied only when asked, the newest pulled winning, a corrupt
// chunk pulled again, a version the server no longer has, and an image that does not fit.
#include "weights/puller.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <optional>

#include "actors/actor.h"
#include "model/test_configs.h"
#include "weights/test_servers.h"

namespace lightrl {
namespace {

std::vector<uint8_t> WeightBytes(model::Policy& policy) {
  std::span<const std::byte> bytes = policy.params().Bytes();
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  return {data, data + bytes.size()};
}

std::unique_ptr<model::Policy> TinyPolicy(const model::ModelConfig& config, uint64_t seed) {
  auto policy = model::CreatePolicy(config, model::PolicyOptions());
  CHECK_OK(policy.status());
  (*policy)->InitializeRandom(seed);
  return std::move(*policy);
}

struct Outcome {
  uint64_t version;
  StatusCode code;
  bool operator==(const Outcome&) const = default;
};

class WeightPullerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = TinyPolicy(model::testing::TinyHybridConfig(), 1);
    auto actor = Actor::Start(
        "rollout",
        [this](EventLoop& loop) -> Status {
          loop_ = &loop;
          WeightServerConfig config;
          config.keep_versions = 2;
          ASSIGN_OR_RETURN(server_, WeightServer::Create(context_, &loop, config, &metrics_));
          WeightPullerConfig puller_config;
          puller_config.fetcher.sender_id = "rollout-0";
          ASSIGN_OR_RETURN(puller_, WeightPuller::Create(
                                        context_, &loop,
                                        [this](std::function<void()> fn) {
                                          actor_->PostWaiting(std::move(fn)).IgnoreError();
                                        },
                                        policy_.get(), puller_config, &metrics_,
                                        [this](uint64_t version, const Status& outcome) {
                                          std::lock_guard<std::mutex> lock(mu_);
                                          outcomes_.push_back({version, outcome.code()});
                                          changed_.notify_all();
                                        }));
          return Status::Ok();
        },
        [this] {
          puller_.reset();
          server_.reset();
          corrupting_.reset();
        });
    ASSERT_TRUE(actor.ok()) << actor.status();
    actor_ = std::move(*actor);
  }

  void TearDown() override { actor_.reset(); }

  // Publishes weights of `config` (random from `seed`) as `version`; returns their bytes.
  std::vector<uint8_t> Publish(
      uint64_t version, uint64_t seed,
      const model::ModelConfig& config = model::testing::TinyHybridConfig()) {
    std::unique_ptr<model::Policy> learner = TinyPolicy(config, seed);
    WeightsImage image = ExportWeights(learner->params(), version);
    Status published;
    CHECK_OK(actor_->Call([&] { published = server_->Publish(image); }));
    CHECK_OK(published);
    return *image.bytes;
  }

  // The server's announce of `version`.
  std::unique_ptr<capnp::MallocMessageBuilder> AnnounceOf(uint64_t version) {
    auto builder = std::make_unique<capnp::MallocMessageBuilder>();
    CHECK_OK(actor_->Call([&] {
      CHECK_OK(server_->FillAnnounce(version, builder->initRoot<proto::WeightsAnnounce>()));
    }));
    return builder;
  }

  void Deliver(capnp::MallocMessageBuilder& announce) {
    CHECK_OK(actor_->Call(
        [&] { puller_->OnAnnounce(announce.getRoot<proto::WeightsAnnounce>().asReader()); }));
  }

  // Waits for the outcome of a pull of `version`.
  StatusCode WaitOutcome(uint64_t version) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<StatusCode> code;
    bool ended = changed_.wait_for(lock, std::chrono::seconds(30), [&] {
      for (const Outcome& o : outcomes_) {
        if (o.version == version) code = o.code;
      }
      return code.has_value();
    });
    EXPECT_TRUE(ended) << "the pull of version " << version << " never ended";
    return code.value_or(StatusCode::kDeadlineExceeded);
  }

  double Metric(const std::string& name) {
    const std::string text = metrics_.Render();
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
  }

  zmq::context_t context_{1};
  MetricsRegistry metrics_;
  std::unique_ptr<model::Policy> policy_;  // The rollout's; this thread drives it.
  std::unique_ptr<Actor> actor_;
  EventLoop* loop_ = nullptr;
  std::unique_ptr<WeightServer> server_;  // Actor thread only.
  std::unique_ptr<WeightPuller> puller_;
  std::unique_ptr<Messenger> corrupting_;  // Actor thread only.
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Outcome> outcomes_;  // Guarded by mu_.
};

TEST_F(WeightPullerTest, PullsAnAnnouncedVersionAndAppliesItOnlyWhenAsked) {
  const std::vector<uint8_t> first = Publish(1, 11);
  const std::vector<uint8_t> own = WeightBytes(*policy_);
  Deliver(*AnnounceOf(1));
  ASSERT_EQ(WaitOutcome(1), StatusCode::kOk);
  EXPECT_TRUE(puller_->HasPending());
  EXPECT_EQ(puller_->version(), 0u);
  EXPECT_EQ(WeightBytes(*policy_), own);
  ASSERT_TRUE(puller_->Apply().ok());
  EXPECT_EQ(puller_->version(), 1u);
  EXPECT_EQ(WeightBytes(*policy_), first);
  EXPECT_FALSE(puller_->HasPending());

  // The version in use again: not pulled (a pull would end, superseded, before version 2's).
  Deliver(*AnnounceOf(1));
  const std::vector<uint8_t> second = Publish(2, 22);
  Deliver(*AnnounceOf(2));
  ASSERT_EQ(WaitOutcome(2), StatusCode::kOk);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(outcomes_, (std::vector<Outcome>{{1, StatusCode::kOk}, {2, StatusCode::kOk}}));
  }
  ASSERT_TRUE(puller_->Apply().ok());
  EXPECT_EQ(WeightBytes(*policy_), second);
}

TEST_F(WeightPullerTest, TheNewestPulledVersionIsTheOneApplied) {
  Publish(1, 11);
  const std::vector<uint8_t> second = Publish(2, 22);
  Deliver(*AnnounceOf(1));
  ASSERT_EQ(WaitOutcome(1), StatusCode::kOk);
  Deliver(*AnnounceOf(2));
  ASSERT_EQ(WaitOutcome(2), StatusCode::kOk);
  ASSERT_TRUE(puller_->Apply().ok());
  EXPECT_EQ(puller_->version(), 2u);
  EXPECT_EQ(WeightBytes(*policy_), second);
  EXPECT_FALSE(puller_->HasPending());
}

TEST_F(WeightPullerTest, AChunkThatFailsItsChecksumIsPulledAgain) {
  const std::vector<uint8_t> first = Publish(1, 11);
  // The same version from a server that corrupts the first answer for each chunk.
  std::string endpoint;
  CHECK_OK(actor_->Call([&] {
    auto socket = ZmqSocket::Create(context_, SocketKind::kRouter, SocketOptions());
    CHECK_OK(socket.status());
    endpoint = *(*socket)->Bind("tcp://127.0.0.1:0");
    corrupting_ = std::make_unique<Messenger>(
        loop_, std::move(*socket), MessengerConfig{.name = "corrupt", .sender_id = "corrupt"},
        nullptr);
    testing::InstallCorruptingServer(*corrupting_, first, /*always=*/false);
  }));
  auto announce = AnnounceOf(1);
  announce->getRoot<proto::WeightsAnnounce>().setEndpoint(endpoint);
  Deliver(*announce);
  ASSERT_EQ(WaitOutcome(1), StatusCode::kOk);
  EXPECT_GE(Metric("lightrl_weight_bad_chunks_total"), 1);
  ASSERT_TRUE(puller_->Apply().ok());
  EXPECT_EQ(WeightBytes(*policy_), first);
}

TEST_F(WeightPullerTest, AVersionTheServerNoLongerHasIsNeitherPulledNorApplied) {
  Publish(1, 11);
  auto gone = AnnounceOf(1);
  Publish(2, 22);
  const std::vector<uint8_t> third = Publish(3, 33);  // The server keeps 2 and 3.
  const std::vector<uint8_t> own = WeightBytes(*policy_);
  Deliver(*gone);
  EXPECT_EQ(WaitOutcome(1), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(puller_->HasPending());
  ASSERT_TRUE(puller_->Apply().ok());  // Nothing waits: nothing changes.
  EXPECT_EQ(puller_->version(), 0u);
  EXPECT_EQ(WeightBytes(*policy_), own);
  Deliver(*AnnounceOf(3));
  ASSERT_EQ(WaitOutcome(3), StatusCode::kOk);
  ASSERT_TRUE(puller_->Apply().ok());
  EXPECT_EQ(WeightBytes(*policy_), third);
}

TEST_F(WeightPullerTest, AnImageThatDoesNotFitThePolicyIsRejectedAndCounted) {
  model::ModelConfig other = model::testing::TinyHybridConfig();
  other.hidden_size = 12;
  Publish(1, 11, other);
  const std::vector<uint8_t> own = WeightBytes(*policy_);
  Deliver(*AnnounceOf(1));
  ASSERT_EQ(WaitOutcome(1), StatusCode::kOk);
  Status applied = puller_->Apply();
  EXPECT_EQ(applied.code(), StatusCode::kInvalidArgument) << applied;
  EXPECT_EQ(puller_->version(), 0u);
  EXPECT_EQ(WeightBytes(*policy_), own);
  EXPECT_EQ(Metric("lightrl_rollout_weight_rejects_total"), 1);
}

}  // namespace
}  // namespace lightrl
