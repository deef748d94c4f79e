// One simulation: a workload through the SpAtten pipeline and through the dense baseline
// (lowering.h defines "dense" precisely), plus the derived figures: latency, speedup, DRAM
// reduction, utilisations and an energy estimate.
//
// Energy method: the published power breakdown (8.30 W = DRAM 5.71 + compute 1.36 + SRAM
// 1.24 W at 1 GHz) is read as the power of the full accelerator running at peak activity:
// 512 GB/s of DRAM reads, 1024 multipliers busy every cycle, and every fetched byte written
// into and read once out of the K/V buffers (1024 GB/s of SRAM accesses). Dividing gives
// per-event energies (11.2 pJ per DRAM byte, 1.33 pJ per multiplication including its share
// of softmax and top-k, 1.21 pJ per SRAM byte access) that are charged for the events the
// run actually performs. Idle/static power is not added; the figure is an activity estimate
// that applies unchanged to scaled configurations such as `eighth`.
#pragma once

#include <string>

#include "common/status.h"
#include "sim/config.h"
#include "sim/pipeline.h"
#include "sim/workload.h"

namespace spatten::sim {

struct EnergyEstimate {
  double dram_j = 0, compute_j = 0, sram_j = 0;
  double Total() const { return dram_j + compute_j + sram_j; }
};

EnergyEstimate EstimateEnergy(const PipelineResult& r, const SimConfig& config);

struct SimulationReport {
  std::string workload;
  SimConfig config;
  uint64_t rows = 0;
  PipelineResult spatten;
  PipelineResult dense;

  double LatencyMs(const PipelineResult& r) const {
    return static_cast<double>(r.total_cycles) / (config.clock_ghz * 1e6);
  }
  double Speedup() const;
  double DramReduction() const;
  double DramUtilisation(const PipelineResult& r) const;     // achieved / peak bandwidth
  double ComputeUtilisation(const PipelineResult& r) const;  // multiplier-cycles used / available
  uint64_t DramBoundCycles(const PipelineResult& r) const;   // bytes / peak bytes per cycle
  uint64_t MultiplierBoundCycles(const PipelineResult& r) const;
};

Result<SimulationReport> Simulate(const Workload& workload, const SimConfig& config);

// Text table and JSON renderings of a report.
std::string FormatReportText(const SimulationReport& report);
std::string FormatReportJson(const SimulationReport& report);

}  // namespace spatten::sim
