// The worker skeleton against a stand-in coordinator over inproc://, both on a ManualClock:
// the credit window (grants, re-registration, the role's gate, slots freed by every way a
// request ends), error replies, refusals beyond credits, and replies from compute threads
// through a full or stopped mailbox.
#include "actors/worker_node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace lightrl {
namespace {

using std::chrono::milliseconds;

constexpr char kEndpoint[] = "inproc://worker-node-test";
constexpr char kWorker[] = "echo-0";
constexpr Millis kHeartbeat(100);

// Runs a function when it goes out of scope.
class OnExit {
 public:
  explicit OnExit(std::function<void()> fn) : fn_(std::move(fn)) {}
  ~OnExit() { fn_(); }

 private:
  std::function<void()> fn_;
};

// A coordinator stand-in on its own actor: answers Register, counts credits and heartbeats,
// and sends Echo requests (against credits, or not), recording how each was answered.
class FakeCoordinator {
 public:
  FakeCoordinator(zmq::context_t& context, const TimeSource& time) {
    ActorOptions options;
    options.time = &time;
    auto actor = Actor::Start(
        "fake-coordinator",
        [this, &context](EventLoop& loop) -> Status {
          ASSIGN_OR_RETURN(auto socket,
                           ZmqSocket::Create(context, SocketKind::kRouter, SocketOptions()));
          RETURN_IF_ERROR(socket->Bind(kEndpoint).status());
          messenger_ = std::make_unique<Messenger>(
              &loop, std::move(socket),
              MessengerConfig{.name = "coordinator", .sender_id = "coordinator"}, nullptr);
          messenger_->Handle(BodyKind::REGISTER, [this](const IncomingMessage& m) {
            OutgoingMessage reply;
            auto registered = reply.envelope().getBody().initRegistered();
            registered.setHeartbeatIntervalMillis(kHeartbeat.count());
            registered.setDeadAfterMillis(1000000);
            CHECK_OK(messenger_->Reply(m, std::move(reply)).status());
            Update([this] { ++registrations_; });
          });
          messenger_->Handle(BodyKind::WORK_REQUEST, [this](const IncomingMessage& m) {
            uint32_t credits = m.envelope().getBody().getWorkRequest().getCredits();
            Update([&] { granted_ += credits; });
            available_ += credits;
            SendQueued();
          });
          messenger_->Handle(BodyKind::HEARTBEAT,
                             [this](const IncomingMessage&) { Update([this] { ++heartbeats_; }); });
          return Status::Ok();
        },
        [this] { messenger_.reset(); }, options);
    CHECK_OK(actor.status());
    actor_ = std::move(*actor);
  }

  // Sends `count` requests ("echo <n>", or `payload`), each against a credit (as a
  // coordinator should) or at once.
  void SendEchoes(int count, bool against_credits = true, const std::string& payload = "") {
    CHECK_OK(actor_->Call([&] {
      for (int i = 0; i < count; ++i) {
        queued_.push_back(payload.empty() ? "echo " + std::to_string(next_++) : payload);
      }
      if (!against_credits) {
        while (!queued_.empty()) SendNext();
        return;
      }
      SendQueued();
    }));
  }

  // Tells the worker it is unknown here, as a restarted coordinator does: it registers again.
  void Forget() {
    CHECK_OK(actor_->Call([&] {
      OutgoingMessage message;
      auto error = message.envelope().getBody().initError();
      error.setRetryClass(proto::RetryClass::DISCONNECTED);
      error.setMessage("who are you?");
      CHECK_OK(messenger_->Send(kWorker, std::move(message)).status());
    }));
  }

