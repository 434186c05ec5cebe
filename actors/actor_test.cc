#include "actors/actor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

namespace lightrl {
namespace {

TEST(ActorTest, StartRunsSetupOnTheActorThreadBeforeReturning) {
  std::thread::id setup_thread;
  bool setup_done = false;
  auto actor = Actor::Start("a", [&](EventLoop&) {
    setup_thread = std::this_thread::get_id();
    setup_done = true;
    return Status::Ok();
  });
  ASSERT_TRUE(actor.ok());
  EXPECT_TRUE(setup_done);  // Start returned only after setup ran.
  EXPECT_NE(setup_thread, std::this_thread::get_id());
  std::thread::id call_thread;
  ASSERT_TRUE((*actor)->Call([&] { call_thread = std::this_thread::get_id(); }).ok());
  EXPECT_EQ(call_thread, setup_thread);
}

TEST(ActorTest, FailedSetupReturnsItsErrorAndLeavesNoThread) {
  bool teardown_ran = false;
  auto actor = Actor::Start(
      "broken", [](EventLoop&) { return UnavailableError("port taken"); },
      [&] { teardown_ran = true; });
  ASSERT_FALSE(actor.ok());
  EXPECT_EQ(actor.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(actor.status().message(), "actor broken: port taken");
  EXPECT_FALSE(teardown_ran);
}

TEST(ActorTest, StopRunsTeardownOnTheActorThreadAndIsIdempotent) {
  std::thread::id loop_thread, teardown_thread;
  auto actor = Actor::Start(
      "a",
      [&](EventLoop&) {
        loop_thread = std::this_thread::get_id();
        return Status::Ok();
      },
      [&] { teardown_thread = std::this_thread::get_id(); });
  ASSERT_TRUE(actor.ok());
  (*actor)->Stop();
  EXPECT_EQ(teardown_thread, loop_thread);
  (*actor)->Stop();
  EXPECT_EQ((*actor)->Post([] {}).code(), StatusCode::kFailedPrecondition);
}

TEST(ActorTest, PostedClosuresRunInOrder) {
  auto actor = Actor::Start("a", [](EventLoop&) { return Status::Ok(); });
  ASSERT_TRUE(actor.ok());
  std::vector<int> order;  // Touched only on the actor thread until the final Call returns.
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE((*actor)->Post([&order, i] { order.push_back(i); }).ok());
  std::vector<int> seen;
  ASSERT_TRUE((*actor)->Call([&] { seen = order; }).ok());
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

// Occupies the actor's thread until `release` is set; returns once it is occupied.
void BlockActor(Actor& actor, std::shared_future<void> released) {
  std::promise<void> blocked;
  ASSERT_TRUE(actor
                  .Post([&blocked, released] {
                    blocked.set_value();
                    released.wait();
                  })
                  .ok());
  blocked.get_future().wait();
}

TEST(ActorTest, FullMailboxRefusesPosts) {
  ActorOptions options;
  options.mailbox_capacity = 16;
  auto actor = Actor::Start(
      "a", [](EventLoop&) { return Status::Ok(); }, {}, options);
  ASSERT_TRUE(actor.ok());
  std::promise<void> release;
  BlockActor(**actor, release.get_future().share());  // Now the mailbox only fills.
  size_t accepted = 0;
  Status last;
  while ((last = (*actor)->Post([] {})).ok()) ++accepted;
  EXPECT_EQ(accepted, 16u);
  EXPECT_EQ(last.code(), StatusCode::kResourceExhausted);
  release.set_value();
}

// A producer thread that may block waits for room instead of failing, and every closure
// runs once, in the order posted.
TEST(ActorTest, PostWaitingWaitsForRoomAndLosesNothing) {
  ActorOptions options;
  options.mailbox_capacity = 4;
  auto actor = Actor::Start(
      "a", [](EventLoop&) { return Status::Ok(); }, {}, options);
  ASSERT_TRUE(actor.ok());
  std::promise<void> release;
  BlockActor(**actor, release.get_future().share());
  std::vector<int> order;  // Touched only on the actor thread until the final Call returns.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE((*actor)->Post([&order, i] { order.push_back(i); }).ok());
  }
  ASSERT_EQ((*actor)->Post([] {}).code(), StatusCode::kResourceExhausted);
  std::vector<Status> waited(20);
  std::thread producer([&] {
    for (int i = 4; i < 24; ++i) {
      waited[i - 4] = (*actor)->PostWaiting([&order, i] { order.push_back(i); });
    }
  });
  release.set_value();
  producer.join();
  for (const Status& status : waited) EXPECT_TRUE(status.ok()) << status;
  std::vector<int> seen;
  ASSERT_TRUE((*actor)->Call([&] { seen = order; }).ok());
  ASSERT_EQ(seen.size(), 24u);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(seen[i], i);
}

TEST(ActorTest, PostWaitingOnAStoppedActorFails) {
  auto actor = Actor::Start("a", [](EventLoop&) { return Status::Ok(); });
  ASSERT_TRUE(actor.ok());
  (*actor)->Stop();
  EXPECT_EQ((*actor)->PostWaiting([] {}).code(), StatusCode::kFailedPrecondition);
}

TEST(ActorTest, CallOnAStoppedActorFails) {
  auto actor = Actor::Start("a", [](EventLoop&) { return Status::Ok(); });
  ASSERT_TRUE(actor.ok());
  (*actor)->Stop();
  EXPECT_FALSE((*actor)->Call([] {}).ok());
}

TEST(EventLoopTest, TimersFireInDueOrderAndPeriodicTimersRepeat) {
  std::vector<std::string> fired;
  std::promise<void> done;
  auto actor = Actor::Start("timers", [&](EventLoop& loop) {
    loop.AddTimer(Millis(30), [&] { fired.push_back("30"); });
    loop.AddTimer(Millis(10), [&] { fired.push_back("10"); });
    EventLoop::TimerId cancelled = loop.AddTimer(Millis(20), [&] { fired.push_back("never"); });
    loop.CancelTimer(cancelled);
    auto ticks = std::make_shared<int>(0);
    loop.AddPeriodicTimer(Millis(5), [&, ticks] {
      if (++*ticks == 10) {
        fired.push_back("tick10");
        done.set_value();
      }
    });
    return Status::Ok();
  });
  ASSERT_TRUE(actor.ok());
  done.get_future().wait();
  std::vector<std::string> seen;
  ASSERT_TRUE((*actor)->Call([&] { seen = fired; }).ok());
  EXPECT_THAT(seen, ::testing::ElementsAre("10", "30", "tick10"));
}

TEST(EventLoopTest, OneShotTimerFiresNoEarlierThanItsDelay) {
  std::promise<Clock::time_point> fired;
  Clock::time_point start = Clock::now();
  auto actor = Actor::Start("t", [&](EventLoop& loop) {
    loop.AddTimer(Millis(50), [&] { fired.set_value(Clock::now()); });
    return Status::Ok();
  });
  ASSERT_TRUE(actor.ok());
  Clock::time_point at = fired.get_future().get();
  EXPECT_GE(at - start, Millis(50));
}

// On a manual clock, timers fire only when the clock is advanced past their due time, and
// have fired by the time a call posted after the advance returns.
TEST(EventLoopTest, TimersOnAManualClockFireOnlyWhenItIsAdvanced) {
  ManualClock clock;
  ActorOptions options;
  options.time = &clock;
  std::vector<std::string> fired;  // Touched only on the actor thread.
  auto actor = Actor::Start(
      "manual",
      [&](EventLoop& loop) {
        loop.AddTimer(Millis(100), [&] { fired.push_back("once"); });
        loop.AddPeriodicTimer(Millis(30), [&] { fired.push_back("tick"); });
        return Status::Ok();
      },
      {}, options);
  ASSERT_TRUE(actor.ok());
  auto seen = [&] {
    std::vector<std::string> copy;
    EXPECT_TRUE((*actor)->Call([&] { copy = fired; }).ok());
    return copy;
  };
  EXPECT_TRUE(seen().empty());
  clock.Advance(Millis(29));
  EXPECT_TRUE(seen().empty());
  clock.Advance(Millis(1));
  EXPECT_THAT(seen(), ::testing::ElementsAre("tick"));
  clock.Advance(Millis(60));
  EXPECT_THAT(seen(), ::testing::ElementsAre("tick", "tick", "tick"));
  clock.Advance(Millis(10));
  EXPECT_THAT(seen(), ::testing::ElementsAre("tick", "tick", "tick", "once"));
}

}  // namespace
}  // namespace lightrl
