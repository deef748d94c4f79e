// Reader for the SpAtten authors' workload CSVs (both schemas: the 17-column GPT-2
// generation trace and the 15-column BERT trace). The schema is chosen by the header.
//
// A workload file is untrusted input: every number is range-checked, the number of rows is
// bounded, and every problem comes back as InvalidArgument naming the 1-based line, e.g.
// "workload line 7: column 'key_fetch_num': '-3' is negative". Nothing here throws or aborts.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "sim/workload.h"

namespace spatten::sim {

// Limits that keep a hostile file from asking for unbounded memory or work.
inline constexpr int64_t kMaxWorkloadRows = 4'000'000;
inline constexpr int64_t kMaxSentenceLength = 1 << 20;
inline constexpr int64_t kMaxHeadDim = 1024;
inline constexpr int64_t kMaxIndex = 1 << 20;  // iteration, layer and head ids
inline constexpr int64_t kMaxWorkloadFileBytes = int64_t{1} << 30;

// Parses CSV text. Rows whose first field is not an integer (the trailing configuration
// name in the authors' files, blank lines) are skipped, as the authors' harness does.
Result<Workload> ParseWorkloadCsv(std::string_view text, std::string name);

// Reads and parses a file (bounded by kMaxWorkloadFileBytes).
Result<Workload> LoadWorkloadCsv(const std::string& path);

}  // namespace spatten::sim
