// Test helper: weight servers that misbehave.
#ifndef LIGHTRL_WEIGHTS_TEST_SERVERS_H_
#define LIGHTRL_WEIGHTS_TEST_SERVERS_H_

#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include "actors/messenger.h"
#include "core/crc32c.h"

namespace lightrl::testing {

// A server that answers every chunk request with corrupted data (or only the first time each)
// from `bytes`, which must outlive it.
inline void InstallCorruptingServer(Messenger& server, const std::vector<uint8_t>& bytes,
                                    bool always) {
  auto seen = std::make_shared<std::set<uint64_t>>();
  server.Handle(BodyKind::WEIGHTS_CHUNK_REQUEST, [&server, &bytes, always,
                                                  seen](const IncomingMessage& m) {
    auto request = m.envelope().getBody().getWeightsChunkRequest();
    uint64_t offset = request.getOffset();
    std::vector<uint8_t> data(bytes.begin() + offset, bytes.begin() + offset + request.getLength());
    uint32_t crc = Crc32c(data.data(), data.size());
    if (always || seen->insert(offset).second) data[data.size() / 2] ^= 0x40;  // Flip a bit.
    OutgoingMessage reply;
    auto chunk = reply.envelope().getBody().initWeightsChunk();
    chunk.setVersion(request.getVersion());
    chunk.setOffset(offset);
    chunk.setData(kj::arrayPtr(data.data(), data.size()));
    chunk.setChecksum(crc);
    server.Reply(m, std::move(reply)).status().IgnoreError();
  });
}

}  // namespace lightrl::testing

#endif  // LIGHTRL_WEIGHTS_TEST_SERVERS_H_
