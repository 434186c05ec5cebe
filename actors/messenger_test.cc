#include "actors/messenger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>
#include <random>

#include "actors/actor.h"
#include "actors/testdata/future.capnp.h"
#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using ::testing::HasSubstr;

std::string EndpointFor(const std::string& transport) {
  static std::atomic<int> counter{0};
  int n = counter++;
  if (transport == "inproc") return "inproc://messenger-test-" + std::to_string(n);
  if (transport == "ipc") return "ipc://" + testing::MakeTempDir("ipc") + "/sock";
  return "tcp://127.0.0.1:*";
}

// A server (ROUTER) and a client (DEALER), each on its own actor, over one transport.
class MessengerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void StartServer(const std::function<void(Messenger&)>& install) {
    auto actor = Actor::Start(
        "server",
        [&](EventLoop& loop) -> Status {
          ASSIGN_OR_RETURN(auto socket,
                           ZmqSocket::Create(context_, SocketKind::kRouter, SocketOptions()));
          ASSIGN_OR_RETURN(endpoint_, socket->Bind(EndpointFor(GetParam())));
          server_ = std::make_unique<Messenger>(
              &loop, std::move(socket), MessengerConfig{.name = "server", .sender_id = "server"},
              &metrics_);
          install(*server_);
          return Status::Ok();
        },
        [this] { server_.reset(); });
    ASSERT_TRUE(actor.ok()) << actor.status();
    server_actor_ = std::move(*actor);
  }

  void StartClient() {
    SocketOptions options;
    options.routing_id = "client-1";
    options.immediate = false;  // Queue until connected, so the first request is not refused.
    auto actor = Actor::Start(
        "client",
        [&](EventLoop& loop) -> Status {
          ASSIGN_OR_RETURN(auto socket, ZmqSocket::Create(context_, SocketKind::kDealer, options));
          RETURN_IF_ERROR(socket->Connect(endpoint_));
          client_ = std::make_unique<Messenger>(
              &loop, std::move(socket), MessengerConfig{.name = "client", .sender_id = "client-1"},
              nullptr);
          return Status::Ok();
        },
        [this] { client_.reset(); });
    ASSERT_TRUE(actor.ok()) << actor.status();
    client_actor_ = std::move(*actor);
  }

  // Sends a request from the client and waits for the outcome.
  StatusOr<std::string> ClientRequest(const std::function<OutgoingMessage()>& make,
                                      Millis timeout = Millis(5000)) {
    std::promise<StatusOr<std::string>> outcome;
    EXPECT_TRUE(client_actor_
                    ->Post([&] {
                      client_->Request("", make(), timeout,
                                       [&](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                                         if (!reply.ok()) {
                                           outcome.set_value(reply.status());
                                           return;
                                         }
                                         outcome.set_value(std::string(
                                             (*reply)->envelope().toString().flatten().cStr()));
                                       });
                    })
                    .ok());
    return outcome.get_future().get();
  }

  static OutgoingMessage EchoOf(const std::string& text) {
    OutgoingMessage message;
    message.envelope().getBody().initEcho().setPayload(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
    return message;
  }

  // Sends raw frames from a plain dealer socket and returns the decoded reply.
  StatusOr<std::string> RawExchange(std::vector<zmq::message_t> frames) {
    SocketOptions options;
    options.routing_id = "raw-peer";
    options.immediate = false;  // Queue until connected: no retry loop needed.
    auto socket = ZmqSocket::Create(context_, SocketKind::kDealer, options);
    EXPECT_TRUE(socket.ok());
    EXPECT_TRUE((*socket)->Connect(endpoint_).ok());
    EXPECT_TRUE((*socket)->Send(&frames).ok());
    zmq::pollitem_t item{(*socket)->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(5000)) <= 0) {
      return DeadlineExceededError("no reply");
    }
    std::vector<zmq::message_t> reply;
    EXPECT_TRUE((*socket)->Receive(&reply).ok());
    DecodeError error;
    ASSIGN_OR_RETURN(auto decoded,
                     IncomingMessage::Decode(std::move(reply), CodecLimits(), &error));
    return std::string(decoded->envelope().toString().flatten().cStr());
  }

  void TearDown() override {
    client_actor_.reset();
    server_actor_.reset();
  }

  zmq::context_t context_{1};
  MetricsRegistry metrics_;
  std::string endpoint_;
  std::unique_ptr<Messenger> server_, client_;
  std::unique_ptr<Actor> server_actor_, client_actor_;
};

