// Synthetic workloads for a described transformer: the trace a generation request of a given
// shape would produce, built in memory in the same form as the authors' 17-column GPT-2 CSV
// (one attention row per head, per layer, per decode step), so that it goes through the same
// lowering and pipeline as a file.
//
// Steps: a request with `context_tokens` prompt tokens that generates `generated_tokens` tokens
// runs `generated_tokens` attention steps; step s (0-based) is the query of position
// context_tokens + s - 1 attending to L = context_tokens + s keys (the authors' convention:
// their first row has L = the summary length, and L grows by one per step). The prompt's
// prefill is not part of a generation trace (the authors' traces do not model it either).
//
// Dense: no token, head or local-V pruning and no quantization (bits -1), i.e. what the
// engine computes today without a pruning policy. Pruned: the SpAtten cascade approximated
// from keep ratios (see DenseTraceSpec) until live traces from the engine exist.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "sim/workload.h"

namespace spatten::sim {

struct DenseTraceSpec {
  int32_t layers = 12;
  int32_t heads = 12;
  int32_t head_dim = 64;
  int32_t context_tokens = 1;    // prompt length, >= 1
  int32_t generated_tokens = 1;  // decode steps, >= 1
  std::string name = "dense";
};

// SpAtten pruning from keep ratios. Layer 0 is never pruned (the cascade starts after the
// first layer's token top-k); layers >= first_pruned_layer keep ceil(heads * head_keep)
// heads. From layer 1 on, each row fetches ceil(L * token_keep) keys (the last layer's
// rows of layer l-1 end with the cascade token top-k that keeps them) and
// ceil(keys * value_keep) values. Bits: -1 (unquantized) unless set to 4, 6 or 8.
struct PruneSpec {
  double token_keep = 1.0;   // (0, 1]
  double head_keep = 1.0;    // (0, 1]
  double value_keep = 1.0;   // (0, 1]
  int32_t first_pruned_layer = 0;  // head pruning starts here (0: from layer 1 on)
  int32_t key_bits = -1;
  int32_t value_bits = -1;
};

// Bounds: layers, heads <= 1024; head_dim <= 1024; context + generated <= 1 << 20; at most
// `max_rows` rows (layers * heads * generated_tokens); InvalidArgument beyond any of them.
inline constexpr int64_t kDefaultMaxTraceRows = 1'000'000;

Result<Workload> BuildDenseTrace(const DenseTraceSpec& spec,
                                 int64_t max_rows = kDefaultMaxTraceRows);
Result<Workload> BuildPrunedTrace(const DenseTraceSpec& spec, const PruneSpec& prune,
                                  int64_t max_rows = kDefaultMaxTraceRows);

// Rows the spec would produce (layers * heads * generated_tokens), without building them.
int64_t TraceRows(const DenseTraceSpec& spec);

}  // namespace spatten::sim
