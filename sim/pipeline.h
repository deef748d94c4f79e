// The accelerator's attention pipeline as a small discrete-event model. Each job (one head,
// or a fused 6-bit pair, of one layer at one step) flows through:
//
//   K fetch (DRAM, MSB plane) -> Q.K array -> softmax (exp/accumulate, then divide)
//     -> [LSB fetch -> Q.K recompute -> softmax again]   when the row needs the LSBs
//     -> local-V top-k -> V fetch (DRAM) -> prob.V array  (V is prefetched with K when no
//        local-V selection is needed)
//     -> cascade token top-k (token engine)               at the layer end, when traced
//
// Jobs overlap: a job's K fetch starts as soon as the K buffer (key_sram_bytes, 12-bit
// lines) has room for it, i.e. while the previous jobs compute; the same holds for V.
// Compute units are in-order resources, fetches stream into the compute that consumes them
// (a stage ends no earlier than its data), and fixed pipeline latencies (the softmax's 7,
// 21, 23, 29 and 7 cycles) add to a job's latency but not to the unit's occupancy.
// DRAM requests reach the DRAM model in time order.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sim/config.h"
#include "sim/dram.h"
#include "sim/lowering.h"

namespace spatten::sim {

enum class Stage {
  kKeyFetch, kQueryKey, kSoftmax, kLsbFetch, kRecompute, kLocalVTopK, kValueFetch, kProbValue, kTokenTopK,
};
inline constexpr int kNumStages = 9;
std::string_view StageName(Stage s);

struct LayerBreakdown {
  int32_t layer = 0;
  uint64_t jobs = 0;
  uint64_t heads = 0;
  uint64_t dram_bytes = 0;
  uint64_t cycles = 0;  // completion time attributed to this layer's jobs (sums to the total)
};

struct PipelineResult {
  uint64_t total_cycles = 0;
  std::array<uint64_t, kNumStages> stage_busy{};  // cycles each stage was occupied
  std::vector<LayerBreakdown> layers;              // ascending layer id
  DramStats dram;
  double dram_peak_bytes_per_cycle = 0;
  uint64_t qk_mults = 0;
  uint64_t pv_mults = 0;
  uint64_t jobs = 0;
};

Result<PipelineResult> RunPipeline(const LoweredWorkload& work, const SimConfig& config);

}  // namespace spatten::sim
