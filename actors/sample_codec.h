// Samples and token ids on the wire: the one conversion between the in-memory Sample and
// TokenId (core/sample.h) and their Cap'n Proto form (proto::Sample, List(UInt32)).
//
// Writers never fail. Readers check what a peer sent and return InvalidArgument naming the
// problem: a token id above INT32_MAX, or (ReadSample) an empty sample or per-token lists of
// different lengths. Whether ids fit a vocabulary is the model's check, not the codec's.
// Thread-safety: stateless.
#ifndef LIGHTRL_ACTORS_SAMPLE_CODEC_H_
#define LIGHTRL_ACTORS_SAMPLE_CODEC_H_

#include <span>
#include <vector>

#include "core/sample.h"
#include "core/status.h"
#include "proto/lightrl.capnp.h"

namespace lightrl {

// `list` must have been initialized with tokens.size() elements.
void WriteTokens(std::span<const TokenId> tokens, capnp::List<uint32_t>::Builder list);
StatusOr<std::vector<TokenId>> ReadTokens(capnp::List<uint32_t>::Reader list);

void WriteSample(const Sample& sample, proto::Sample::Builder out);
StatusOr<Sample> ReadSample(proto::Sample::Reader in);

// The wire's finish reason; proto UNKNOWN and ABORTED read as kNone.
proto::FinishReason ToProto(FinishReason reason);
FinishReason FromProto(proto::FinishReason reason);

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_SAMPLE_CODEC_H_