void InstallEchoServer(Messenger& server) {
  server.Handle(BodyKind::ECHO, [&server](const IncomingMessage& m) {
    OutgoingMessage reply;
    reply.envelope().getBody().initEcho().setPayload(m.envelope().getBody().getEcho().getPayload());
    EXPECT_EQ(m.peer(), "client-1");
    server.Reply(m, std::move(reply)).status().IgnoreError();
  });
  server.Handle(BodyKind::REGISTER, [](const IncomingMessage& m) {
    // Reading the hostname throws if its Text is malformed; the messenger must catch it.
    (void)m.envelope().getBody().getRegister().getHostname();
  });
}

TEST_P(MessengerTest, RequestGetsItsReply) {
  StartServer(InstallEchoServer);
  StartClient();
  auto reply = ClientRequest([] { return EchoOf("hello over the wire"); });
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(*reply, HasSubstr("echo = (payload = \"hello over the wire\")"));
  EXPECT_THAT(*reply, HasSubstr("senderId = \"server\""));
  EXPECT_THAT(*reply, HasSubstr("correlationId = 1,"));  // The client's first message id.
}

TEST_P(MessengerTest, ManyConcurrentRequestsEachGetTheirOwnReply) {
  StartServer(InstallEchoServer);
  StartClient();
  ASSERT_TRUE(ClientRequest([] { return EchoOf("warm-up"); }).ok());
  constexpr int kRequests = 200;
  std::vector<std::promise<std::string>> replies(kRequests);
  ASSERT_TRUE(client_actor_
                  ->Call([&] {
                    for (int i = 0; i < kRequests; ++i) {
                      client_->Request(
                          "", EchoOf("request " + std::to_string(i)), Millis(10000),
                          [&replies, i](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                            if (!reply.ok()) {
                              replies[i].set_value(reply.status().ToString());
                              return;
                            }
                            auto payload = (*reply)->envelope().getBody().getEcho().getPayload();
                            replies[i].set_value(std::string(
                                reinterpret_cast<const char*>(payload.begin()), payload.size()));
                          });
                    }
                  })
                  .ok());
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(replies[i].get_future().get(), "request " + std::to_string(i));
  }
}

