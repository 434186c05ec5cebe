// Samples and token ids through their wire form: what is written reads back the same, and
// what a peer could send wrongly is refused with the reason.
#include "actors/sample_codec.h"

#include <capnp/message.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lightrl {
namespace {

using ::testing::HasSubstr;

TEST(SampleCodecTest, SamplesRoundTripWithEveryFinishReason) {
  for (FinishReason finish :
       {FinishReason::kNone, FinishReason::kEos, FinishReason::kMaxTokens,
        FinishReason::kStopString, FinishReason::kRepetition, FinishReason::kContextLength}) {
    Sample sample{{7, 0, 2147483647}, {-0.5f, -1.25f, 0.0f}, {3, 3, 4}, finish};
    capnp::MallocMessageBuilder message;
    WriteSample(sample, message.initRoot<proto::Sample>());
    StatusOr<Sample> read = ReadSample(message.getRoot<proto::Sample>().asReader());
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->tokens, sample.tokens);
    EXPECT_EQ(read->logprobs, sample.logprobs);
    EXPECT_EQ(read->versions, sample.versions);
    EXPECT_EQ(read->finish, finish) << FinishReasonName(finish);
  }
}

TEST(SampleCodecTest, TokenIdsAboveInt32MaxAreRefusedWithTheirPosition) {
  capnp::MallocMessageBuilder message;
  auto list = message.initRoot<proto::RolloutRequest>().initPromptTokens(3);
  list.set(0, 5);
  list.set(1, 2147483648u);
  list.set(2, 6);
  StatusOr<std::vector<TokenId>> read = ReadTokens(list.asReader());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(read.status().message(), HasSubstr("2147483648 at position 1"));
}

TEST(SampleCodecTest, MalformedSamplesAreRefused) {
  {
    capnp::MallocMessageBuilder message;
    WriteSample(Sample{}, message.initRoot<proto::Sample>());
    StatusOr<Sample> read = ReadSample(message.getRoot<proto::Sample>().asReader());
    ASSERT_FALSE(read.ok());
    EXPECT_THAT(read.status().message(), HasSubstr("no tokens"));
  }
  {
    capnp::MallocMessageBuilder message;
    WriteSample(Sample{{1, 2}, {-1.0f}, {1, 1}, FinishReason::kEos},
                message.initRoot<proto::Sample>());
    StatusOr<Sample> read = ReadSample(message.getRoot<proto::Sample>().asReader());
    ASSERT_FALSE(read.ok());
    EXPECT_THAT(read.status().message(), HasSubstr("2 tokens, 1 log-probs, 2 versions"));
  }
}

TEST(SampleCodecTest, AbortedAndUnknownReadAsNotFinished) {
  EXPECT_EQ(FromProto(proto::FinishReason::ABORTED), FinishReason::kNone);
  EXPECT_EQ(FromProto(proto::FinishReason::UNKNOWN), FinishReason::kNone);
  EXPECT_EQ(ToProto(FinishReason::kNone), proto::FinishReason::UNKNOWN);
}

}  // namespace
}  // namespace lightrl
