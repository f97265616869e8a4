// A fixed pool of worker threads for data-parallel loops. The caller takes
// part in every loop, so a pool of N threads starts N - 1 workers.
//
// Hand-offs spin before they sleep. An epoch runs several loops a fraction
// of a millisecond apart (capture, encode, the backup's check and apply),
// and a thread asleep on a condition variable takes 15-25 us to wake on a
// 2-vCPU VM (docs/PERFORMANCE.md): a fifth of an epoch's work on `web`. So a
// worker that finished a loop watches for the next one for kSpin before it
// sleeps, and the caller watches for its loop's end before it waits.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fgbi {

class ThreadPool {
 public:
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned threads() const { return static_cast<unsigned>(workers_.size()) + 1; }

  // Runs fn(i, worker) for every i in [0, n), spread over the pool; returns
  // when all calls have finished. Indices are handed out in order, one at a
  // time; worker (< threads()) names the thread, for per-thread scratch.
  // fn must not throw.
  using Job = std::function<void(size_t item, unsigned worker)>;
  void parallel_for(size_t n, const Job& fn);

  // How long a hand-off spins before it sleeps: longer than a wake-up, far
  // shorter than the gap between two epochs (25-200 ms).
  static constexpr std::chrono::microseconds kSpin{200};

 private:
  void worker_loop(unsigned worker);
  void run_items(unsigned worker);

  std::vector<std::jthread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const Job* job_ = nullptr;
  size_t job_size_ = 0;
  size_t next_item_ = 0;
  // Written under mutex_, read without it by the spinning hand-offs.
  std::atomic<size_t> items_done_ = 0;
  std::atomic<unsigned long> generation_ = 0;
  bool stopping_ = false;
};

// pool->parallel_for(n, fn), or the loop on the calling thread (worker 0)
// where there is no pool: a sender or receiver of one thread has none.
inline void parallel_for(ThreadPool* pool, size_t n, const ThreadPool::Job& fn) {
  if (pool != nullptr)
    pool->parallel_for(n, fn);
  else
    for (size_t i = 0; i < n; ++i) fn(i, 0);
}

}  // namespace fgbi
