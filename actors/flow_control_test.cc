#include "actors/flow_control.h"

#include <gtest/gtest.h>

#include <future>

#include "actors/actor.h"
#include "actors/handoff_queue.h"
#include "actors/liveness.h"

namespace lightrl {
namespace {

TEST(CreditLedgerTest, CreditsAreConsumedOneByOne) {
  CreditLedger ledger;
  EXPECT_FALSE(ledger.TryTake("a"));
  ledger.Grant("a", 2);
  EXPECT_TRUE(ledger.TryTake("a"));
  EXPECT_TRUE(ledger.TryTake("a"));
  EXPECT_FALSE(ledger.TryTake("a"));
  EXPECT_EQ(ledger.total(), 0u);
}

TEST(CreditLedgerTest, GrantsAreCappedAtMaxOutstanding) {
  CreditLedger ledger;
  ledger.set_max_outstanding(4);
  ledger.Grant("a", 3);
  ledger.Grant("a", 3);
  EXPECT_EQ(ledger.Available("a"), 4u);
}

TEST(CreditLedgerTest, PickPrefersMostCreditsAndRotatesAmongEquals) {
  CreditLedger ledger;
  ledger.Grant("a", 1);
  ledger.Grant("b", 3);
  EXPECT_EQ(ledger.PickPeer(), "b");
  ledger.Grant("a", 2);  // a: 3, b: 3 — equal; picks alternate.
  std::string first = *ledger.PickPeer();
  std::string second = *ledger.PickPeer();
  EXPECT_NE(first, second);
  ledger.Forget("a");
  ledger.Forget("b");
  EXPECT_FALSE(ledger.PickPeer().has_value());
}

TEST(BoundedQueueTest, RefusesBeyondCapacityAndKeepsOrder) {
  BoundedQueue<int> queue(3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(queue.Push(i).ok());
  EXPECT_EQ(queue.Push(3).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.Pop(), 0);
  queue.PushFront(0);  // A failed send puts the item back first.
  EXPECT_EQ(queue.Pop(), 0);
  EXPECT_EQ(queue.Pop(), 1);
  EXPECT_EQ(queue.Pop(), 2);
  EXPECT_FALSE(queue.Pop().has_value());
  EXPECT_EQ(queue.high_water(), 3u);
}

TEST(PeerLivenessTest, SilentPeerIsDeclaredDeadWithinTheBound) {
  constexpr Millis kDeadAfter(100);
  std::promise<std::pair<std::string, Clock::time_point>> dead;
  std::unique_ptr<PeerLiveness> liveness;
  Clock::time_point last_touch;
  auto actor = Actor::Start(
      "liveness",
      [&](EventLoop& loop) {
        liveness = std::make_unique<PeerLiveness>(&loop, kDeadAfter, [&](const std::string& peer) {
          dead.set_value({peer, Clock::now()});
        });
        // "chatty" keeps talking every 20 ms; "quiet" says one word.
        loop.AddPeriodicTimer(Millis(20), [&] { liveness->Touch("chatty"); });
        liveness->Touch("chatty");
        liveness->Touch("quiet");
        last_touch = Clock::now();
        return Status::Ok();
      },
      [&] { liveness.reset(); });
  ASSERT_TRUE(actor.ok());
  auto [peer, when] = dead.get_future().get();
  EXPECT_EQ(peer, "quiet");
  EXPECT_GE(when - last_touch, kDeadAfter);
  EXPECT_LE(when - last_touch, kDeadAfter + kDeadAfter / 8 + Millis(50));
  bool chatty_tracked = false, quiet_tracked = true;
  ASSERT_TRUE((*actor)
                  ->Call([&] {
                    chatty_tracked = liveness->Tracks("chatty");
                    quiet_tracked = liveness->Tracks("quiet");
                  })
                  .ok());
  EXPECT_TRUE(chatty_tracked);
  EXPECT_FALSE(quiet_tracked);
}

TEST(HandoffQueueTest, PushNeverBlocksAndClosedQueueDrainsInOrder) {
  HandoffQueue<int> queue(2);
  EXPECT_TRUE(queue.TryPush(1).ok());
  EXPECT_TRUE(queue.TryPush(2).ok());
  EXPECT_EQ(queue.TryPush(3).code(), StatusCode::kResourceExhausted);
  queue.Close();
  EXPECT_EQ(queue.TryPush(4).code(), StatusCode::kCancelled);
  EXPECT_EQ(queue.Pop(), 1);
  EXPECT_EQ(queue.Pop(), 2);
  EXPECT_FALSE(queue.Pop().has_value());
}

TEST(HandoffQueueTest, PopWaitsForAPushFromAnotherThread) {
  HandoffQueue<int> queue(1);
  std::promise<std::optional<int>> popped;
  std::thread consumer([&] { popped.set_value(queue.Pop()); });
  ASSERT_TRUE(queue.TryPush(5).ok());
  EXPECT_EQ(popped.get_future().get(), 5);
  consumer.join();
}

}  // namespace
}  // namespace lightrl
