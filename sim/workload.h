// The simulator's input: one attention "row" per head, per layer, per decode step, exactly as
// the SpAtten authors' workload CSVs describe it. The CSV reader (workload_csv.h) fills this
// structure; a live pruning trace from the engine is meant to be converted into the same
// structure in memory, so both paths share the lowering and the pipeline model.
//
// Values are stored as written in the trace (bits -1 = unquantized, counts before rounding).
// The bit mapping and rounding of the authors' harness are applied later, in lowering.h, so
// that a different mapping can be tried without re-reading the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spatten::sim {

enum class WorkloadFormat {
  kGpt2,  // 17-column generation trace: one query row per head and step
  kBert,  // 15-column BERT trace: every kept token is a query, key and value
};

struct AttentionRow {
  int32_t iteration = 0;        // decode step (0 for BERT)
  int32_t layer = 0;
  int32_t head = 0;             // renumbered after head pruning: pruned heads have no row
  int32_t head_dim = 64;        // D
  int32_t sentence_length = 0;  // L: the unpruned context length at this step
  int32_t queries = 1;          // query rows (1 per decode row; the kept tokens for BERT)
  int32_t key_fetch = 0;        // keys kept after cascade token pruning
  int32_t value_fetch = 0;      // V rows fetched after local V pruning
  int32_t key_bits = -1;        // MSB plane width; -1 = unquantized
  int32_t value_bits = -1;
  int32_t query_bits = -1;
  bool requant = false;         // the trace says this row needed the LSB plane
  int32_t requant_queries = 0;  // BERT only: how many of the query rows needed it
  bool token_topk = false;      // cascade token top-k runs after this row (layer end)
  int32_t token_topk_keep = 0;  // tokens it keeps (the next layer's key_fetch)
  int32_t line = 0;             // source line (1-based) for messages; 0 for in-memory traces
};

struct Workload {
  std::string name;
  WorkloadFormat format = WorkloadFormat::kGpt2;
  std::vector<AttentionRow> rows;  // in trace order: the order the accelerator receives them
};

}  // namespace spatten::sim
