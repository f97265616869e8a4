// The pool behind every multi-threaded loop of the sender and the receiver
// (engine/common/thread_pool.hpp): each item runs once, on a named thread,
// whether the next loop comes while the workers still spin for it or after
// they went to sleep, and the pool stops promptly from either state.
#include "common/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace fgbi {
namespace {

// Runs one loop of n items and checks that each ran exactly once, on a
// thread the pool names, and that all had run when parallel_for returned.
void expect_each_item_once(ThreadPool& pool, size_t n) {
  std::vector<std::atomic<int>> runs(n);
  std::atomic<bool> bad_worker = false;
  pool.parallel_for(n, [&](size_t item, unsigned worker) {
    if (worker >= pool.threads()) bad_worker = true;
    runs[item].fetch_add(1);
  });
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(runs[i].load(), 1) << "item " << i << " of " << n;
  EXPECT_FALSE(bad_worker);
}

TEST(ThreadPool, LoopsBackToBackRunEachItemOnce) {
  // Loops in quick succession meet workers that still spin for the next one.
  for (unsigned threads : {2u, 3u, 4u}) {
    ThreadPool pool(threads);
    for (size_t round = 0; round < 500; ++round) expect_each_item_once(pool, 1 + round % 37);
  }
}

TEST(ThreadPool, LoopsAfterTheSpinRunEachItemOnce) {
  // Past kSpin the workers sleep on the condition variable: the next loop
  // must wake them.
  ThreadPool pool(2);
  for (int round = 0; round < 20; ++round) {
    std::this_thread::sleep_for(ThreadPool::kSpin * 3);
    expect_each_item_once(pool, 8);
  }
}

TEST(ThreadPool, EveryWorkerTakesPartWhenItemsWaitForEachOther) {
  // Two items that each wait for the other finish only if a second thread
  // runs one of them, whether it was spinning or asleep when the loop came.
  ThreadPool pool(2);
  for (auto gap : {std::chrono::microseconds(0), ThreadPool::kSpin * 3}) {
    std::this_thread::sleep_for(gap);
    std::atomic<int> arrived = 0;
    pool.parallel_for(2, [&](size_t, unsigned) {
      arrived.fetch_add(1);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (arrived.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      }
    });
    EXPECT_EQ(arrived.load(), 2);
  }
}

TEST(ThreadPool, ReturnsOnlyWhenTheSlowestItemHasFinished) {
  // Later items take longer, so the caller finishes its own first and must
  // wait for the rest, whether it spins or sleeps meanwhile.
  ThreadPool pool(2);
  for (int ms : {1, 5, 20}) {
    std::vector<std::atomic<bool>> finished(4);
    pool.parallel_for(finished.size(), [&](size_t item, unsigned) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms) * item);
      finished[item] = true;
    });
    for (size_t i = 0; i < finished.size(); ++i)
      EXPECT_TRUE(finished[i].load()) << "item " << i << " of items sleeping " << ms << " ms each";
  }
}

TEST(ThreadPool, StopsPromptlyWhetherSpinningOrAsleep) {
  for (auto gap : {std::chrono::microseconds(0), ThreadPool::kSpin * 3}) {
    auto pool = std::make_unique<ThreadPool>(4);
    expect_each_item_once(*pool, 16);
    std::this_thread::sleep_for(gap);
    const auto start = std::chrono::steady_clock::now();
    pool.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  }
}

}  // namespace
}  // namespace fgbi