  // Waits until `condition` (run under the lock) holds; false after a generous deadline.
  bool WaitUntil(const std::function<bool()>& condition) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(30), condition);
  }

  // Read under the lock, from WaitUntil's condition or after it.
  int registrations_ = 0;
  int heartbeats_ = 0;
  uint32_t granted_ = 0;
  std::vector<std::string> replies_;  // Echo payloads.
  std::vector<Status> errors_;        // Error replies, as statuses.

 private:
  void Update(const std::function<void()>& change) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      change();
    }
    changed_.notify_all();
  }

  void SendQueued() {
    while (!queued_.empty() && available_ > 0) {
      --available_;
      SendNext();
    }
  }

  void SendNext() {
    const std::string payload = std::move(queued_.front());
    queued_.pop_front();
    OutgoingMessage message;
    message.envelope().getBody().initEcho().setPayload(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(payload.data()), payload.size()));
    messenger_->Request(kWorker, std::move(message), Millis(1000000),
                        [this](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                          Update([&] {
                            if (!reply.ok()) {
                              errors_.push_back(reply.status());
                              return;
                            }
                            auto p = (*reply)->envelope().getBody().getEcho().getPayload();
                            replies_.emplace_back(reinterpret_cast<const char*>(p.begin()),
                                                  p.size());
                          });
                        });
  }

  std::mutex mu_;
  std::condition_variable changed_;
  // Actor thread only.
  uint32_t available_ = 0;
  std::deque<std::string> queued_;
  int next_ = 0;
  std::unique_ptr<Messenger> messenger_;
  std::unique_ptr<Actor> actor_;
};

class WorkerNodeTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (node_) node_->Stop();
    for (std::thread& t : threads_) t.join();
    node_.reset();
    coordinator_.reset();
  }

  // Starts a node of `capacity` slots that serves Echo requests (payload "bad" is malformed).
  void StartNode(uint32_t capacity, size_t mailbox_capacity = 4096) {
    coordinator_ = std::make_unique<FakeCoordinator>(context_, clock_);
    WorkerNodeOptions options;
    options.identity = {kWorker, proto::Role::ECHO, capacity, 0};
    options.cluster.coordinator_endpoint = kEndpoint;
    options.cluster.dead_after_ms = 1000000;
    options.actor.mailbox_capacity = mailbox_capacity;
    options.actor.time = &clock_;
    options.can_take_work = [this] { return can_take_work_.load(); };
    auto node = WorkerNode<std::string>::Start(
        context_, options, &metrics_, [this](WorkerNode<std::string>& node, EventLoop&) {
          node.OnRegistered([this] {
            std::lock_guard<std::mutex> lock(mu_);
            ++registrations_;
            registered_.notify_all();
          });
          node.Serve(BodyKind::ECHO, [](const IncomingMessage& m) -> StatusOr<std::string> {
            auto p = m.envelope().getBody().getEcho().getPayload();
            std::string payload(reinterpret_cast<const char*>(p.begin()), p.size());
            if (payload == "bad") return InvalidArgumentError("a bad payload");
            return payload;
          });
          return Status::Ok();
        });
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
    ASSERT_TRUE(WaitRegistered(1));
  }

  // Waits until the node has handled its `count`th registration.
  bool WaitRegistered(int count) {
    std::unique_lock<std::mutex> lock(mu_);
    return registered_.wait_for(lock, std::chrono::seconds(30),
                                [&] { return registrations_ >= count; });
  }

  // Returns once the worker has sent everything it was going to send so far: a heartbeat
  // (due after a clock advance) follows it on the same socket.
  void Flush() {
    int seen = 0;
    coordinator_->WaitUntil([&] {
      seen = coordinator_->heartbeats_;
      return true;
    });
    clock_.Advance(kHeartbeat);
    std::promise<void> ran;
    node_->RunOnActor([&] { ran.set_value(); });  // The due heartbeat runs before it.
    ran.get_future().wait();
    ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->heartbeats_ > seen; }));
  }

  uint32_t Granted() {
    uint32_t granted = 0;
    coordinator_->WaitUntil([&] {
      granted = coordinator_->granted_;
      return true;
    });
    return granted;
  }

  // A compute thread: answers each job with its payload.
  void StartEchoThread() {
    threads_.emplace_back([this] {
      while (std::optional<Work<std::string>> work = node_->jobs().Pop()) {
        node_->Reply(work->request, EchoReply(work->job));
      }
    });
  }

  static OutgoingMessage EchoReply(const std::string& payload) {
    OutgoingMessage reply;
    reply.envelope().getBody().initEcho().setPayload(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(payload.data()), payload.size()));
    return reply;
  }

  double Metric(const std::string& name) {
    const std::string text = metrics_.Render();
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
  }

  zmq::context_t context_{1};
  ManualClock clock_;
  MetricsRegistry metrics_;
  std::atomic<bool> can_take_work_{true};
  std::mutex mu_;
  std::condition_variable registered_;
  int registrations_ = 0;  // Guarded by mu_.
  std::unique_ptr<FakeCoordinator> coordinator_;
  std::unique_ptr<WorkerNode<std::string>> node_;
  std::vector<std::thread> threads_;
};

