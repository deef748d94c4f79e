// Top-k engine latency models. The hardware runs quick-select with a random pivot over
// `parallelism` comparators: each partition round streams the remaining candidates
// (ceil(n / P) cycles) plus a fixed overhead, then continues on the side holding the k-th
// element. Only the number of candidates matters for timing, so the models draw the pivot's
// rank instead of materialising scores.
//
// Implementations, created by name through TopKRegistry():
//   "quickselect" - random pivot ranks from a seeded generator (deterministic per seed and
//                   call sequence); the authors' TopKLatencyModel does the same on random data;
//   "expected"    - the mean of that process in closed form (no randomness; smooth in n).
#pragma once

#include <cstdint>
#include <memory>

#include "common/status.h"
#include "sim/config.h"
#include "sim/registry.h"

namespace spatten::sim {

class TopKEngine {
 public:
  virtual ~TopKEngine() = default;
  // Cycles to find the `keep` largest of `candidates` elements (0 when nothing is dropped).
  virtual uint64_t Cycles(uint64_t candidates, uint64_t keep) = 0;
};

Registry<TopKEngine>& TopKRegistry();
Result<std::unique_ptr<TopKEngine>> CreateTopKEngine(const SimConfig& config);

}  // namespace spatten::sim
