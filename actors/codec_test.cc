#include "actors/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>

namespace lightrl {
namespace {

using BodyBuilder = proto::Envelope::Body::Builder;

// Builds an envelope with a distinctive header and the body `fill` writes.
OutgoingMessage MakeMessage(const std::function<void(BodyBuilder)>& fill, size_t hint = 1024) {
  OutgoingMessage message(hint);
  auto envelope = message.envelope();
  envelope.setProtocolVersion(proto::PROTOCOL_VERSION);
  envelope.setSenderId("rollout-7");
  envelope.setMessageId(41);
  envelope.setCorrelationId(40);
  envelope.setSentAtUnixNanos(1234567890123);
  fill(envelope.getBody());
  return message;
}

std::unique_ptr<IncomingMessage> RoundTrip(OutgoingMessage message, std::string* before) {
  *before = message.envelope().asReader().toString().flatten().cStr();
  DecodeError error;
  auto decoded = IncomingMessage::Decode(message.TakeFrames(), CodecLimits(), &error);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(error, DecodeError::kNone);
  return decoded.ok() ? std::move(*decoded) : nullptr;
}

void FillSample(proto::Sample::Builder sample, uint32_t seed) {
  std::vector<uint32_t> tokens = {seed, seed + 1, seed + 2};
  std::vector<float> logprobs = {-0.5f, -1.25f, -3.0f};
  FillList(sample.initTokenIds(3), tokens);
  FillList(sample.initBehaviourLogProbs(3), logprobs);
  FillList(sample.initPolicyVersions(3), std::vector<uint32_t>{4, 4, 5});
  sample.setFinishReason(proto::FinishReason::STOP_STRING);
}

// One filler per body kind, with non-default values in every field.
std::vector<std::pair<std::string, std::function<void(BodyBuilder)>>> AllKinds() {
  return {
      {"register",
       [](BodyBuilder b) {
         auto r = b.initRegister();
         r.setRole(proto::Role::ROLLOUT);
         r.setHostname("node-3");
         r.setPid(4711);
         r.setMetricsPort(9101);
         r.setMaxInFlight(8);
         r.setPolicyVersion(12);
       }},
      {"registered",
       [](BodyBuilder b) {
         auto r = b.initRegistered();
         r.setHeartbeatIntervalMillis(200);
         r.setDeadAfterMillis(2000);
         r.setPolicyVersion(13);
         r.setWeightsEndpoint("tcp://learner:6000");
       }},
      {"heartbeat",
       [](BodyBuilder b) {
         auto h = b.initHeartbeat();
         h.setSequence(99);
         h.setPolicyVersion(3);
         h.setInFlight(2);
         h.setQueueDepth(5);
       }},
      {"work_request", [](BodyBuilder b) { b.initWorkRequest().setCredits(17); }},
      {"rollout_request",
       [](BodyBuilder b) {
         auto r = b.initRolloutRequest();
         r.setGroupId(555);
         FillList(r.initPromptTokens(4), std::vector<uint32_t>{1, 50, 51, 2});
         r.setSamplesPerPrompt(8);
         auto s = r.initSampling();
         s.setTemperature(0.7f);
         s.setTopP(0.9f);
         s.setTopK(40);
         s.setMaxTokens(128);
         s.setSeed(77);
         auto stops = s.initStopStrings(2);
         stops.set(0, "\n\n");
         stops.set(1, "</answer>");
         s.setRepetitionWindow(100);
         s.setRepetitionProbability(0.95f);
         auto t = r.initTask();
         t.setTaskName("addition");
         t.setItemIndex(31);
         t.setReference("{\"answer\":\"122\"}");
         r.setMinPolicyVersion(6);
       }},
      {"rollout",
       [](BodyBuilder b) {
         auto r = b.initRollout();
         r.setGroupId(555);
         auto samples = r.initSamples(2);
         FillSample(samples[0], 10);
         FillSample(samples[1], 20);
         r.setGenerationMillis(321);
       }},
      {"reward_request",
       [](BodyBuilder b) {
         auto r = b.initRewardRequest();
         r.setGroupId(9);
         r.initTask().setTaskName("countdown");
         auto items = r.initItems(1);
         items[0].setSampleIndex(3);
         items[0].setCompletion("(1+2)*3");
         items[0].setTokenCount(7);
       }},
      {"reward_result",
       [](BodyBuilder b) {
         auto r = b.initRewardResult();
         r.setGroupId(9);
         auto scores = r.initScores(1);
         scores[0].setSampleIndex(3);
         scores[0].setScore(1.0f);
         scores[0].setVerdict(proto::Verdict::CORRECT);
         scores[0].setDetails("ok");
       }},
      {"train_batch",
       [](BodyBuilder b) {
         auto t = b.initTrainBatch();
         t.setBatchId(2);
         auto groups = t.initGroups(1);
         groups[0].setGroupId(555);
         FillList(groups[0].initPromptTokens(2), std::vector<uint32_t>{1, 2});
         auto samples = groups[0].initSamples(1);
         FillSample(samples[0].initSample(), 30);
         samples[0].setReward(-1.0f);
         samples[0].setVerdict(proto::Verdict::TIMEOUT);
       }},
      {"weights_announce",
       [](BodyBuilder b) {
         auto w = b.initWeightsAnnounce();
         w.setVersion(14);
         w.setByteSize(4096);
         w.setChecksum(0xDEADBEEF);
         auto tensors = w.initTensors(1);
         tensors[0].setName("model.embed_tokens.weight");
         tensors[0].setDtype(proto::DType::BF16);
         auto shape = tensors[0].initShape(2);
         shape.set(0, 259);
         shape.set(1, 128);
         tensors[0].setOffset(64);
         tensors[0].setByteSize(259 * 128 * 2);
         w.setEndpoint("tcp://learner:6000");
         w.setChunkBytes(1 << 20);
       }},
      {"weights_chunk_request",
       [](BodyBuilder b) {
         auto w = b.initWeightsChunkRequest();
         w.setVersion(14);
         w.setOffset(1 << 20);
         w.setLength(1 << 20);
       }},
      {"weights_chunk",
       [](BodyBuilder b) {
         auto w = b.initWeightsChunk();
         w.setVersion(14);
         w.setOffset(8);
         std::vector<kj::byte> data = {1, 2, 3, 4, 5};
         w.setData(kj::arrayPtr(data.data(), data.size()));
         w.setChecksum(99);
       }},
      {"ack", [](BodyBuilder b) { b.initAck().setDetail("applied"); }},
      {"error",
       [](BodyBuilder b) {
         auto e = b.initError();
         e.setRetryClass(proto::RetryClass::OVERLOADED);
         e.setMessage("busy");
       }},
      {"shutdown",
       [](BodyBuilder b) {
         auto s = b.initShutdown();
         s.setReason("done");
         s.setDrain(true);
       }},
      {"unimplemented", [](BodyBuilder b) { b.initUnimplemented().setUnknownKind(42); }},
      {"echo",
       [](BodyBuilder b) {
         std::vector<kj::byte> data(100, 7);
         b.initEcho().setPayload(kj::arrayPtr(data.data(), data.size()));
       }},
      {"weights_nccl_pull",
       [](BodyBuilder b) {
         std::vector<kj::byte> id(128, 3);
         auto pull = b.initWeightsNcclPull();
         pull.setVersion(12);
         pull.setNcclId(kj::arrayPtr(id.data(), id.size()));
       }},
  };
}

TEST(CodecTest, EveryKindRoundTripsFieldForField) {
  auto kinds = AllKinds();
  ASSERT_EQ(kinds.size(), static_cast<size_t>(proto::Envelope::Body::WEIGHTS_NCCL_PULL) + 1)
      << "a body kind has no round-trip case";
  for (auto& [name, fill] : kinds) {
    std::string before;
    auto decoded = RoundTrip(MakeMessage(fill), &before);
    ASSERT_NE(decoded, nullptr) << name;
    EXPECT_EQ(BodyKindName(static_cast<uint16_t>(decoded->envelope().getBody().which())), name);
    EXPECT_EQ(std::string(decoded->envelope().toString().flatten().cStr()), before) << name;
    EXPECT_EQ(std::string(decoded->envelope().getSenderId().cStr()), "rollout-7");
    EXPECT_EQ(decoded->envelope().getCorrelationId(), 40u);
  }
}

TEST(CodecTest, LargeRolloutSurvivesZeroCopyFrames) {
  const size_t n = 300000;  // ~3.6 MB of per-token data: several zero-copy segments.
  std::vector<uint32_t> tokens(n), versions(n);
  std::vector<float> logprobs(n);
  std::mt19937 rng(5);
  for (size_t i = 0; i < n; ++i) {
    tokens[i] = rng() % 50000;
    versions[i] = static_cast<uint32_t>(i / 1000);
    logprobs[i] = -static_cast<float>(rng() % 1000) / 100.0f;
  }
  OutgoingMessage message(64);  // A small first segment forces a multi-segment message.
  auto sample = message.envelope().getBody().initRollout().initSamples(1)[0];
  FillList(sample.initTokenIds(n), tokens);
  FillList(sample.initBehaviourLogProbs(n), logprobs);
  FillList(sample.initPolicyVersions(n), versions);
  message.envelope().setProtocolVersion(proto::PROTOCOL_VERSION);
  std::vector<zmq::message_t> frames = message.TakeFrames();
  EXPECT_GE(frames.size(), 2u);
  DecodeError error;
  auto decoded = IncomingMessage::Decode(std::move(frames), CodecLimits(), &error);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  auto got = (*decoded)->envelope().getBody().getRollout().getSamples()[0];
  std::vector<uint32_t> got_tokens, got_versions;
  std::vector<float> got_logprobs;
  CopyList(got.getTokenIds(), &got_tokens);
  CopyList(got.getPolicyVersions(), &got_versions);
  CopyList(got.getBehaviourLogProbs(), &got_logprobs);
  EXPECT_EQ(got_tokens, tokens);
  EXPECT_EQ(got_versions, versions);
  EXPECT_EQ(got_logprobs, logprobs);
}

std::vector<zmq::message_t> ValidFrames() { return MakeMessage(AllKinds()[0].second).TakeFrames(); }

StatusOr<std::unique_ptr<IncomingMessage>> DecodeBytes(const std::string& bytes, DecodeError* error,
                                                       CodecLimits limits = CodecLimits()) {
  std::vector<zmq::message_t> frames;
  frames.emplace_back(bytes.data(), bytes.size());
  return IncomingMessage::Decode(std::move(frames), limits, error);
}

TEST(CodecTest, RejectsEmptyMessage) {
  DecodeError error;
  auto decoded = IncomingMessage::Decode({}, CodecLimits(), &error);
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(error, DecodeError::kEmpty);
}

TEST(CodecTest, RejectsFramesThatAreNotWholeWords) {
  std::vector<zmq::message_t> frames = ValidFrames();
  std::string bytes(static_cast<const char*>(frames[0].data()), frames[0].size() - 3);
  DecodeError error;
  auto decoded = DecodeBytes(bytes, &error);
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(error, DecodeError::kTruncated);
  EXPECT_THAT(std::string(decoded.status().message()), ::testing::HasSubstr("truncated"));
}

TEST(CodecTest, RejectsMessagesCutShortAtAWordBoundary) {
  std::vector<zmq::message_t> frames = ValidFrames();
  ASSERT_GT(frames[0].size(), 16u);
  for (size_t keep = 8; keep < frames[0].size(); keep += 8) {
    std::string bytes(static_cast<const char*>(frames[0].data()), keep);
    DecodeError error;
    auto decoded = DecodeBytes(bytes, &error);
    EXPECT_FALSE(decoded.ok()) << "accepted a message cut to " << keep << " bytes";
    EXPECT_EQ(error, DecodeError::kGarbage) << keep;
  }
}

TEST(CodecTest, RejectsGarbageWithoutCrashing) {
  std::mt19937 rng(11);
  int rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes(8 * (1 + rng() % 64), '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    DecodeError error;
    auto decoded = DecodeBytes(bytes, &error);
    if (!decoded.ok()) {
      ++rejected;
      EXPECT_TRUE(error == DecodeError::kGarbage || error == DecodeError::kVersionMismatch);
    }
  }
  // Random words almost never form a valid envelope of the right version.
  EXPECT_GT(rejected, 1990);
}

TEST(CodecTest, RejectsOversizedMessages) {
  CodecLimits limits;
  limits.max_message_bytes = 4096;
  std::vector<kj::byte> big(8192, 1);
  auto frames = MakeMessage([&](BodyBuilder b) {
                  b.initEcho().setPayload(kj::arrayPtr(big.data(), big.size()));
                }).TakeFrames();
  DecodeError error;
  auto decoded = IncomingMessage::Decode(std::move(frames), limits, &error);
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(error, DecodeError::kOversized);
}

TEST(CodecTest, RejectsTooManySegments) {
  CodecLimits limits;
  limits.max_segments = 2;
  std::vector<zmq::message_t> frames;
  for (int i = 0; i < 3; ++i) frames.emplace_back(8);
  DecodeError error;
  EXPECT_FALSE(IncomingMessage::Decode(std::move(frames), limits, &error).ok());
  EXPECT_EQ(error, DecodeError::kOversized);
}

TEST(CodecTest, RejectsOtherProtocolVersions) {
  auto message = MakeMessage(AllKinds()[2].second);
  message.envelope().setProtocolVersion(proto::PROTOCOL_VERSION + 1);
  DecodeError error;
  auto decoded = IncomingMessage::Decode(message.TakeFrames(), CodecLimits(), &error);
  EXPECT_EQ(decoded.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(error, DecodeError::kVersionMismatch);
}

TEST(CodecTest, DecodesFramesAtUnalignedAddresses) {
  std::vector<zmq::message_t> valid = ValidFrames();
  ASSERT_EQ(valid.size(), 1u);
  // Place the bytes at an odd address and lend them to a frame without copying.
  std::vector<char> storage(valid[0].size() + 1);
  std::memcpy(storage.data() + 1, valid[0].data(), valid[0].size());
  std::vector<zmq::message_t> frames;
  frames.emplace_back(
      storage.data() + 1, valid[0].size(), [](void*, void*) {}, nullptr);
  ASSERT_NE(reinterpret_cast<uintptr_t>(frames[0].data()) % 8, 0u);
  DecodeError error;
  auto decoded = IncomingMessage::Decode(std::move(frames), CodecLimits(), &error);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::string((*decoded)->envelope().getBody().getRegister().getHostname().cStr()),
            "node-3");
}

TEST(CodecTest, RejectsPointersThatAliasToAmplifyTraversal) {
  // 1000 stop strings whose pointers all aim at one 64 KiB text: 64 KiB on the wire, 64 MiB
  // when traversed. The traversal limit (proportional to the message size) must refuse it.
  constexpr uint64_t kBig = 64 * 1024;
  constexpr uint32_t kCount = 1000;
  capnp::MallocMessageBuilder builder(1 << 16);
  auto envelope = builder.initRoot<proto::Envelope>();
  envelope.setProtocolVersion(proto::PROTOCOL_VERSION);
  auto stops = envelope.getBody().initRolloutRequest().initSampling().initStopStrings(kCount);
  std::string big(kBig, 'A');
  stops.set(0, big);
  for (uint32_t i = 1; i < kCount; ++i) stops.set(i, "Z");
  ASSERT_EQ(builder.getSegmentsForOutput().size(), 1u);
  auto segment = builder.getSegmentsForOutput()[0];
  std::vector<uint64_t> words(segment.size());
  std::memcpy(words.data(), segment.begin(), segment.asBytes().size());

  auto is_text_pointer = [](uint64_t w, uint64_t bytes) {
    return (w & 3) == 1 && ((w >> 32) & 7) == 2 && (w >> 35) == bytes;
  };
  size_t first = 0;
  while (first < words.size() && !is_text_pointer(words[first], kBig + 1)) ++first;
  ASSERT_LT(first + kCount, words.size()) << "did not find the stop-string pointer list";
  int64_t offset0 = static_cast<int32_t>(static_cast<uint32_t>(words[first]) & ~3u) >> 2;
  int64_t target = static_cast<int64_t>(first) + 1 + offset0;
  for (uint32_t i = 1; i < kCount; ++i) {
    size_t at = first + i;
    ASSERT_TRUE(is_text_pointer(words[at], 2)) << i;
    int64_t offset = target - static_cast<int64_t>(at) - 1;
    words[at] = 1 | (static_cast<uint64_t>(static_cast<uint32_t>(offset) & 0x3FFFFFFF) << 2) |
                (uint64_t{2} << 32) | ((kBig + 1) << 35);
  }
  std::vector<zmq::message_t> frames;
  frames.emplace_back(words.data(), words.size() * 8);
  DecodeError error;
  auto decoded = IncomingMessage::Decode(std::move(frames), CodecLimits(), &error);
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(error, DecodeError::kGarbage);
  EXPECT_THAT(std::string(decoded.status().message()), ::testing::HasSubstr("traversal limit"));
}

}  // namespace
}  // namespace lightrl
