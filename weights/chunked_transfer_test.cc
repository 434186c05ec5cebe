#include "weights/chunked_transfer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <random>
#include <tuple>

#include "actors/actor.h"
#include "core/crc32c.h"
#include "core/logging.h"
#include "weights/test_servers.h"

namespace lightrl {
namespace {

using ::testing::HasSubstr;

WeightsImage RandomImage(uint64_t version, size_t floats, uint32_t seed) {
  std::mt19937 rng(seed);
  auto bytes = std::make_shared<std::vector<uint8_t>>(floats * 4 + 64 * 2);
  for (auto& b : *bytes) b = static_cast<uint8_t>(rng());
  WeightsImage image;
  image.version = version;
  image.tensors = {{"model.embed_tokens.weight", proto::DType::F32, {floats / 8, 8}, 0, floats * 4},
                   {"model.norm.weight", proto::DType::BF16, {64}, floats * 4, 128}};
  image.bytes = bytes;
  return image;
}

// A weight server and a fetcher on one actor (one thread owns both sockets).
class WeightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto actor = Actor::Start(
        "weights",
        [this](EventLoop& loop) -> Status {
          WeightServerConfig server_config;
          server_config.chunk_bytes = 256 * 1024;
          server_config.keep_versions = 2;
          ASSIGN_OR_RETURN(server_,
                           WeightServer::Create(context_, &loop, server_config, &metrics_));
          WeightFetcherConfig fetcher_config;
          fetcher_config.sender_id = "rollout-0";
          fetcher_config.request_timeout_ms = 2000;
          fetcher_ = std::make_unique<WeightFetcher>(context_, &loop, fetcher_config, &metrics_);
          loop_ = &loop;
          return Status::Ok();
        },
        [this] {
          fetcher_.reset();
          server_.reset();
          fake_.reset();
        });
    ASSERT_TRUE(actor.ok()) << actor.status();
    actor_ = std::move(*actor);
  }
  void TearDown() override { actor_.reset(); }

  Status Publish(WeightsImage image) {
    Status status;
    EXPECT_TRUE(actor_->Call([&] { status = server_->Publish(std::move(image)); }).ok());
    return status;
  }

  // Fetches `version` as announced by the server, with `edit` applied to the announce.
  StatusOr<WeightsImage> Fetch(
      uint64_t version, const std::function<void(proto::WeightsAnnounce::Builder)>& edit = {}) {
    std::promise<StatusOr<WeightsImage>> result;
    EXPECT_TRUE(actor_
                    ->Post([&] {
                      capnp::MallocMessageBuilder builder;
                      auto announce = builder.initRoot<proto::WeightsAnnounce>();
                      Status filled = server_->FillAnnounce(version, announce);
                      if (!filled.ok()) {
                        result.set_value(filled);
                        return;
                      }
                      if (edit) edit(announce);
                      fetcher_->Fetch(announce.asReader(), [&](StatusOr<WeightsImage> image) {
                        result.set_value(std::move(image));
                      });
                    })
                    .ok());
    return result.get_future().get();
  }

  // A server on its own endpoint that answers chunk requests with corrupt data (see
  // InstallCorruptingServer); returns the endpoint.
  std::string StartCorruptingServer(const std::vector<uint8_t>& bytes, bool always) {
    std::string endpoint;
    EXPECT_TRUE(actor_
                    ->Call([&] {
                      auto socket =
                          ZmqSocket::Create(context_, SocketKind::kRouter, SocketOptions());
                      endpoint = *(*socket)->Bind("tcp://127.0.0.1:0");
                      fake_ = std::make_unique<Messenger>(
                          loop_, std::move(*socket),
                          MessengerConfig{.name = "fake", .sender_id = "fake"}, nullptr);
                      testing::InstallCorruptingServer(*fake_, bytes, always);
                    })
                    .ok());
    return endpoint;
  }

  double Counter(const std::string& line_prefix) {
    std::string text = metrics_.Render();
    size_t at = text.find("\n" + line_prefix + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + line_prefix.size() + 2));
  }

  zmq::context_t context_{1};
  MetricsRegistry metrics_;
  std::unique_ptr<Actor> actor_;
  EventLoop* loop_ = nullptr;
  std::unique_ptr<WeightServer> server_;
  std::unique_ptr<WeightFetcher> fetcher_;
  std::unique_ptr<Messenger> fake_;  // A misbehaving server, for some tests.
};

