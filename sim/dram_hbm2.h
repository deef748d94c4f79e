// "hbm2": a transaction-level HBM2 model in the spirit of the authors' ramulator2 setup
// (../shared/workloads/reference-hbm2-ramulator2.yaml: HBM2, HBM2_2Gbps timings, FR-FCFS,
// RoBaRaCoCh). What it keeps: per channel two pseudo-channels with their own 64-bit data
// buses, banks with one open row each, ACT/PRE/RD timing (tRCD, tCL, tRP, tRAS, tRRD), a burst
// of BL beats at double data rate (BL 4 -> 2 cycles per 32-byte transaction, so 16 B/cycle per
// pseudo-channel and 32 GB/s per channel at 1 GHz), and a per-channel FR-FCFS window that
// serves row hits before older row misses. What it drops: refresh, tFAW, bank groups
// (tCCD_L), write traffic (the attention pipeline only reads DRAM) and command-bus conflicts.
//
// Consecutive transactions of a read are merged into "row chunks" (same channel, pseudo-
// channel, bank and row): the scheduler works on chunks, which keeps a 12,000-row workload
// far below a second while giving the same timing as per-transaction service for streams.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sim/dram.h"

namespace spatten::sim {

class Hbm2Dram final : public DramModel {
 public:
  explicit Hbm2Dram(const SimConfig& config);

  struct Request {
    uint64_t arrival = 0;
    uint64_t address = 0;
    uint64_t bytes = 0;
    Traffic kind = Traffic::kKeyMsb;
  };
  // Serves requests that share the scheduler's queues (FR-FCFS may reorder them); writes the
  // completion cycle of each into `done` (same size as `requests`).
  void ReadBatch(std::span<const Request> requests, std::span<uint64_t> done);

  uint64_t Read(uint64_t arrival, uint64_t address, uint64_t bytes, Traffic kind) override;
  const DramStats& stats() const override { return stats_; }
  double PeakBytesPerCycle() const override;

  // RoBaRaCoCh: from the least significant end, transaction offset, channel, column,
  // pseudo-channel (the "rank" slot), bank, row. Exposed for tests.
  uint64_t Address(uint64_t channel, uint64_t pseudo_channel, uint64_t bank, uint64_t row, uint64_t column) const;

 private:
  struct Bank {
    int64_t open_row = -1;
    uint64_t activated = 0;  // cycle of the last ACT
    uint64_t ready = 0;      // earliest next column command
  };
  struct PseudoChannel {
    uint64_t bus_free = 0;
    uint64_t last_activate = 0;
    bool any_activate = false;
    std::vector<Bank> banks;
  };
  struct Chunk {
    uint32_t request;
    uint32_t pseudo_channel, bank;
    int64_t row;
    uint32_t transactions;
  };

  void ServeChannel(uint64_t channel, std::vector<Chunk>& chunks, std::span<const Request> requests,
                    std::span<uint64_t> done);

  SimConfig config_;
  int channel_bits_, column_bits_, pc_bits_, bank_bits_, tx_bits_;
  uint64_t burst_cycles_;
  std::vector<std::vector<PseudoChannel>> channels_;
  std::vector<std::vector<Chunk>> scratch_;  // per channel, reused between calls
  DramStats stats_;
};

}  // namespace spatten::sim
