// ThreadPool: a small persistent pool for data-parallel loops (parallel-for over [0, n)).
//
// Contract:
// - The pool owns `num_threads - 1` worker threads; the thread that calls ParallelFor works too,
//   so a pool of 1 runs everything inline and creates no threads.
// - ParallelFor(n, fn) splits [0, n) into contiguous chunks, calls fn(begin, end) for each
//   chunk on some thread, and returns when every chunk has finished. Chunks never overlap and
//   cover [0, n) exactly. fn must not throw (exceptions would terminate the process).
//   There are a few chunks per thread, claimed dynamically: a thread that is slower (a busy
//   core, an SMT sibling, preemption) simply takes fewer, instead of holding up the loop with
//   a fixed share. Which thread runs which chunk is therefore not fixed: fn's results must
//   not depend on it.
// - One ParallelFor at a time per pool: calls from several threads are serialised by an
//   internal mutex. Do not call ParallelFor from inside fn on the same pool (it would deadlock).
// - Destruction joins the workers; no loop may be running then.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
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
  void WorkerLoop();
  // Claims and runs chunks of job `gen` until none is left; returns how many it ran.
  size_t RunChunks(uint32_t gen);

  size_t num_threads_;
  std::vector<std::thread> workers_;

  std::mutex call_mu_;  // serialises ParallelFor callers

  // Hand-off: the caller publishes a job (fields below, then a new generation in ticket_) and
  // bumps generation_ under mu_; workers spin briefly on generation_ (a forward pass issues
  // hundreds of short loops per token, and a futex wake-up per loop would cost more than the
  // loop) before sleeping on work_cv_. Chunks are claimed by compare-and-swap on ticket_ =
  // (job generation << 32) | (chunk count << 16) | next chunk index: the generation tag makes
  // a claim by a thread still looking at an older job fail, so the job fields are only read
  // by threads that hold a chunk of that job, and they stay unchanged until its last chunk is
  // done (the caller waits for done_chunks_ == chunk count before posting the next job).
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::atomic<const std::function<void(size_t, size_t)>*> job_{nullptr};
  std::atomic<size_t> job_n_{0};
  std::atomic<uint64_t> ticket_{0};
  std::atomic<size_t> done_chunks_{0};
  std::atomic<size_t> generation_{0};  // bumped (under mu_) for each job
  size_t sleepers_ = 0;                // workers waiting on work_cv_; guarded by mu_
  bool caller_sleeping_ = false;       // the caller waits on done_cv_; guarded by mu_
  std::atomic<bool> stop_{false};     // set under mu_, with a generation_ bump
};

}  // namespace spatten
