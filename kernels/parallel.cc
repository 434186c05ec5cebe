#include "kernels/parallel.h"

#include <immintrin.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/logging.h"

namespace lightrl::kernels {
namespace internal {
namespace {

// About 20-60 µs of pause instructions before a waiting thread sleeps.
constexpr int kSpinIterations = 1 << 12;

thread_local int t_thread_index = 0;
thread_local bool t_inside_pool = false;

// Waits until `value` differs from `old`: spins, then sleeps on the atomic (a futex).
template <typename A, typename V>
V AwaitChange(const A& value, V old) {
  for (int i = 0; i < kSpinIterations; ++i) {
    const V now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    _mm_pause();
  }
  V now;
  while ((now = value.load(std::memory_order_acquire)) == old)
    value.wait(old, std::memory_order_acquire);
  return now;
}

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
  }

  ~Pool() {
    stop_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int threads() const { return threads_; }

  void Run(int64_t n, bool dynamic, RangeFn fn, void* context) {
    std::lock_guard<std::mutex> lock(run_mutex_);
    n_ = n;
    dynamic_ = dynamic;
    fn_ = fn;
    context_ = context;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    t_inside_pool = true;
    Work(0);
    t_inside_pool = false;
    int left;
    while ((left = pending_.load(std::memory_order_acquire)) != 0) AwaitChange(pending_, left);
  }

 private:
  void WorkerLoop(int index) {
    t_thread_index = index;
    t_inside_pool = true;
    uint64_t seen = 0;
    while (true) {
      seen = AwaitChange(generation_, seen);
      if (stop_.load(std::memory_order_acquire)) return;
      Work(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  void Work(int index) {
    if (dynamic_) {
      for (int64_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < n_;)
        fn_(context_, i, i + 1);
      return;
    }
    const int64_t chunk = (n_ + threads_ - 1) / threads_;
    const int64_t begin = index * chunk, end = std::min(n_, begin + chunk);
    if (begin < end) fn_(context_, begin, end);
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<bool> stop_{false};
  // The current loop; written before generation_ is bumped (release), read after (acquire).
  int64_t n_ = 0;
  bool dynamic_ = false;
  RangeFn fn_ = nullptr;
  void* context_ = nullptr;
};

int DefaultThreads() {
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : static_cast<int>(hardware);
}

std::unique_ptr<Pool>& ThePool() {
  static std::unique_ptr<Pool> pool = std::make_unique<Pool>(DefaultThreads());
  return pool;
}

}  // namespace

void RunOnPool(int64_t n, bool dynamic, RangeFn fn, void* context) {
  ThePool()->Run(n, dynamic, fn, context);
}

bool InsidePool() { return t_inside_pool; }

}  // namespace internal

int NumThreads() { return internal::ThePool()->threads(); }

void SetNumThreads(int n) {
  CHECK_GE(n, 1);
  internal::ThePool() = std::make_unique<internal::Pool>(n);
}

int ThreadIndex() { return internal::t_thread_index; }

}  // namespace lightrl::kernels
