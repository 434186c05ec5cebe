// lightrl-bench-transport: throughput of Rollout messages between two processes over tcp
// loopback, Cap'n Proto encode and decode included, against a raw ZeroMQ send of the same
// number of bytes over the same socket pair in the same run.
//
// For each message size the sender (this process) streams `messages` messages to a receiver
// (a forked child) that decodes and validates every one and reads every token id in place to
// check a checksum; it answers with the count of wrong messages when the round is done.
// Each round is timed from the first send to that answer. One warm-up round, then `repeats`
// rounds; the median is reported. Goal (docs/benchmarks.md): lightrl/raw >= 0.9 at 1 MB.
#include <gflags/gflags.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "actors/codec.h"
#include "actors/zmq_socket.h"
#include "bench/bench_util.h"
#include "core/logging.h"

DEFINE_int32(repeats, 7, "Timed rounds per size (after one warm-up round).");
DEFINE_int32(small_messages, 20000, "Messages per round at 1 KB.");
DEFINE_int32(large_messages, 400, "Messages per round at 1 MB.");
DEFINE_string(endpoint, "tcp://127.0.0.1:0", "Where the receiver binds.");

namespace lightrl {
namespace {

using SteadyClock = std::chrono::steady_clock;

enum class Mode : uint8_t { kLightrl = 1, kRaw = 2 };

// Per-token bytes of a Rollout sample: token id, behaviour log-prob, policy version.
constexpr size_t kBytesPerToken = 12;

struct RolloutData {
  std::vector<uint32_t> tokens, versions;
  std::vector<float> logprobs;
  uint64_t token_sum = 0;
};

RolloutData MakeRolloutData(size_t tokens) {
  RolloutData d;
  d.tokens.resize(tokens);
  d.versions.assign(tokens, 7);
  d.logprobs.resize(tokens);
  for (size_t i = 0; i < tokens; ++i) {
    d.tokens[i] = static_cast<uint32_t>((i * 2654435761u) % 151000);
    d.logprobs[i] = -0.001f * static_cast<float>(i % 5000);
    d.token_sum += d.tokens[i];
  }
  return d;
}

std::vector<zmq::message_t> EncodeRollout(const RolloutData& d, uint64_t id) {
  OutgoingMessage message(d.tokens.size() * kBytesPerToken + 512);
  auto envelope = message.envelope();
  envelope.setProtocolVersion(proto::PROTOCOL_VERSION);
  envelope.setSenderId("bench-rollout");
  envelope.setMessageId(id);
  auto rollout = envelope.getBody().initRollout();
  rollout.setGroupId(id);
  auto sample = rollout.initSamples(1)[0];
  size_t n = d.tokens.size();
  FillList(sample.initTokenIds(static_cast<uint>(n)), d.tokens);
  FillList(sample.initBehaviourLogProbs(static_cast<uint>(n)), d.logprobs);
  FillList(sample.initPolicyVersions(static_cast<uint>(n)), d.versions);
  sample.setFinishReason(proto::FinishReason::EOS);
  return message.TakeFrames();
}

size_t FramesBytes(const std::vector<zmq::message_t>& frames) {
  size_t total = 0;
  for (const auto& f : frames) total += f.size();
  return total;
}

// Sends, waiting for room when the high-water mark is reached.
void SendAll(ZmqSocket& socket, std::vector<zmq::message_t> frames) {
  while (true) {
    Status s = socket.Send(&frames);
    if (s.ok()) return;
    CHECK(s.code() == StatusCode::kResourceExhausted) << s;
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLOUT, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
  }
}

// The receiver child: for each round, reads `count` messages of `mode`, checks them, answers.
[[noreturn]] void Receiver(const std::string& endpoint_file) {
  zmq::context_t context(1);
  SocketOptions options;
  options.receive_high_water_mark = 100;
  auto socket = ZmqSocket::Create(context, SocketKind::kRouter, options);
  CHECK_OK(socket.status());
  auto bound = (*socket)->Bind(FLAGS_endpoint);
  CHECK_OK(bound.status());
  FILE* f = std::fopen(endpoint_file.c_str(), "w");
  std::fprintf(f, "%s", bound->c_str());
  std::fclose(f);
  std::vector<zmq::message_t> frames;
  zmq::pollitem_t item{(*socket)->handle(), 0, ZMQ_POLLIN, 0};
  while (true) {
    // Control message: [id][mode, count(8 bytes), expected token sum(8 bytes)].
    auto next = [&]() {
      while (true) {
        auto got = (*socket)->Receive(&frames);
        CHECK_OK(got.status());
        if (*got) return;
        zmq::poll(&item, 1, std::chrono::milliseconds(-1));
      }
    };
    next();
    std::string peer(static_cast<const char*>(frames[0].data()), frames[0].size());
    CHECK_EQ(frames[1].size(), 17u);
    const char* control = static_cast<const char*>(frames[1].data());
    Mode mode = static_cast<Mode>(control[0]);
    if (control[0] == 0) _exit(0);
    uint64_t count, expected_sum;
    std::memcpy(&count, control + 1, 8);
    std::memcpy(&expected_sum, control + 9, 8);
    uint64_t wrong = 0;
    for (uint64_t i = 0; i < count; ++i) {
      next();
      frames.erase(frames.begin());  // Routing id.
      if (mode == Mode::kRaw) {
        continue;
      }
      DecodeError error;
      auto decoded = IncomingMessage::Decode(std::move(frames), CodecLimits(), &error);
      if (!decoded.ok()) {
        ++wrong;
        continue;
      }
      // Read in place, as the coordinator does: every token id is checked, the other lists'
      // lengths are checked.
      auto sample = (*decoded)->envelope().getBody().getRollout().getSamples()[0];
      uint64_t sum = 0;
      for (uint32_t token : sample.getTokenIds()) sum += token;
      if (sum != expected_sum ||
          sample.getBehaviourLogProbs().size() != sample.getTokenIds().size() ||
          sample.getPolicyVersions().size() != sample.getTokenIds().size()) {
        ++wrong;
      }
    }
    std::vector<zmq::message_t> answer;
    answer.emplace_back(&wrong, sizeof(wrong));
    CHECK_OK((*socket)->SendTo(peer, &answer));
  }
}

struct RoundResult {
  double seconds;
  uint64_t wrong;
};

RoundResult RunRound(ZmqSocket& socket, Mode mode, uint64_t count, const RolloutData& data,
                     size_t raw_bytes, const std::vector<char>& raw_buffer) {
  char control[17];
  control[0] = static_cast<char>(mode);
  std::memcpy(control + 1, &count, 8);
  std::memcpy(control + 9, &data.token_sum, 8);
  std::vector<zmq::message_t> start;
  start.emplace_back(control, sizeof(control));
  SendAll(socket, std::move(start));
  SteadyClock::time_point begin = SteadyClock::now();
  for (uint64_t i = 0; i < count; ++i) {
    if (mode == Mode::kLightrl) {
      SendAll(socket, EncodeRollout(data, i + 1));
    } else {
      std::vector<zmq::message_t> frames;
      frames.emplace_back(raw_buffer.data(), raw_bytes);  // ZeroMQ copies, as a raw send does.
      SendAll(socket, std::move(frames));
    }
  }
  std::vector<zmq::message_t> answer;
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  while (true) {
    auto got = socket.Receive(&answer);
    CHECK_OK(got.status());
    if (*got) break;
    zmq::poll(&item, 1, std::chrono::milliseconds(-1));
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - begin).count();
  uint64_t wrong;
  std::memcpy(&wrong, answer[0].data(), sizeof(wrong));
  return {seconds, wrong};
}

}  // namespace
}  // namespace lightrl