TEST_F(WeightsTest, FetchedImageIsByteIdenticalWithItsLayout) {
  WeightsImage image = RandomImage(1, 1300000, 1);  // ~5.2 MB: 20 chunks, a partial last one.
  auto expected = image.bytes;
  ASSERT_TRUE(Publish(image).ok());
  auto fetched = Fetch(1);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->version, 1u);
  EXPECT_EQ(*fetched->bytes, *expected);
  EXPECT_EQ(fetched->checksum, Crc32c(expected->data(), expected->size()));
  ASSERT_EQ(fetched->tensors.size(), 2u);
  EXPECT_EQ(fetched->tensors[1].name, "model.norm.weight");
  EXPECT_EQ(fetched->tensors[1].dtype, proto::DType::BF16);
  EXPECT_EQ(fetched->tensors[1].shape, std::vector<uint64_t>{64});
  EXPECT_EQ(Counter("lightrl_weight_chunks_served_total"), 20);
}

TEST_F(WeightsTest, KeepsTheLastVersionsForSlowReadersAndRefusesOlderOnes) {
  for (uint64_t v = 1; v <= 3; ++v) ASSERT_TRUE(Publish(RandomImage(v, 1000, v)).ok());
  EXPECT_TRUE(Fetch(2).ok());  // Still kept (keep_versions = 2).
  EXPECT_EQ(Fetch(1).status().code(), StatusCode::kNotFound);
  // A reader that saw the announce of version 2 keeps pulling after version 4 evicts it.
  ASSERT_TRUE(Publish(RandomImage(4, 1000, 4)).ok());
  auto late = Fetch(4, [](proto::WeightsAnnounce::Builder a) { a.setVersion(2); });
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(late.status().message()), HasSubstr("version 2 is no longer served"));
}

TEST_F(WeightsTest, PublishRefusesOldVersionsAndBadLayouts) {
  ASSERT_TRUE(Publish(RandomImage(5, 1000, 1)).ok());
  EXPECT_EQ(Publish(RandomImage(5, 1000, 1)).code(), StatusCode::kInvalidArgument);
  WeightsImage bad = RandomImage(6, 1000, 1);
  bad.tensors[1].offset = 100;  // Overlaps the first tensor.
  EXPECT_THAT(std::string(Publish(bad).message()), HasSubstr("overlap"));
}

TEST_F(WeightsTest, WrongWholeImageChecksumIsDataLoss) {
  ASSERT_TRUE(Publish(RandomImage(1, 100000, 1)).ok());
  auto fetched =
      Fetch(1, [](proto::WeightsAnnounce::Builder a) { a.setChecksum(a.getChecksum() ^ 1); });
  EXPECT_EQ(fetched.status().code(), StatusCode::kDataLoss);
}

// The learner checksums images off the loop: the server serves the checksum it is given.
TEST_F(WeightsTest, APrecomputedChecksumIsServedAsGiven) {
  WeightsImage image = RandomImage(1, 70000, 3);
  image.checksum = Crc32c(image.bytes->data(), image.bytes->size());
  Status published;
  ASSERT_TRUE(actor_->Call([&] { published = server_->PublishChecksummed(image); }).ok());
  ASSERT_TRUE(published.ok()) << published;
  auto fetched = Fetch(1);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(*fetched->bytes, *image.bytes);

  WeightsImage wrong = RandomImage(2, 70000, 4);
  wrong.checksum = Crc32c(wrong.bytes->data(), wrong.bytes->size()) ^ 1;
  ASSERT_TRUE(actor_->Call([&] { published = server_->PublishChecksummed(wrong); }).ok());
  ASSERT_TRUE(published.ok()) << published;
  fetched = Fetch(2);
  ASSERT_FALSE(fetched.ok());
  EXPECT_THAT(std::string(fetched.status().message()), HasSubstr("fails its checksum"));
}

TEST_F(WeightsTest, ChunksWithABadChecksumAreRejectedAndRequestedAgain) {
  WeightsImage image = RandomImage(1, 200000, 9);  // 800 KB: 4 chunks of 256 KB.
  ASSERT_TRUE(Publish(image).ok());
  const std::string fake_endpoint = StartCorruptingServer(*image.bytes, /*always=*/false);
  auto fetched = Fetch(1, [&](proto::WeightsAnnounce::Builder a) { a.setEndpoint(fake_endpoint); });
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(*fetched->bytes, *image.bytes);
  EXPECT_EQ(Counter("lightrl_weight_bad_chunks_total"), 4);  // One bad copy of each chunk.
}

TEST_F(WeightsTest, ChunksThatStayCorruptFailTheFetch) {
  WeightsImage image = RandomImage(1, 60000, 9);  // One chunk.
  ASSERT_TRUE(Publish(image).ok());
  const std::string fake_endpoint = StartCorruptingServer(*image.bytes, /*always=*/true);
  auto fetched = Fetch(1, [&](proto::WeightsAnnounce::Builder a) { a.setEndpoint(fake_endpoint); });
  EXPECT_EQ(fetched.status().code(), StatusCode::kAborted);
  EXPECT_THAT(std::string(fetched.status().message()), HasSubstr("failed 4 times"));
  EXPECT_EQ(Counter("lightrl_weight_bad_chunks_total"), 4);  // First try plus 3 retries.
}

