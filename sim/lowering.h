// Lowering: workload rows -> the jobs the accelerator pipeline executes, with the authors'
// bit mapping applied. Two modes:
//
// kSpAtten (what the trace says the accelerator does), following the authors' harness
// (TestSpAtten.scala in mit-han-lab/spatten):
//   - key bits -1/10/12 -> 8-bit MSB plane and the 4-bit LSB plane is always fetched
//     (the row is marked as requantized); 4/6/8-bit keys keep their width and fetch the LSBs
//     only when the trace's if_requant says the row needed them;
//   - value bits -1/10/12 -> 8; values have no LSB refetch;
//   - key and value fetch counts round up to a multiple of `fetch_round` (8);
//   - consecutive 6-bit rows of the same step and layer form fused pairs: the two heads share
//     one 12-bit buffer line per key and one local-V top-k (the second head's top-k latency
//     is 0 in the harness);
//   - BERT rows: the authors' BERT model maps 6 and >8 bits to 8; requant queries replay
//     auto_requant_num rows.
//
// kDense (the baseline): no token, head or local-V pruning and no quantization. Every
// (step, layer) present in the trace runs all of its heads (the largest head count seen for
// any (step, layer) of the trace, since pruned heads are missing rows), over all L keys and
// all L values (rounded like the trace), with keys at 8+4 = 12 bits fetched in one pass
// (the same 12-bit datapath the accelerator uses for unquantized input, without the
// decision/recompute) and values at 8 bits: this is exactly the authors' mapping applied to
// an unpruned, unquantized (-1) trace. No top-k engine runs.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "sim/config.h"
#include "sim/workload.h"

namespace spatten::sim {

enum class LoweringMode { kSpAtten, kDense };

struct AttentionJob {
  int32_t iteration = 0;
  int32_t layer = 0;
  int32_t heads = 1;          // 2 for a fused 6-bit pair
  int32_t head_dim = 64;
  uint64_t queries = 1;       // per head
  uint64_t keys = 0;          // per head, rounded
  uint64_t values = 0;        // per head, rounded
  uint64_t lsb_queries = 0;   // query rows that refetch the LSBs and recompute (per head)
  bool lsb_upfront = false;   // dense: the LSB plane is fetched with the MSBs, no recompute
  uint64_t key_msb_bytes = 0; // totals over heads
  uint64_t key_lsb_bytes = 0;
  uint64_t value_bytes = 0;
  bool local_v_topk = false;  // values < keys: the local-V top-k engine selects them
  uint64_t token_topk_candidates = 0;  // cascade token top-k after this job (0 = none)
  uint64_t token_topk_keep = 0;
  uint64_t address_slot = 0;  // distinct (layer, head) region of the K/V cache
};

struct LoweredWorkload {
  std::vector<AttentionJob> jobs;
  uint64_t qk_mults = 0;  // multiplications on the Q.K array (including recomputation)
  uint64_t pv_mults = 0;
};

Result<LoweredWorkload> Lower(const Workload& workload, const SimConfig& config, LoweringMode mode);

}  // namespace spatten::sim