int main(int argc, char** argv) {
  using namespace lightrl;
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  std::string endpoint_file = "/tmp/lightrl-bench-transport-" + std::to_string(getpid());
  pid_t child = fork();
  CHECK_GE(child, 0);
  if (child == 0) Receiver(endpoint_file);

  std::string endpoint;
  while (endpoint.empty()) {  // The child writes its bound endpoint once it listens.
    FILE* f = std::fopen(endpoint_file.c_str(), "r");
    if (f) {
      char buf[256] = {};
      if (std::fgets(buf, sizeof(buf), f)) endpoint = buf;
      std::fclose(f);
    }
    if (endpoint.empty()) usleep(1000);
  }
  std::remove(endpoint_file.c_str());

  zmq::context_t context(1);
  SocketOptions options;
  options.immediate = false;
  options.send_high_water_mark = 100;
  auto socket = ZmqSocket::Create(context, SocketKind::kDealer, options);
  CHECK_OK(socket.status());
  CHECK_OK((*socket)->Connect(endpoint));

  std::printf("lightrl-bench-transport: Rollout messages over %s, %d timed rounds (median)\n",
              endpoint.c_str(), FLAGS_repeats);
  std::printf("%-6s %-8s %10s %12s %10s %8s\n", "size", "path", "bytes/msg", "msgs/s", "MB/s",
              "wrong");
  double large_ratio = 0;
  uint64_t total_wrong = 0;
  for (size_t target : {size_t{1024}, size_t{1} << 20}) {
    RolloutData data = MakeRolloutData((target - 200) / kBytesPerToken);
    size_t bytes = FramesBytes(EncodeRollout(data, 1));
    std::vector<char> raw(bytes, 'r');
    uint64_t count = target < 4096 ? FLAGS_small_messages : FLAGS_large_messages;
    // Rounds of the two paths alternate so that drift in machine load affects both alike.
    std::vector<double> rates[2];
    uint64_t wrong[2] = {0, 0};
    for (Mode mode : {Mode::kRaw, Mode::kLightrl}) {
      RunRound(**socket, mode, count, data, bytes, raw);  // Warm-up.
    }
    for (int r = 0; r < FLAGS_repeats; ++r) {
      for (Mode mode : {Mode::kRaw, Mode::kLightrl}) {
        RoundResult result = RunRound(**socket, mode, count, data, bytes, raw);
        rates[mode == Mode::kLightrl].push_back(static_cast<double>(count) / result.seconds);
        wrong[mode == Mode::kLightrl] += result.wrong;
      }
    }
    double mbps[2];
    for (int path = 0; path < 2; ++path) {
      double msgs = Median(rates[path]);
      mbps[path] = msgs * static_cast<double>(bytes) / 1e6;
      total_wrong += wrong[path];
      std::printf("%-6s %-8s %10zu %12.0f %10.1f %8llu\n", target < 4096 ? "1KB" : "1MB",
                  path == 0 ? "raw" : "lightrl", bytes, msgs, mbps[path],
                  static_cast<unsigned long long>(wrong[path]));
    }
    double ratio = mbps[1] / mbps[0];
    std::printf("%-6s ratio lightrl/raw = %.3f\n", target < 4096 ? "1KB" : "1MB", ratio);
    if (target >= 4096) large_ratio = ratio;
  }
  char stop[17] = {};
  std::vector<zmq::message_t> frames;
  frames.emplace_back(stop, sizeof(stop));
  SendAll(**socket, std::move(frames));
  waitpid(child, nullptr, 0);
  bool pass = large_ratio >= 0.9 && total_wrong == 0;
  std::printf("transport: 1MB ratio %.3f (goal >= 0.9), wrong %llu: %s\n", large_ratio,
              static_cast<unsigned long long>(total_wrong), pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
