// ThreadPool implementation: [0, n) is cut into a few contiguous chunks per thread (equal
// rows of a matrix product cost the same, so equal chunks suffice), claimed dynamically so
// that threads running at different speeds still finish together.
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
// Chunks per thread in one ParallelFor: enough for a slow thread to hand work to the others,
// few enough that claiming (one compare-and-swap each) stays negligible.
constexpr size_t kChunksPerThread = 4;

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
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t, size_t)>& fn,
                             size_t min_chunk) {
  if (n == 0) return;
  min_chunk = std::max<size_t>(min_chunk, 1);
  const size_t max_chunks = (n + min_chunk - 1) / min_chunk;
  // At most 0xFFFF chunks: the count travels in 16 bits of the ticket.
  const size_t chunks =
      std::min({num_threads_ * kChunksPerThread, max_chunks, static_cast<size_t>(0xFFFF)});
  if (num_threads_ == 1 || chunks <= 1) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mu_);
  // Publish the job, then open it for claiming: the release store of the new ticket orders
  // the field stores before any claim of this generation.
  const size_t gen = generation_.load(std::memory_order_relaxed) + 1;
  job_.store(&fn, std::memory_order_relaxed);
  job_n_.store(n, std::memory_order_relaxed);
  done_chunks_.store(0, std::memory_order_relaxed);
  ticket_.store((static_cast<uint64_t>(static_cast<uint32_t>(gen)) << 32) |
                    (static_cast<uint64_t>(chunks) << 16),
                std::memory_order_release);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation_.store(gen, std::memory_order_release);
    wake = sleepers_ > 0;
  }
  if (wake) work_cv_.notify_all();
  RunChunks(static_cast<uint32_t>(gen));
  auto all_done = [&] { return done_chunks_.load(std::memory_order_acquire) == chunks; };
  if (SpinUntil(all_done)) return;
  std::unique_lock<std::mutex> lock(mu_);
  caller_sleeping_ = true;
  done_cv_.wait(lock, all_done);
  caller_sleeping_ = false;
}

size_t ThreadPool::RunChunks(uint32_t gen) {
  size_t ran = 0;
  for (;;) {
    uint64_t t = ticket_.load(std::memory_order_acquire);
    if (static_cast<uint32_t>(t >> 32) != gen) break;  // a newer job (or none) is open
    // The decision to claim depends on the ticket alone (never on a job field that the next
    // job may already be overwriting): it carries the chunk count next to the next index.
    const size_t chunks = static_cast<size_t>((t >> 16) & 0xFFFFu);
    const size_t index = static_cast<size_t>(t & 0xFFFFu);
    if (index >= chunks) break;  // every chunk of this job is claimed
    if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) continue;
    // Claimed: the caller waits for this chunk, so the job fields stay those of `gen`.
    const auto* fn = job_.load(std::memory_order_relaxed);
    const size_t n = job_n_.load(std::memory_order_relaxed);
    (*fn)(n * index / chunks, n * (index + 1) / chunks);
    ++ran;
    if (done_chunks_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
      // The last chunk: wake the caller if it stopped spinning. Taking the lock orders this
      // check after the caller has either seen the count or started waiting.
      std::lock_guard<std::mutex> lock(mu_);
      if (caller_sleeping_) done_cv_.notify_one();
    }
  }
  return ran;
}

void ThreadPool::WorkerLoop() {
  size_t seen_generation = 0;
  for (;;) {
    auto posted = [&] { return generation_.load(std::memory_order_acquire) != seen_generation; };
    if (!SpinUntil(posted)) {
      std::unique_lock<std::mutex> lock(mu_);
      ++sleepers_;
      work_cv_.wait(lock, posted);
      --sleepers_;
    }
    if (stop_.load()) return;
    seen_generation = generation_.load(std::memory_order_acquire);
    RunChunks(static_cast<uint32_t>(seen_generation));
  }
}

}  // namespace spatten
