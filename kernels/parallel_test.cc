#include "kernels/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace lightrl::kernels {
namespace {

constexpr int64_t kBig = kMinParallelWork;  // work per item that always uses the pool

class ParallelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = NumThreads();
    SetNumThreads(3);
  }
  void TearDown() override { SetNumThreads(saved_); }
  int saved_ = 1;
};

TEST_F(ParallelTest, ForCoversEveryIndexOnceInContiguousChunksByThread) {
  EXPECT_EQ(NumThreads(), 3);
  std::vector<int> visits(10, 0), owner(10, -1);
  ParallelFor(10, kBig, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      ++visits[i];
      owner[i] = ThreadIndex();
    }
  });
  EXPECT_EQ(visits, std::vector<int>(10, 1));
  // ceil(10 / 3) = 4: thread t owns [4t, 4t + 4).
  EXPECT_EQ(owner, (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2}));
}

TEST_F(ParallelTest, ForEachHandsOutEveryIndexOnce) {
  std::vector<std::atomic<int>> visits(57);
  ParallelForEach(57, kBig, [&](int64_t i) { visits[i].fetch_add(1); });
  for (const auto& v : visits) EXPECT_EQ(v.load(), 1);
}

TEST_F(ParallelTest, SmallLoopsAndNestedLoopsRunInline) {
  int calls = 0;  // no atomics needed: everything below runs on this thread
  ParallelFor(100, 1, [&](int64_t begin, int64_t end) {
    EXPECT_EQ(begin, 0);
    EXPECT_EQ(end, 100);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
  std::vector<int> inner_threads(3, -1);
  ParallelForIndex(3, kBig, [&](int64_t i) {
    int seen = -1;
    ParallelFor(4, kBig, [&](int64_t, int64_t) { seen = ThreadIndex(); });
    inner_threads[i] = seen == ThreadIndex() ? 1 : 0;
  });
  EXPECT_EQ(inner_threads, (std::vector<int>{1, 1, 1}));
}

TEST_F(ParallelTest, CallersOnSeveralThreadsTakeTurns) {
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        ParallelFor(64, kBig, [&](int64_t begin, int64_t end) { total.fetch_add(end - begin); });
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(total.load(), 4 * 50 * 64);
}

TEST_F(ParallelTest, SingleThreadPool) {
  SetNumThreads(1);
  int calls = 0;
  ParallelFor(1000, kBig, [&](int64_t begin, int64_t end) {
    EXPECT_EQ(end - begin, 1000);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace lightrl::kernels
