// WeightPublisher with a CPU policy on a test actor: the starting and each captured version
// served byte for byte and reported, and the newest capture published when captures outpace
// the publishing thread.
#include "weights/publisher.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "actors/actor.h"
#include "model/test_configs.h"

namespace lightrl {
namespace {

std::vector<uint8_t> WeightBytes(model::Policy& policy) {
  std::span<const std::byte> bytes = policy.params().Bytes();
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  return {data, data + bytes.size()};
}

// What a training step does to the weights, as far as publishing can tell.
void ChangeWeights(model::Policy& policy, float factor) {
  model::ParamArena<float>& params = policy.params();
  for (size_t i = 0; i < params.size(); ++i) params.data()[i] = params.data()[i] * factor + 0.01f;
  policy.ParamsChanged();
}

class WeightPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policy = model::CreatePolicy(model::testing::TinyHybridConfig(), model::PolicyOptions());
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::move(*policy);
    policy_->InitializeRandom(1);
    auto actor = Actor::Start(
        "learner",
        [this](EventLoop& loop) {
          loop_ = &loop;
          WeightFetcherConfig config;
          config.sender_id = "rollout-0";
          fetcher_ = std::make_unique<WeightFetcher>(context_, &loop, config, &metrics_);
          return Status::Ok();
        },
        [this] {
          publisher_.reset();
          fetcher_.reset();
        });
    ASSERT_TRUE(actor.ok()) << actor.status();
    actor_ = std::move(*actor);
  }

  void TearDown() override { actor_.reset(); }

  // Creates the publisher on the actor, serving the policy's weights as `version`; it hands
  // images to the loop through `run_on_loop` (by default: waiting for room in the mailbox).
  void StartPublisher(uint64_t version, WeightPublisher::RunOnLoop run_on_loop = {}) {
    if (!run_on_loop) {
      run_on_loop = [this](std::function<void()> fn) {
        actor_->PostWaiting(std::move(fn)).IgnoreError();
      };
    }
    Status created;
    ASSERT_TRUE(actor_
                    ->Call([&] {
                      auto publisher = WeightPublisher::Create(
                          context_, loop_, run_on_loop, policy_.get(), version,
                          WeightPublisherConfig(), &metrics_, [this](uint64_t published) {
                            std::lock_guard<std::mutex> lock(mu_);
                            published_.push_back(published);
                            changed_.notify_all();
                          });
                      created = publisher.status();
                      if (publisher.ok()) publisher_ = std::move(*publisher);
                    })
                    .ok());
    ASSERT_TRUE(created.ok()) << created;
  }

  bool WaitPublished(uint64_t version) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(30),
                             [&] { return !published_.empty() && published_.back() == version; });
  }

  // Pulls the newest version the publisher announces.
  StatusOr<WeightsImage> FetchNewest() {
    std::promise<StatusOr<WeightsImage>> result;
    CHECK_OK(actor_->Call([&] {
      capnp::MallocMessageBuilder builder;
      auto announce = builder.initRoot<proto::WeightsAnnounce>();
      Status filled = publisher_->FillAnnounce(announce);
      if (!filled.ok()) {
        result.set_value(filled);
        return;
      }
      fetcher_->Fetch(announce.asReader(),
                      [&](StatusOr<WeightsImage> image) { result.set_value(std::move(image)); });
    }));
    return result.get_future().get();
  }

  double Metric(const std::string& name) {
    const std::string text = metrics_.Render();
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
  }

  zmq::context_t context_{1};
  MetricsRegistry metrics_;
  std::unique_ptr<model::Policy> policy_;
  std::unique_ptr<Actor> actor_;
  EventLoop* loop_ = nullptr;
  std::unique_ptr<WeightFetcher> fetcher_;      // Actor thread only.
  std::unique_ptr<WeightPublisher> publisher_;  // Actor thread only.
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<uint64_t> published_;  // Guarded by mu_.
};

TEST_F(WeightPublisherTest, ServesTheStartingVersionAndEachCapturedOneByteForByte) {
  StartPublisher(7);
  const std::vector<uint8_t> start = WeightBytes(*policy_);
  auto fetched = FetchNewest();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->version, 7u);
  EXPECT_EQ(*fetched->bytes, start);

  ChangeWeights(*policy_, 0.5f);
  const std::vector<uint8_t> eighth = WeightBytes(*policy_);
  publisher_->Capture(8);
  ChangeWeights(*policy_, 2.0f);  // The next step: the capture keeps what it copied.
  ASSERT_TRUE(WaitPublished(8));
  fetched = FetchNewest();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->version, 8u);
  EXPECT_EQ(*fetched->bytes, eighth);
  EXPECT_EQ(Metric("lightrl_learner_versions_skipped_total"), 0);
}

TEST_F(WeightPublisherTest, TheNewestCaptureIsPublishedWhenCapturesOutpaceThePublishing) {
  // The publishing thread stops in its first hand-over (version 2) until `go`.
  std::promise<void> entered, go;
  StartPublisher(1, [&, first = true](std::function<void()> fn) mutable {
    if (first) {
      first = false;
      entered.set_value();
      go.get_future().wait();
    }
    actor_->PostWaiting(std::move(fn)).IgnoreError();
  });
  ChangeWeights(*policy_, 0.5f);
  publisher_->Capture(2);
  entered.get_future().wait();
  ChangeWeights(*policy_, 2.0f);
  publisher_->Capture(3);
  ChangeWeights(*policy_, 3.0f);
  const std::vector<uint8_t> fourth = WeightBytes(*policy_);
  publisher_->Capture(4);
  go.set_value();
  ASSERT_TRUE(WaitPublished(4));
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(published_, (std::vector<uint64_t>{2, 4}));
  }
  EXPECT_EQ(Metric("lightrl_learner_versions_skipped_total"), 1);
  auto fetched = FetchNewest();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->version, 4u);
  EXPECT_EQ(*fetched->bytes, fourth);
}

}  // namespace
}  // namespace lightrl
