#include "coordinator/pipeline_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/tokenizer.h"

namespace lightrl {
namespace {

using ::testing::HasSubstr;

// `message` as a peer receives it.
std::unique_ptr<IncomingMessage> Received(OutgoingMessage message) {
  message.envelope().setProtocolVersion(proto::PROTOCOL_VERSION);
  message.envelope().setMessageId(1);
  DecodeError error;
  auto decoded = IncomingMessage::Decode(message.TakeFrames(), CodecLimits(), &error);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  return std::move(*decoded);
}

Group MakeGroup(std::vector<TokenId> completion) {
  Group group;
  group.id = 42;
  group.prompt_ref = {1, 17};
  group.prompt = ByteTokenizer::EncodePrompt("3+4=");
  group.reference = R"({"answer":"7"})";
  group.min_version = 5;
  for (int i = 0; i < 2; ++i) {
    Sample sample;
    sample.tokens = completion;
    sample.logprobs.assign(completion.size(), -0.5f);
    sample.versions.assign(completion.size(), 5);
    sample.finish = FinishReason::kEos;
    group.samples.push_back({sample, {static_cast<float>(i), proto::Verdict::CORRECT}});
  }
  return group;
}

const std::vector<std::string> kTaskNames = {"add", "mul"};

TEST(PipelineCodecTest, RolloutRequestsCarryTheGroupTheSpecAndASeedPerGroup) {
  GenerationSpec spec;
  spec.samples_per_prompt = 8;
  spec.temperature = 0.7f;
  spec.max_tokens = 12;
  spec.stop_strings = {"\n"};
  auto message = Received(EncodeRolloutRequest(MakeGroup({'7'}), kTaskNames, spec, 3));
  auto request = message->envelope().getBody().getRolloutRequest();
  EXPECT_EQ(request.getGroupId(), 42u);
  EXPECT_EQ(request.getPromptTokens().size(), 5u);
  EXPECT_EQ(request.getSamplesPerPrompt(), 8u);
  EXPECT_EQ(request.getSampling().getTemperature(), 0.7f);
  EXPECT_EQ(request.getSampling().getMaxTokens(), 12u);
  EXPECT_EQ(request.getSampling().getSeed(), 3 * 1000003ULL + 42 * 7919ULL);
  EXPECT_EQ(std::string(request.getSampling().getStopStrings()[0].cStr()), "\n");
  EXPECT_EQ(std::string(request.getTask().getTaskName().cStr()), "mul");
  EXPECT_EQ(request.getTask().getItemIndex(), 17u);
  EXPECT_EQ(std::string(request.getTask().getReference().cStr()), R"({"answer":"7"})");
  EXPECT_EQ(request.getMinPolicyVersion(), 5u);
}

TEST(PipelineCodecTest, RewardRequestsCarryTheCompletionsAsTextOrFail) {
  auto message = Received(*EncodeRewardRequest(MakeGroup({'7', ByteTokenizer::kEos}), kTaskNames));
  auto items = message->envelope().getBody().getRewardRequest().getItems();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].getSampleIndex(), 1u);
  EXPECT_EQ(std::string(items[1].getCompletion().cStr()), "7");
  EXPECT_EQ(items[1].getTokenCount(), 2u);
  EXPECT_EQ(EncodeRewardRequest(MakeGroup({'7', 9999}), kTaskNames).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(PipelineCodecTest, TrainBatchesCarryTheScoredGroupsAndTheSnapshot) {
  Batch batch;
  batch.resulting_version = 9;
  batch.snapshot = "{}";
  batch.groups.push_back(std::make_shared<Group>(MakeGroup({'7'})));
  auto message = Received(EncodeTrainBatch(batch, kTaskNames));
  auto train = message->envelope().getBody().getTrainBatch();
  EXPECT_EQ(train.getBatchId(), 9u);
  EXPECT_EQ(std::string(train.getCoordinatorState().cStr()), "{}");
  ASSERT_EQ(train.getGroups().size(), 1u);
  auto group = train.getGroups()[0];
  EXPECT_EQ(group.getGroupId(), 42u);
  EXPECT_EQ(std::string(group.getTask().getTaskName().cStr()), "mul");
  ASSERT_EQ(group.getSamples().size(), 2u);
  EXPECT_EQ(group.getSamples()[1].getReward(), 1.0f);
  EXPECT_EQ(group.getSamples()[1].getVerdict(), proto::Verdict::CORRECT);
  EXPECT_EQ(group.getSamples()[1].getSample().getPolicyVersions()[0], 5u);
}

OutgoingMessage Rollout(uint64_t group_id, int samples, bool uneven = false) {
  OutgoingMessage message;
  auto rollout = message.envelope().getBody().initRollout();
  rollout.setGroupId(group_id);
  auto list = rollout.initSamples(samples);
  for (int i = 0; i < samples; ++i) {
    FillList(list[i].initTokenIds(2), std::vector<uint32_t>{'1', '2'});
    FillList(list[i].initBehaviourLogProbs(2), std::vector<float>{-1, -1});
    std::vector<uint32_t> versions(uneven && i == 1 ? 1 : 2, 3);  // Uneven: one short.
    FillList(list[i].initPolicyVersions(versions.size()), versions);
  }
  return message;
}

TEST(PipelineCodecTest, RolloutsAreCheckedAgainstTheirRequest) {
  std::vector<Sample> samples;
  ASSERT_TRUE(ReadRollout(*Received(Rollout(42, 2)), 42, 2, &samples).ok());
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].versions, (std::vector<uint32_t>{3, 3}));
  EXPECT_THAT(ReadRollout(*Received(Rollout(41, 2)), 42, 2, &samples).message(),
              HasSubstr("not the rollout of this group"));
  EXPECT_THAT(ReadRollout(*Received(Rollout(42, 1)), 42, 2, &samples).message(),
              HasSubstr("expected 2 samples, got 1"));
  Status uneven = ReadRollout(*Received(Rollout(42, 3, true)), 42, 3, &samples);
  EXPECT_EQ(uneven.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(samples.size(), 1u);  // Read before the malformed one.
}

OutgoingMessage Scores(std::vector<std::pair<uint32_t, float>> scores) {
  OutgoingMessage message;
  auto list = message.envelope().getBody().initRewardResult().initScores(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    list[i].setSampleIndex(scores[i].first);
    list[i].setScore(scores[i].second);
    list[i].setVerdict(proto::Verdict::INCORRECT);
  }
  return message;
}

TEST(PipelineCodecTest, RewardResultsAreReadInSampleOrderAndChecked) {
  auto scores = ReadRewardResult(*Received(Scores({{1, 0.25f}, {0, 0.5f}})), 2);
  ASSERT_TRUE(scores.ok()) << scores.status();
  EXPECT_EQ((*scores)[0].reward, 0.5f);
  EXPECT_EQ((*scores)[1].reward, 0.25f);
  EXPECT_EQ((*scores)[1].verdict, proto::Verdict::INCORRECT);
  EXPECT_THAT(ReadRewardResult(*Received(Scores({{0, 1}})), 2).status().message(),
              HasSubstr("expected 2 scores, got 1"));
  EXPECT_THAT(ReadRewardResult(*Received(Scores({{0, 1}, {0, 1}})), 2).status().message(),
              HasSubstr("out of range or repeated"));
  EXPECT_THAT(ReadRewardResult(*Received(Scores({{0, 1}, {2, 1}})), 2).status().message(),
              HasSubstr("out of range or repeated"));
  EXPECT_THAT(ReadRewardResult(*Received(Scores({{0, 1}, {1, NAN}})), 2).status().message(),
              HasSubstr("not finite"));
  EXPECT_THAT(ReadRewardResult(*Received(Rollout(1, 1)), 1).status().message(),
              HasSubstr("not a reward result"));
}

TEST(PipelineCodecTest, OnlyAnAckAcknowledgesABatch) {
  OutgoingMessage ack;
  ack.envelope().getBody().initAck().setDurableVersion(6);
  EXPECT_EQ(*ReadTrainAck(*Received(std::move(ack))), 6u);
  EXPECT_EQ(ReadTrainAck(*Received(Rollout(1, 1))).status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace lightrl
