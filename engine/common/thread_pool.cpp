#include "common/thread_pool.hpp"

namespace fgbi {
namespace {

// Spins until done() or kSpin has passed; true if done() came true.
template <typename Done>
bool spin_until(Done&& done) {
  const auto deadline = std::chrono::steady_clock::now() + ThreadPool::kSpin;
  for (unsigned i = 0;; ++i) {
    if (done()) return true;
    // The clock costs tens of ns: read it every few dozen polls.
    if (i % 32 == 31 && std::chrono::steady_clock::now() >= deadline) return false;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();  // yields the core's pipeline to its sibling
#endif
  }
}

}  // namespace

ThreadPool::ThreadPool(unsigned threads) {
  for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    // Ends the workers' spins too: they take the mutex and see stopping_.
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  workers_.clear();  // joins before the mutex and condition variables go
}

void ThreadPool::run_items(unsigned worker) {
  std::unique_lock lock(mutex_);
  while (job_ != nullptr && next_item_ < job_size_) {
    const size_t item = next_item_++;
    const auto* job = job_;
    lock.unlock();
    (*job)(item, worker);
    lock.lock();
    if (items_done_.fetch_add(1, std::memory_order_release) + 1 == job_size_) done_.notify_all();
  }
}

void ThreadPool::worker_loop(unsigned worker) {
  unsigned long seen = 0;
  const auto next_loop = [&] { return generation_.load(std::memory_order_acquire) != seen; };
  for (;;) {
    spin_until(next_loop);
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || next_loop(); });
      if (stopping_) return;
      seen = generation_.load();
    }
    run_items(worker);
  }
}

void ThreadPool::parallel_for(size_t n, const Job& fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1) {
    for (size_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    job_size_ = n;
    next_item_ = 0;
    items_done_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_items(0);
  const auto finished = [&] { return items_done_.load(std::memory_order_acquire) == n; };
  spin_until(finished);
  std::unique_lock lock(mutex_);
  done_.wait(lock, finished);
  job_ = nullptr;
}

}  // namespace fgbi
