// Quick-select latency models; see topk.h.

#include "sim/topk.h"

#include <cmath>

namespace spatten::sim {
namespace {

// splitmix64: a tiny generator whose output is the same on every platform and standard
// library (std::uniform_int_distribution is not), so results are reproducible everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); the modulo bias is below 2^-40 for the sizes a workload may hold.
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

class QuickSelectTopK final : public TopKEngine {
 public:
  explicit QuickSelectTopK(const SimConfig& c)
      : rng_(c.topk_seed), parallelism_(static_cast<uint64_t>(c.topk_parallelism)),
        overhead_(static_cast<uint64_t>(c.topk_round_overhead)) {}

  uint64_t Cycles(uint64_t n, uint64_t keep) override {
    if (keep >= n || n == 0) return 0;
    uint64_t cycles = 0;
    uint64_t target = keep;  // how many of the current candidates still belong to the answer
    while (n > 0) {
      cycles += (n + parallelism_ - 1) / parallelism_ + overhead_;
      const uint64_t above = rng_.Below(n);  // candidates larger than the pivot (distinct scores)
      if (above >= target) {
        if (above == target) break;  // the larger side is exactly the answer
        n = above;                   // the answer lies within the larger side
      } else {
        target -= above + 1;         // keep the larger side and the pivot, look below it
        n = n - above - 1;
        if (target == 0) break;
      }
    }
    return cycles;
  }

 private:
  SplitMix64 rng_;
  uint64_t parallelism_, overhead_;
};

// Mean cost of quick-select: the candidate count shrinks by about a quarter of n per round
// on average when k is small relative to n and by half near the median; we use the standard
// expectation of ~2n comparisons for selection (rounds ~ log2(n / P) + 1), which is smooth
// and monotone in n.
class ExpectedTopK final : public TopKEngine {
 public:
  explicit ExpectedTopK(const SimConfig& c)
      : parallelism_(static_cast<double>(c.topk_parallelism)), overhead_(static_cast<double>(c.topk_round_overhead)) {}
  uint64_t Cycles(uint64_t n, uint64_t keep) override {
    if (keep >= n || n == 0) return 0;
    const double nd = static_cast<double>(n);
    const double rounds = std::log2(std::max(2.0, nd / parallelism_)) + 1.0;
    return static_cast<uint64_t>(std::ceil(2.0 * nd / parallelism_ + rounds * (overhead_ + 1.0)));
  }

 private:
  double parallelism_, overhead_;
};

}  // namespace

Registry<TopKEngine>& TopKRegistry() {
  static Registry<TopKEngine>* registry = [] {
    auto* r = new Registry<TopKEngine>();
    r->Register("quickselect", [](const SimConfig& c) { return std::make_unique<QuickSelectTopK>(c); });
    r->Register("expected", [](const SimConfig& c) { return std::make_unique<ExpectedTopK>(c); });
    return r;
  }();
  return *registry;
}

Result<std::unique_ptr<TopKEngine>> CreateTopKEngine(const SimConfig& config) {
  return TopKRegistry().Create(config.topk_engine, config);
}

}  // namespace spatten::sim
