// Text and JSON renderings of a SimulationReport. JSON keys are stable (tools and the
// server read them); the text table is for people.

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "sim/simulator.h"

namespace spatten::sim {
namespace {

nlohmann::json RunJson(const SimulationReport& rep, const PipelineResult& r) {
  nlohmann::json j;
  j["total_cycles"] = r.total_cycles;
  j["latency_ms"] = rep.LatencyMs(r);
  j["jobs"] = r.jobs;
  j["dram_bytes"] = r.dram.Total();
  j["dram_bytes_key_msb"] = r.dram.bytes[static_cast<int>(Traffic::kKeyMsb)];
  j["dram_bytes_key_lsb"] = r.dram.bytes[static_cast<int>(Traffic::kKeyLsb)];
  j["dram_bytes_value"] = r.dram.bytes[static_cast<int>(Traffic::kValue)];
  j["dram_transactions"] = r.dram.transactions;
  j["dram_row_hits"] = r.dram.row_hits;
  j["dram_row_misses"] = r.dram.row_misses;
  j["dram_bandwidth_utilisation"] = rep.DramUtilisation(r);
  j["dram_bound_cycles"] = rep.DramBoundCycles(r);
  j["multiplier_bound_cycles"] = rep.MultiplierBoundCycles(r);
  j["compute_utilisation"] = rep.ComputeUtilisation(r);
  j["qk_multiplications"] = r.qk_mults;
  j["pv_multiplications"] = r.pv_mults;
  const EnergyEstimate e = EstimateEnergy(r, rep.config);
  j["energy_j"] = {{"dram", e.dram_j}, {"compute", e.compute_j}, {"sram", e.sram_j}, {"total", e.Total()}};
  nlohmann::json stages = nlohmann::json::object();
  for (int s = 0; s < kNumStages; ++s) stages[std::string(StageName(static_cast<Stage>(s)))] = r.stage_busy[static_cast<size_t>(s)];
  j["stage_busy_cycles"] = stages;
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerBreakdown& l : r.layers)
    layers.push_back({{"layer", l.layer}, {"jobs", l.jobs}, {"heads", l.heads}, {"dram_bytes", l.dram_bytes},
                      {"cycles", l.cycles}});
  j["layers"] = layers;
  return j;
}

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace

std::string FormatReportJson(const SimulationReport& rep) {
  nlohmann::json j;
  j["workload"] = rep.workload;
  j["rows"] = rep.rows;
  j["config"] = {{"preset", rep.config.preset},
                 {"dram", rep.config.dram},
                 {"dram_channels", rep.config.dram_channels},
                 {"qk_multipliers", rep.config.qk_multipliers},
                 {"pv_multipliers", rep.config.pv_multipliers},
                 {"clock_ghz", rep.config.clock_ghz}};
  const nlohmann::json sp = RunJson(rep, rep.spatten);
  for (auto it = sp.begin(); it != sp.end(); ++it) j[it.key()] = it.value();
  j["dense"] = RunJson(rep, rep.dense);
  j["dense_total_cycles"] = rep.dense.total_cycles;
  j["dense_latency_ms"] = rep.LatencyMs(rep.dense);
  j["dense_dram_bytes"] = rep.dense.dram.Total();
  j["speedup"] = rep.Speedup();
  j["dram_reduction"] = rep.DramReduction();
  const double e_sp = EstimateEnergy(rep.spatten, rep.config).Total();
  j["energy_saving"] = e_sp > 0 ? EstimateEnergy(rep.dense, rep.config).Total() / e_sp : 0.0;
  return j.dump(2) + "\n";
}

std::string FormatReportText(const SimulationReport& rep) {
  std::string out;
  out += "workload " + rep.workload + ": " + std::to_string(rep.rows) + " rows; config " + rep.config.preset +
         " (" + std::to_string(rep.config.qk_multipliers) + "+" + std::to_string(rep.config.pv_multipliers) +
         " multipliers, " + std::to_string(rep.config.dram_channels) + " " + rep.config.dram + " channels, " +
         Fmt("%.0f", rep.config.PeakDramBytesPerCycle() * rep.config.clock_ghz) + " GB/s)\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %16s %16s %9s\n", "", "spatten", "dense", "ratio");
  out += line;
  auto row = [&](const char* name, double a, double b, const char* fmt) {
    std::snprintf(line, sizeof line, "%-28s %16s %16s %9s\n", name, Fmt(fmt, a).c_str(), Fmt(fmt, b).c_str(),
                  a > 0 ? Fmt("%.2fx", b / a).c_str() : "-");
    out += line;
  };
  const PipelineResult& s = rep.spatten;
  const PipelineResult& d = rep.dense;
  row("total cycles", static_cast<double>(s.total_cycles), static_cast<double>(d.total_cycles), "%.0f");
  row("latency (ms)", rep.LatencyMs(s), rep.LatencyMs(d), "%.4f");
  row("DRAM bytes", static_cast<double>(s.dram.Total()), static_cast<double>(d.dram.Total()), "%.0f");
  row("  key MSB", static_cast<double>(s.dram.bytes[0]), static_cast<double>(d.dram.bytes[0]), "%.0f");
  row("  key LSB", static_cast<double>(s.dram.bytes[1]), static_cast<double>(d.dram.bytes[1]), "%.0f");
  row("  value", static_cast<double>(s.dram.bytes[2]), static_cast<double>(d.dram.bytes[2]), "%.0f");
  row("DRAM bound (cycles)", static_cast<double>(rep.DramBoundCycles(s)), static_cast<double>(rep.DramBoundCycles(d)), "%.0f");
  row("multiplier bound (cycles)", static_cast<double>(rep.MultiplierBoundCycles(s)),
      static_cast<double>(rep.MultiplierBoundCycles(d)), "%.0f");
  row("multiplications", static_cast<double>(s.qk_mults + s.pv_mults), static_cast<double>(d.qk_mults + d.pv_mults), "%.0f");
  row("energy (mJ)", EstimateEnergy(s, rep.config).Total() * 1e3, EstimateEnergy(d, rep.config).Total() * 1e3, "%.4f");
  std::snprintf(line, sizeof line, "%-28s %15.1f%% %15.1f%%\n", "DRAM bandwidth utilisation", 100 * rep.DramUtilisation(s),
                100 * rep.DramUtilisation(d));
  out += line;
  std::snprintf(line, sizeof line, "%-28s %15.1f%% %15.1f%%\n", "compute utilisation", 100 * rep.ComputeUtilisation(s),
                100 * rep.ComputeUtilisation(d));
  out += line;
  std::snprintf(line, sizeof line, "\nspeedup %.2fx, DRAM reduction %.2fx\n\nstage busy cycles (spatten)\n",
                rep.Speedup(), rep.DramReduction());
  out += line;
  for (int i = 0; i < kNumStages; ++i) {
    std::snprintf(line, sizeof line, "  %-14s %14llu\n", std::string(StageName(static_cast<Stage>(i))).c_str(),
                  static_cast<unsigned long long>(s.stage_busy[static_cast<size_t>(i)]));
    out += line;
  }
  out += "\nper layer (spatten)\n";
  std::snprintf(line, sizeof line, "  %5s %8s %8s %14s %14s\n", "layer", "jobs", "heads", "DRAM bytes", "cycles");
  out += line;
  for (const LayerBreakdown& l : s.layers) {
    std::snprintf(line, sizeof line, "  %5d %8llu %8llu %14llu %14llu\n", l.layer, static_cast<unsigned long long>(l.jobs),
                  static_cast<unsigned long long>(l.heads), static_cast<unsigned long long>(l.dram_bytes),
                  static_cast<unsigned long long>(l.cycles));
    out += line;
  }
  return out;
}

}  // namespace spatten::sim
