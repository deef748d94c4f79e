// ThreadPool: a small persistent pool for data-parallel loops (parallel-for over [0, n)).
//
// Contract:
// - The pool owns `num_threads - 1` worker threads; the thread that calls ParallelFor works too,
//   so a pool of 1 runs everything inline and creates no threads.
// - ParallelFor(n, fn) splits [0, n) into contiguous chunks, calls fn(begin, end) for each
//   chunk on some thread, and returns when every chunk has finished. Chunks never overlap and
//   cover [0, n) exactly. fn must not throw (exceptions would terminate the process).
// - One ParallelFor at a time per pool: calls from several threads are serialised by an
//   internal mutex. Do not call ParallelFor from inside fn on the same pool (it would deadlock).
// - Destruction joins the workers; no loop may be running then.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace spatten {

class ThreadPool {
 public:
  // num_threads == 0 picks DefaultThreadCount().
  explicit ThreadPool(size_t num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t num_threads() const { return num_threads_; }

  // Runs fn(begin, end) over chunks of [0, n). `min_chunk` (>= 1) bounds how small a chunk may
  // be, so that tiny loops do not pay for waking every thread.
  void ParallelFor(size_t n, const std::function<void(size_t begin, size_t end)>& fn,
                   size_t min_chunk = 1);

  // Number of physical cores (distinct core ids in /sys topology), falling back to
  // std::thread::hardware_concurrency(), and to 1 if that is unknown.
  static size_t DefaultThreadCount();

 private:
  void WorkerLoop(size_t worker_index);

  size_t num_threads_;
  std::vector<std::thread> workers_;

  std::mutex call_mu_;  // serialises ParallelFor callers

  // Hand-off: the caller publishes a job under mu_ and bumps generation_; workers spin briefly
  // on generation_ (a forward pass issues hundreds of short loops per token, and a futex
  // wake-up per loop would cost more than the loop) before sleeping on work_cv_.
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  const std::function<void(size_t, size_t)>* job_ = nullptr;  // guarded by mu_
  size_t job_n_ = 0;                                           // guarded by mu_
  size_t job_chunks_ = 0;                                      // guarded by mu_
  std::atomic<size_t> generation_{0};  // bumped (under mu_) for each job
  std::atomic<size_t> busy_workers_{0};
  bool stop_ = false;  // guarded by mu_
};

}  // namespace spatten