TEST_F(WorkerNodeTest, GrantsItsFreeSlotsAndAgainForEveryAnsweredRequest) {
  StartNode(3);
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->granted_ == 3; }));
  StartEchoThread();
  coordinator_->SendEchoes(10);
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->replies_.size() == 10; }));
  Flush();
  EXPECT_EQ(Granted(), 13u);  // The first 3, then one per answer.
  EXPECT_EQ(coordinator_->replies_[9], "echo 9");
  EXPECT_LE(node_->in_flight_high_water(), 3u);
  EXPECT_EQ(node_->unsolicited(), 0u);
}

TEST_F(WorkerNodeTest, ARequestBeyondTheCreditsIsRefusedAsOverloadedAndCounted) {
  StartNode(2);
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->granted_ == 2; }));
  coordinator_->SendEchoes(3, /*against_credits=*/false);  // No compute thread: both held.
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->errors_.size() == 1; }));
  EXPECT_EQ(coordinator_->errors_[0].code(), StatusCode::kResourceExhausted)
      << coordinator_->errors_[0];
  EXPECT_EQ(node_->unsolicited(), 1u);
  EXPECT_EQ(Metric("lightrl_echo_in_flight"), 2);
  Flush();
  EXPECT_EQ(Granted(), 2u);  // The refusal took no slot and freed none.
  StartEchoThread();
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->replies_.size() == 2; }));
  Flush();
  EXPECT_EQ(Granted(), 4u);
}

TEST_F(WorkerNodeTest, ErrorRepliesAndRefusalsFreeTheirSlots) {
  StartNode(2);
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->granted_ == 2; }));
  coordinator_->SendEchoes(1, /*against_credits=*/false);  // "echo 0": taken, held.
  threads_.emplace_back([this] {
    std::optional<Work<std::string>> work = node_->jobs().Pop();
    ASSERT_TRUE(work.has_value());
    node_->ReplyError(work->request, proto::RetryClass::FAILED, "cannot do " + work->job);
  });
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->errors_.size() == 1; }));
  EXPECT_EQ(coordinator_->errors_[0].code(), StatusCode::kAborted);  // Error(failed).
  EXPECT_THAT(std::string(coordinator_->errors_[0].message()), ::testing::HasSubstr("echo 0"));
  Flush();
  EXPECT_EQ(Granted(), 3u);

  // A malformed request is refused at once, with the decoder's reason and retry class.
  coordinator_->SendEchoes(1, /*against_credits=*/true, "bad");
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->errors_.size() == 2; }));
  EXPECT_EQ(coordinator_->errors_[1].code(), StatusCode::kAborted);
  EXPECT_THAT(std::string(coordinator_->errors_[1].message()),
              ::testing::HasSubstr("a bad payload"));
  EXPECT_EQ(Metric("lightrl_echo_refused_total"), 1);
  Flush();
  EXPECT_EQ(Granted(), 4u);
  EXPECT_EQ(Metric("lightrl_echo_in_flight"), 0);
}

TEST_F(WorkerNodeTest, AReRegistrationForgetsUnusedGrantsAndKeepsHeldSlots) {
  StartNode(4);
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->granted_ == 4; }));
  coordinator_->SendEchoes(1);  // Held: no compute thread yet.
  coordinator_->Forget();
  ASSERT_TRUE(WaitRegistered(2));
  Flush();
  // The new registration gets the 3 slots not held (the old one's 3 unused grants are gone).
  EXPECT_EQ(Granted(), 7u);
  StartEchoThread();
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->replies_.size() == 1; }));
  Flush();
  EXPECT_EQ(Granted(), 8u);
}