TEST_P(MessengerTest, UnansweredRequestTimesOut) {
  StartServer([](Messenger& server) {
    server.Handle(BodyKind::ECHO, [](const IncomingMessage&) {});  // Never answers.
  });
  StartClient();
  Clock::time_point start = Clock::now();
  auto reply = ClientRequest([] { return EchoOf("anyone?"); }, Millis(150));
  EXPECT_EQ(reply.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(Clock::now() - start, Millis(150));
}

TEST_P(MessengerTest, KnownKindWithoutHandlerGetsUnimplemented) {
  StartServer([](Messenger&) {});
  StartClient();
  auto reply = ClientRequest([] {
    OutgoingMessage message;
    message.envelope().getBody().initWorkRequest().setCredits(1);
    return message;
  });
  EXPECT_EQ(reply.status().code(), StatusCode::kUnimplemented);
}

TEST_P(MessengerTest, KindFromANewerPeerGetsUnimplementedEcho) {
  StartServer(InstallEchoServer);
  capnp::MallocMessageBuilder builder;
  auto envelope = builder.initRoot<future::Envelope>();
  envelope.setProtocolVersion(proto::PROTOCOL_VERSION);
  envelope.setSenderId("raw-peer");
  envelope.setMessageId(77);
  envelope.getBody().setFromTheFuture("a kind this build does not know");
  std::vector<zmq::message_t> frames;
  for (auto segment : builder.getSegmentsForOutput()) {
    frames.emplace_back(segment.asBytes().begin(), segment.asBytes().size());
  }
  auto reply = RawExchange(std::move(frames));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(*reply, HasSubstr("unimplemented = (unknownKind = 18)"));
  EXPECT_THAT(*reply, HasSubstr("correlationId = 77"));
  EXPECT_THAT(metrics_.Render(),
              HasSubstr("lightrl_messages_received_total{socket=\"server\",kind=\"unknown\"} 1"));
}

TEST_P(MessengerTest, GarbageFrameGetsErrorReplyAndServerKeepsServing) {
  StartServer(InstallEchoServer);
  std::mt19937 rng(3);
  std::string garbage(64, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  std::vector<zmq::message_t> frames;
  frames.emplace_back(garbage.data(), garbage.size());
  auto reply = RawExchange(std::move(frames));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(*reply, HasSubstr("error = (retryClass = failed, message = \"garbage message"));
  EXPECT_THAT(*reply, HasSubstr("correlationId = 0"));
  EXPECT_THAT(metrics_.Render(),
              HasSubstr("lightrl_decode_errors_total{socket=\"server\",reason=\"garbage\"} 1"));
  // Truncated frames are counted under their own reason.
  std::vector<zmq::message_t> truncated;
  truncated.emplace_back(garbage.data(), 13);
  ASSERT_TRUE(RawExchange(std::move(truncated)).ok());
  EXPECT_THAT(metrics_.Render(),
              HasSubstr("lightrl_decode_errors_total{socket=\"server\",reason=\"truncated\"} 1"));
  StartClient();
  EXPECT_TRUE(ClientRequest([] { return EchoOf("still alive"); }).ok());
}

TEST_P(MessengerTest, OtherProtocolVersionGetsErrorReply) {
  StartServer(InstallEchoServer);
  OutgoingMessage message = EchoOf("from the past");
  message.envelope().setProtocolVersion(proto::PROTOCOL_VERSION + 7);
  auto reply = RawExchange(message.TakeFrames());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(*reply, HasSubstr("protocol version 8 is not supported"));
}

TEST_P(MessengerTest, MalformedFieldInsideAHandlerGetsErrorReply) {
  StartServer(InstallEchoServer);
  OutgoingMessage message;
  message.envelope().setProtocolVersion(proto::PROTOCOL_VERSION);
  message.envelope().setMessageId(5);
  message.envelope().getBody().initRegister().setHostname("host-abc");
  std::vector<zmq::message_t> frames = message.TakeFrames();
  ASSERT_EQ(frames.size(), 1u);
  // Overwrite the Text's NUL terminator: valid structure, invalid Text.
  std::string bytes(static_cast<const char*>(frames[0].data()), frames[0].size());
  size_t at = bytes.find(std::string("host-abc\0", 9));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 8] = 'X';
  std::vector<zmq::message_t> corrupt;
  corrupt.emplace_back(bytes.data(), bytes.size());
  auto reply = RawExchange(std::move(corrupt));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(*reply, HasSubstr("malformed register message"));
  EXPECT_THAT(*reply, HasSubstr("correlationId = 5"));
  EXPECT_THAT(metrics_.Render(),
              HasSubstr("lightrl_handler_errors_total{socket=\"server\",kind=\"register\"} 1"));
}

TEST_P(MessengerTest, AdmissionRefusalCarriesTheRetryClass) {
  StartServer([](Messenger& server) {
    InstallEchoServer(server);
    server.SetAdmission([](const IncomingMessage&) { return UnavailableError("register first"); });
  });
  StartClient();
  auto reply = ClientRequest([] { return EchoOf("let me in"); });
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(reply.status().message(), "register first");
}

INSTANTIATE_TEST_SUITE_P(Transports, MessengerTest, ::testing::Values("inproc", "ipc", "tcp"),
                         [](const auto& info) { return info.param; });

TEST(RetryClassTest, MapsBothWays) {
  for (StatusCode code :
       {StatusCode::kResourceExhausted, StatusCode::kUnavailable, StatusCode::kUnimplemented}) {
    capnp::MallocMessageBuilder builder;
    auto error = builder.initRoot<proto::Error>();
    error.setRetryClass(RetryClassFor(Status(code, "x")));
    error.setMessage("x");
    EXPECT_EQ(StatusFromError(error).code(), code);
  }
  EXPECT_EQ(RetryClassFor(InternalError("x")), proto::RetryClass::FAILED);
}

}  // namespace
}  // namespace lightrl
