// DRAM models behind one interface. The pipeline issues one read stream at a time (a
// contiguous range of bytes that becomes available to the memory system at `arrival`), in
// non-decreasing arrival order; the model returns when its last byte arrives on chip. State
// (busy buses, open rows) persists between calls, so consecutive streams overlap where the
// hardware would overlap them.
//
// Implementations, created by name through DramRegistry():
//   "simple" - aggregate bandwidth plus a fixed latency (fast, for quick runs and tests);
//   "hbm2"   - channels, pseudo-channels, banks, open rows, HBM2_2Gbps timings, FR-FCFS,
//              32-byte transactions interleaved over channels, RoBaRaCoCh mapping.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "common/status.h"
#include "sim/config.h"
#include "sim/registry.h"

namespace spatten::sim {

// What a read carries, for the byte breakdown.
enum class Traffic { kKeyMsb = 0, kKeyLsb = 1, kValue = 2 };
inline constexpr int kNumTrafficKinds = 3;

struct DramStats {
  std::array<uint64_t, kNumTrafficKinds> bytes{};  // indexed by Traffic
  uint64_t transactions = 0;
  uint64_t row_hits = 0;
  uint64_t row_misses = 0;  // includes row-buffer conflicts and first opens
  uint64_t Total() const { return bytes[0] + bytes[1] + bytes[2]; }
};

class DramModel {
 public:
  virtual ~DramModel() = default;
  // Returns the cycle at which the last byte of [address, address + bytes) is on chip.
  virtual uint64_t Read(uint64_t arrival, uint64_t address, uint64_t bytes, Traffic kind) = 0;
  virtual const DramStats& stats() const = 0;
  virtual double PeakBytesPerCycle() const = 0;
};

Registry<DramModel>& DramRegistry();

// Creates config.dram.
Result<std::unique_ptr<DramModel>> CreateDram(const SimConfig& config);

}  // namespace spatten::sim