TEST_F(WorkerNodeTest, GrantsOnlyWhileTheRoleCanTakeWork) {
  can_take_work_ = false;
  StartNode(3);
  Flush();
  EXPECT_EQ(Granted(), 0u);
  can_take_work_ = true;
  node_->RunOnActor([this] { node_->GrantFreeSlots(); });
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->granted_ == 3; }));
}

TEST_F(WorkerNodeTest, ARequestArrivingWhileStoppingIsRefusedAsUnavailable) {
  StartNode(2);
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->granted_ == 2; }));
  node_->CloseQueue();
  coordinator_->SendEchoes(1);
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->errors_.size() == 1; }));
  EXPECT_EQ(coordinator_->errors_[0].code(), StatusCode::kUnavailable);
  Flush();
  EXPECT_EQ(Granted(), 2u);  // A closed queue takes no more work.
}

// Compute threads answer faster than the actor drains a mailbox of one closure: they wait for
// room (never fail, never crash the process), and every reply arrives.
TEST_F(WorkerNodeTest, RepliesWaitForRoomInAFullMailboxAndEveryOneArrives) {
  constexpr int kSlots = 8;
  StartNode(kSlots, /*mailbox_capacity=*/1);
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->granted_ == kSlots; }));
  // Phase 1, deterministic: the actor is busy while every job is answered at once.
  std::mutex mu;
  std::condition_variable cv;
  int popped = 0, returned = 0;
  bool open = false;
  std::promise<void> busy, release;
  // Whatever fails below, the threads and the actor are let go before the test ends.
  OnExit let_go([&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
    try {
      release.set_value();
    } catch (const std::future_error&) {  // Already released.
    }
  });
  for (int t = 0; t < kSlots; ++t) {
    threads_.emplace_back([&] {
      std::optional<Work<std::string>> work = node_->jobs().Pop();
      ASSERT_TRUE(work.has_value());
      std::unique_lock<std::mutex> lock(mu);
      ++popped;
      cv.notify_all();
      cv.wait(lock, [&] { return open; });
      lock.unlock();
      node_->Reply(work->request, EchoReply(work->job));
      lock.lock();
      ++returned;
      cv.notify_all();
    });
  }
  coordinator_->SendEchoes(kSlots);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return popped == kSlots; }));
  }
  node_->RunOnActor([&] {
    busy.set_value();
    release.get_future().wait();
  });
  busy.get_future().wait();
  {
    std::unique_lock<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
    // One reply fills the mailbox; the others wait for room while the actor is busy.
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return returned >= 1; }));
    EXPECT_EQ(returned, 1);
  }
  release.set_value();
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->replies_.size() == kSlots; }));
  for (std::thread& t : threads_) t.join();
  threads_.clear();

  // Phase 2, a stream: four threads answer 400 requests as fast as they pop them.
  for (int t = 0; t < 4; ++t) StartEchoThread();
  coordinator_->SendEchoes(400);
  ASSERT_TRUE(
      coordinator_->WaitUntil([&] { return coordinator_->replies_.size() == kSlots + 400; }));
  EXPECT_TRUE(coordinator_->errors_.empty());
  EXPECT_EQ(Metric("lightrl_echo_actor_posts_dropped_total"), 0);
}

TEST_F(WorkerNodeTest, AReplyAfterStopIsDroppedAndCounted) {
  StartNode(1);
  ASSERT_TRUE(coordinator_->WaitUntil([&] { return coordinator_->granted_ == 1; }));
  coordinator_->SendEchoes(1);
  std::optional<Work<std::string>> work = node_->jobs().Pop();
  ASSERT_TRUE(work.has_value());
  node_->Stop();
  node_->Reply(work->request, EchoReply(work->job));  // Returns at once, the process lives on.
  EXPECT_EQ(Metric("lightrl_echo_actor_posts_dropped_total"), 1);
  EXPECT_FALSE(node_->jobs().Pop().has_value());
}

}  // namespace
}  // namespace lightrl
