#include "actors/sample_codec.h"

#include <algorithm>
#include <string>

#include "actors/codec.h"

namespace lightrl {
namespace {

// A TokenId and a wire id share their bits for every valid id (0 <= id <= INT32_MAX).
std::span<const uint32_t> AsWireIds(std::span<const TokenId> tokens) {
  return {reinterpret_cast<const uint32_t*>(tokens.data()), tokens.size()};
}

}  // namespace

void WriteTokens(std::span<const TokenId> tokens, capnp::List<uint32_t>::Builder list) {
  FillList(list, AsWireIds(tokens));
}

StatusOr<std::vector<TokenId>> ReadTokens(capnp::List<uint32_t>::Reader list) {
  std::vector<uint32_t> wire;
  CopyList(list, &wire);
  auto bad = std::find_if(wire.begin(), wire.end(), [](uint32_t id) { return id > INT32_MAX; });
  if (bad != wire.end()) {
    return InvalidArgumentError("token id " + std::to_string(*bad) + " at position " +
                                std::to_string(bad - wire.begin()) + " is above INT32_MAX");
  }
  return std::vector<TokenId>(wire.begin(), wire.end());
}

void WriteSample(const Sample& sample, proto::Sample::Builder out) {
  WriteTokens(sample.tokens, out.initTokenIds(static_cast<unsigned>(sample.tokens.size())));
  FillList(out.initBehaviourLogProbs(static_cast<unsigned>(sample.logprobs.size())),
           sample.logprobs);
  FillList(out.initPolicyVersions(static_cast<unsigned>(sample.versions.size())), sample.versions);
  out.setFinishReason(ToProto(sample.finish));
}

StatusOr<Sample> ReadSample(proto::Sample::Reader in) {
  Sample sample;
  ASSIGN_OR_RETURN(sample.tokens, ReadTokens(in.getTokenIds()));
  CopyList(in.getBehaviourLogProbs(), &sample.logprobs);
  CopyList(in.getPolicyVersions(), &sample.versions);
  if (sample.tokens.empty()) return InvalidArgumentError("a sample has no tokens");
  if (sample.logprobs.size() != sample.tokens.size() ||
      sample.versions.size() != sample.tokens.size()) {
    return InvalidArgumentError(
        "a sample's per-token lists differ in length: " + std::to_string(sample.tokens.size()) +
        " tokens, " + std::to_string(sample.logprobs.size()) + " log-probs, " +
        std::to_string(sample.versions.size()) + " versions");
  }
  sample.finish = FromProto(in.getFinishReason());
  return sample;
}

proto::FinishReason ToProto(FinishReason reason) {
  switch (reason) {
    case FinishReason::kEos:
      return proto::FinishReason::EOS;
    case FinishReason::kMaxTokens:
      return proto::FinishReason::MAX_TOKENS;
    case FinishReason::kStopString:
      return proto::FinishReason::STOP_STRING;
    case FinishReason::kRepetition:
      return proto::FinishReason::REPETITION;
    case FinishReason::kContextLength:
      return proto::FinishReason::CONTEXT_LENGTH;
    case FinishReason::kNone:
      break;
  }
  return proto::FinishReason::UNKNOWN;
}

FinishReason FromProto(proto::FinishReason reason) {
  switch (reason) {
    case proto::FinishReason::EOS:
      return FinishReason::kEos;
    case proto::FinishReason::MAX_TOKENS:
      return FinishReason::kMaxTokens;
    case proto::FinishReason::STOP_STRING:
      return FinishReason::kStopString;
    case proto::FinishReason::REPETITION:
      return FinishReason::kRepetition;
    case proto::FinishReason::CONTEXT_LENGTH:
      return FinishReason::kContextLength;
    case proto::FinishReason::UNKNOWN:
    case proto::FinishReason::ABORTED:
      break;
  }
  return FinishReason::kNone;
}

}  // namespace lightrl
