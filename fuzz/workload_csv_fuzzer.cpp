// libFuzzer target: the workload CSV reader (sim/workload_csv.h) on arbitrary text. Any input
// gives a Workload or an InvalidArgument; nothing throws, aborts or reads out of bounds, and
// every accepted row respects the documented limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sim/workload_csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto workload = spatten::sim::ParseWorkloadCsv(text, "fuzz");
  if (!workload.ok()) return 0;
  for (const auto& row : workload->rows) {
    if (row.sentence_length < 0 || row.sentence_length > spatten::sim::kMaxSentenceLength) std::abort();
    if (row.head_dim < 0 || row.head_dim > spatten::sim::kMaxHeadDim) std::abort();
    if (row.key_fetch < 0 || row.value_fetch < 0) std::abort();
  }
  if (static_cast<int64_t>(workload->rows.size()) > spatten::sim::kMaxWorkloadRows) std::abort();
  return 0;
}
