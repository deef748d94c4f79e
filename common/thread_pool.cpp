// ThreadPool implementation: static partitioning of [0, n) into one contiguous chunk per
// thread. Rows of a matrix-vector product cost the same, so static chunks balance well and
// need no work stealing.
#include "common/thread_pool.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#if defined(__linux__)
#include <sched.h>
#endif

namespace spatten {
namespace {

// Reads the first integer of a small sysfs file; -1 when unreadable.
long ReadSysfsInt(const std::filesystem::path& path) {
  std::ifstream in(path);
  long v = -1;
  if (!(in >> v)) return -1;
  return v;
}

size_t CountPhysicalCores() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = "/sys/devices/system/cpu";
  std::set<std::pair<long, long>> cores;  // (package id, core id)
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 4 || name.compare(0, 3, "cpu") != 0 ||
        !std::all_of(name.begin() + 3, name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const long online = ReadSysfsInt(entry.path() / "online");  // absent for cpu0: online
    if (online == 0) continue;
    const long package = ReadSysfsInt(entry.path() / "topology" / "physical_package_id");
    const long core = ReadSysfsInt(entry.path() / "topology" / "core_id");
    if (core < 0) return 0;  // topology unknown: let the caller fall back
    cores.emplace(package, core);
  }
  return cores.size();
}

// Polling before a thread sleeps: kSpinIterations pause instructions (a few microseconds),
// then yields, which give the core away at once when other threads are runnable (a shared or
// oversubscribed machine) and cost about a microsecond each when none are.
constexpr int kSpinIterations = 256;
constexpr int kYieldIterations = 64;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls `done` with pauses, then yields; returns whether it became true.
template <typename Pred>
bool SpinUntil(Pred done) {
  for (int i = 0; i < kSpinIterations; ++i) {
    if (done()) return true;
    CpuRelax();
  }
  for (int i = 0; i < kYieldIterations; ++i) {
    if (done()) return true;
    std::this_thread::yield();
  }
  return done();
}

}  // namespace

size_t ThreadPool::DefaultThreadCount() {
  size_t n = CountPhysicalCores();
  if (n == 0) n = std::thread::hardware_concurrency();
#if defined(__linux__)
  // Never more threads than CPUs this process may run on (containers, taskset).
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const size_t allowed = static_cast<size_t>(CPU_COUNT(&set));
    if (allowed > 0 && (n == 0 || allowed < n)) n = allowed;
  }
#endif
  return n == 0 ? 1 : n;
}

ThreadPool::ThreadPool(size_t num_threads)
    : num_threads_(num_threads == 0 ? DefaultThreadCount() : num_threads) {
  workers_.reserve(num_threads_ - 1);
  for (size_t i = 1; i < num_threads_; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t, size_t)>& fn,
                             size_t min_chunk) {
  if (n == 0) return;
  min_chunk = std::max<size_t>(min_chunk, 1);
  const size_t max_chunks = (n + min_chunk - 1) / min_chunk;
  const size_t chunks = std::min(num_threads_, max_chunks);
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    job_n_ = n;
    job_chunks_ = chunks;
    busy_workers_.store(workers_.size());
    generation_.fetch_add(1);
  }
  work_cv_.notify_all();
  fn(0, n / chunks);  // chunk 0 on the calling thread
  SpinUntil([this] { return busy_workers_.load() == 0; });
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return busy_workers_.load() == 0; });
  job_ = nullptr;
}

void ThreadPool::WorkerLoop(size_t worker_index) {
  size_t seen_generation = 0;
  for (;;) {
    const std::function<void(size_t, size_t)>* job = nullptr;
    size_t n = 0;
    size_t chunks = 0;
    SpinUntil([&] { return generation_.load() != seen_generation; });
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || generation_.load() != seen_generation; });
      if (stop_) return;
      seen_generation = generation_.load();
      job = job_;
      n = job_n_;
      chunks = job_chunks_;
    }
    if (worker_index < chunks) {
      const size_t begin = n * worker_index / chunks;
      const size_t end = n * (worker_index + 1) / chunks;
      if (begin < end) (*job)(begin, end);
    }
    if (busy_workers_.fetch_sub(1) == 1) {
      // Taking the lock orders this notify after the caller has either seen 0 or started
      // waiting, so the wake-up cannot be lost.
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

}  // namespace spatten
