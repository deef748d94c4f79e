// HBM2 model: row hit/miss latencies from the HBM2_2Gbps timings, streaming bandwidth,
// FR-FCFS ordering.

#include <gtest/gtest.h>

#include <vector>

#include "sim/config.h"
#include "sim/dram_hbm2.h"

namespace spatten::sim {
namespace {

SimConfig Timings() {
  SimConfig c;  // full preset: HBM2_2Gbps, tCK 1 ns, CL = RCD = RP = 7, RAS = 17, BL = 4
  c.dram = "hbm2";
  return c;
}

TEST(SimHbm2, RowHitMissAndConflictLatencies) {
  const SimConfig c = Timings();
  Hbm2Dram dram(c);
  const uint64_t burst = 2;  // BL 4 at double data rate
  const uint64_t a = dram.Address(0, 0, 0, 5, 0);
  // Closed bank: ACT, tRCD, RD, tCL, burst.
  EXPECT_EQ(dram.Read(0, a, 32, Traffic::kKeyMsb), uint64_t(c.hbm_tRCD + c.hbm_tCL) + burst);
  // Open row: only tCL and the burst.
  EXPECT_EQ(dram.Read(1000, dram.Address(0, 0, 0, 5, 1), 32, Traffic::kKeyMsb), 1000 + uint64_t(c.hbm_tCL) + burst);
  // Another row in the same bank: PRE, tRP, ACT, tRCD, RD, tCL.
  EXPECT_EQ(dram.Read(2000, dram.Address(0, 0, 0, 6, 0), 32, Traffic::kKeyMsb),
            2000 + uint64_t(c.hbm_tRP + c.hbm_tRCD + c.hbm_tCL) + burst);
  EXPECT_EQ(dram.stats().row_hits, 1u);
  EXPECT_EQ(dram.stats().row_misses, 2u);
}

TEST(SimHbm2, StreamingBandwidthApproachesChannelsTimes32GBs) {
  for (int64_t channels : {2, 16}) {
    SimConfig c = Timings();
    c.dram_channels = channels;
    Hbm2Dram dram(c);
    const uint64_t bytes = 8u << 20;
    const uint64_t done = dram.Read(0, 0, bytes, Traffic::kValue);
    const double gbps = static_cast<double>(bytes) / static_cast<double>(done);  // bytes/ns = GB/s
    EXPECT_GT(gbps, 0.95 * 32.0 * static_cast<double>(channels)) << channels << " channels";
    EXPECT_LE(gbps, 32.0 * static_cast<double>(channels) + 1e-9);
  }
}

TEST(SimHbm2, FrFcfsServesRowHitsBeforeOlderMisses) {
  Hbm2Dram dram(Timings());
  const std::vector<Hbm2Dram::Request> reqs = {
      {0, dram.Address(0, 0, 0, 1, 0), 32, Traffic::kKeyMsb},   // opens row 1
      {0, dram.Address(0, 0, 0, 2, 0), 32, Traffic::kKeyMsb},   // conflict, older
      {0, dram.Address(0, 0, 0, 1, 1), 32, Traffic::kKeyMsb}};  // hit on row 1, younger
  std::vector<uint64_t> done(reqs.size());
  dram.ReadBatch(reqs, done);
  EXPECT_LT(done[2], done[1]);
  EXPECT_LT(done[0], done[2]);
}

}  // namespace
}  // namespace spatten::sim
