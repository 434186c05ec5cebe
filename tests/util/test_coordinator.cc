#include "tests/util/test_coordinator.h"

#include <thread>

#include "actors/codec.h"
#include "actors/sample_codec.h"
#include "core/logging.h"
#include "model/config.h"
#include "tests/util/subprocess.h"
#include "weights/image.h"

namespace lightrl::testing {

StatusOr<std::unique_ptr<TestCoordinator>> TestCoordinator::Start(zmq::context_t& context,
                                                                  const ClusterConfig& cluster) {
  std::unique_ptr<TestCoordinator> self(new TestCoordinator());
  ASSIGN_OR_RETURN(self->model_config_,
                   model::LoadModelConfig(SourcePath("tests/configs/tiny_model.json")));
  TestCoordinator* raw = self.get();
  ASSIGN_OR_RETURN(self->actor_,
                   Actor::Start(
                       "test-coordinator",
                       [raw, cluster, &context](EventLoop& loop) -> Status {
                         ASSIGN_OR_RETURN(raw->coordinator_,
                                          Coordinator::Create(context, &loop, {cluster, {}, {}, {}},
                                                              &raw->metrics_));
                         ASSIGN_OR_RETURN(raw->weights_,
                                          WeightServer::Create(context, &loop, WeightServerConfig(),
                                                               &raw->metrics_));
                         return Status::Ok();
                       },
                       [raw] {
                         raw->weights_.reset();
                         raw->coordinator_.reset();
                       }));
  return self;
}

TestCoordinator::~TestCoordinator() { actor_.reset(); }

std::string TestCoordinator::endpoint() {
  std::string endpoint;
  Call([&](Coordinator& c) { endpoint = c.endpoint(); });
  return endpoint;
}

void TestCoordinator::Call(const std::function<void(Coordinator&)>& fn) {
  CHECK_OK(actor_->Call([&] { fn(*coordinator_); }));
}

bool TestCoordinator::WaitFor(const std::function<bool(Coordinator&)>& condition,
                              std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool met = false;
    Call([&](Coordinator& c) { met = condition(c); });
    if (met) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // Polls another thread's state.
  }
  return false;
}

std::unique_ptr<model::Model> TestCoordinator::Publish(uint64_t version, uint64_t seed) {
  auto model = model::Model::Create(model_config_);
  CHECK_OK(model.status());
  (*model)->InitializeRandom(seed);
  WeightsImage image = ExportWeights((*model)->params(), version);
  CHECK_OK(actor_->Call([&] { CHECK_OK(weights_->Publish(std::move(image))); }));
  return std::move(*model);
}

void TestCoordinator::Announce(const std::string& worker, uint64_t version) {
  CHECK_OK(actor_->Call([&] {
    OutgoingMessage message;
    CHECK_OK(weights_->FillAnnounce(version, message.envelope().getBody().initWeightsAnnounce()));
    CHECK_OK(coordinator_->messenger().Send(worker, std::move(message)).status());
  }));
}

std::future<std::vector<Sample>> TestCoordinator::Generate(const std::string& worker,
                                                           uint64_t group,
                                                           const std::vector<TokenId>& prompt,
                                                           int samples, int max_tokens) {
  auto result = std::make_shared<std::promise<std::vector<Sample>>>();
  Call([&](Coordinator& c) {
    OutgoingMessage message;
    auto request = message.envelope().getBody().initRolloutRequest();
    request.setGroupId(group);
    WriteTokens(prompt, request.initPromptTokens(static_cast<uint>(prompt.size())));
    request.setSamplesPerPrompt(static_cast<uint32_t>(samples));
    auto sampling = request.initSampling();
    sampling.setMaxTokens(static_cast<uint32_t>(max_tokens));
    sampling.setSeed(group * 100);
    sampling.setRepetitionWindow(0);
    c.messenger().Request(
        worker, std::move(message), std::chrono::milliseconds(60000),
        [result](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
          std::vector<Sample> out;
          if (reply.ok() && (*reply)->envelope().getBody().isRollout()) {
            for (auto s : (*reply)->envelope().getBody().getRollout().getSamples()) {
              StatusOr<Sample> sample = ReadSample(s);
              if (!sample.ok()) {
                LOG(ERROR) << "malformed sample from the rollout actor: " << sample.status();
                out.clear();
                break;
              }
              out.push_back(std::move(*sample));
            }
          }
          result->set_value(std::move(out));
        });
  });
  return result->get_future();
}

}  // namespace lightrl::testing