TEST_F(WeightsTest, NewerFetchSupersedesOneInProgress) {
  ASSERT_TRUE(Publish(RandomImage(1, 1000000, 1)).ok());
  ASSERT_TRUE(Publish(RandomImage(2, 1000, 2)).ok());
  std::promise<Status> first;
  std::promise<StatusOr<WeightsImage>> second;
  ASSERT_TRUE(actor_
                  ->Call([&] {
                    capnp::MallocMessageBuilder b1, b2;
                    auto a1 = b1.initRoot<proto::WeightsAnnounce>();
                    auto a2 = b2.initRoot<proto::WeightsAnnounce>();
                    ASSERT_TRUE(server_->FillAnnounce(1, a1).ok());
                    ASSERT_TRUE(server_->FillAnnounce(2, a2).ok());
                    fetcher_->Fetch(a1.asReader(),
                                    [&](StatusOr<WeightsImage> r) { first.set_value(r.status()); });
                    fetcher_->Fetch(a2.asReader(), [&](StatusOr<WeightsImage> r) {
                      second.set_value(std::move(r));
                    });
                  })
                  .ok());
  EXPECT_EQ(first.get_future().get().code(), StatusCode::kCancelled);
  auto image = second.get_future().get();
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->version, 2u);
}

TEST(ValidateLayoutTest, NamesTheOffendingTensor) {
  std::vector<TensorLayout> layout = {{"a", proto::DType::F32, {2, 3}, 0, 24}};
  EXPECT_TRUE(ValidateLayout(layout, 24).ok());
  EXPECT_THAT(std::string(ValidateLayout(layout, 20).message()),
              HasSubstr("tensor a: bytes [0, 24)"));
  layout[0].byte_size = 20;
  EXPECT_THAT(std::string(ValidateLayout(layout, 24).message()),
              HasSubstr("tensor a: shape and dtype give 24 bytes, layout says 20"));
}

// The NCCL pull's messages: the handler gets the version, the id's bytes and the reuse flag,
// and the fetcher's callback gets the handler's outcome (the GPUs themselves are tested in
// weights/nccl_link_test.cc).
TEST_F(WeightsTest, NcclPullsReachTheLearnersHandlerAndReturnItsOutcome) {
  ASSERT_TRUE(Publish(RandomImage(7, 1000, 7)).ok());
  auto pull = [&](const std::string& id, bool reuse = false) {
    std::promise<Status> result;
    EXPECT_TRUE(actor_
                    ->Post([&] {
                      capnp::MallocMessageBuilder builder;
                      auto announce = builder.initRoot<proto::WeightsAnnounce>();
                      CHECK_OK(server_->FillAnnounce(7, announce));
                      fetcher_->RequestNcclPull(announce.asReader(), id, reuse,
                                                std::chrono::milliseconds(2000),
                                                [&](Status s) { result.set_value(s); });
                    })
                    .ok());
    return result.get_future().get();
  };
  // A learner whose policy is not on a GPU installs no handler.
  Status refused = pull("id");
  EXPECT_EQ(refused.code(), StatusCode::kAborted);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("serves no NCCL pulls"));

  std::vector<std::tuple<uint64_t, std::string, bool>> seen;
  ASSERT_TRUE(actor_
                  ->Call([&] {
                    server_->ServeNcclPulls([&](uint64_t version, const std::string& id, bool reuse,
                                                WeightServer::NcclReply reply) {
                      seen.emplace_back(version, id, reuse);
                      reply(id == std::string("good\0id", 7)
                                ? Status::Ok()
                                : DeadlineExceededError("the peer did not complete in time"));
                    });
                  })
                  .ok());
  EXPECT_TRUE(pull(std::string("good\0id", 7)).ok());
  Status late = pull("slow", /*reuse=*/true);
  EXPECT_EQ(late.code(), StatusCode::kAborted);
  EXPECT_THAT(std::string(late.message()), HasSubstr("did not complete in time"));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(std::get<0>(seen[0]), 7u);
  EXPECT_EQ(std::get<1>(seen[0]), std::string("good\0id", 7));  // Bytes, zeros included.
  EXPECT_FALSE(std::get<2>(seen[0]));
  EXPECT_TRUE(std::get<2>(seen[1])) << "the reuse flag did not reach the handler";
}

}  // namespace
}  // namespace lightrl
