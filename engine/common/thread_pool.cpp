#include "common/thread_pool.hpp"

namespace fgbi {

ThreadPool::ThreadPool(unsigned threads) {
  for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
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
    if (++items_done_ == job_size_) done_.notify_all();
  }
}

void ThreadPool::worker_loop(unsigned worker) {
  unsigned long seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
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
    items_done_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  run_items(0);
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return items_done_ == job_size_; });
  job_ = nullptr;
}

}  // namespace fgbi
