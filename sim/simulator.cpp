// Runs both lowerings through the pipeline and derives the headline figures.

#include "sim/simulator.h"

#include <algorithm>
#include <cmath>

#include "sim/lowering.h"

namespace spatten::sim {
namespace {

// The published operating point the power breakdown belongs to (full configuration).
constexpr double kPublishedDramBytesPerSecond = 512e9;
constexpr double kPublishedMultiplierOpsPerSecond = 1024 * 1e9;
constexpr double kPublishedSramAccessBytesPerSecond = 2 * 512e9;

}  // namespace

EnergyEstimate EstimateEnergy(const PipelineResult& r, const SimConfig& c) {
  EnergyEstimate e;
  const auto bytes = static_cast<double>(r.dram.Total());
  e.dram_j = bytes * c.power_dram_w / kPublishedDramBytesPerSecond;
  e.compute_j = static_cast<double>(r.qk_mults + r.pv_mults) * c.power_compute_w / kPublishedMultiplierOpsPerSecond;
  e.sram_j = 2 * bytes * c.power_sram_w / kPublishedSramAccessBytesPerSecond;
  return e;
}

double SimulationReport::Speedup() const {
  return spatten.total_cycles == 0 ? 0.0
                                   : static_cast<double>(dense.total_cycles) / static_cast<double>(spatten.total_cycles);
}

double SimulationReport::DramReduction() const {
  return spatten.dram.Total() == 0 ? 0.0
                                   : static_cast<double>(dense.dram.Total()) / static_cast<double>(spatten.dram.Total());
}

double SimulationReport::DramUtilisation(const PipelineResult& r) const {
  if (r.total_cycles == 0) return 0;
  return static_cast<double>(r.dram.Total()) / (static_cast<double>(r.total_cycles) * r.dram_peak_bytes_per_cycle);
}

double SimulationReport::ComputeUtilisation(const PipelineResult& r) const {
  if (r.total_cycles == 0) return 0;
  const double available = static_cast<double>(r.total_cycles) *
                           static_cast<double>(config.qk_multipliers + config.pv_multipliers);
  return static_cast<double>(r.qk_mults + r.pv_mults) / available;
}

uint64_t SimulationReport::DramBoundCycles(const PipelineResult& r) const {
  return static_cast<uint64_t>(std::floor(static_cast<double>(r.dram.Total()) / r.dram_peak_bytes_per_cycle));
}

uint64_t SimulationReport::MultiplierBoundCycles(const PipelineResult& r) const {
  return std::max(r.qk_mults / static_cast<uint64_t>(config.qk_multipliers),
                  r.pv_mults / static_cast<uint64_t>(config.pv_multipliers));
}

Result<SimulationReport> Simulate(const Workload& workload, const SimConfig& config) {
  SimulationReport report;
  report.workload = workload.name;
  report.config = config;
  report.rows = workload.rows.size();
  SPATTEN_ASSIGN_OR_RETURN(LoweredWorkload sparse, Lower(workload, config, LoweringMode::kSpAtten));
  SPATTEN_ASSIGN_OR_RETURN(report.spatten, RunPipeline(sparse, config));
  SPATTEN_ASSIGN_OR_RETURN(LoweredWorkload dense, Lower(workload, config, LoweringMode::kDense));
  SPATTEN_ASSIGN_OR_RETURN(report.dense, RunPipeline(dense, config));
  return report;
}

}  // namespace spatten::sim
