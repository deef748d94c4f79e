// spatten-sim: projects the SpAtten accelerator's cycles, latency, DRAM traffic and energy
// for a workload CSV (the authors' 17-column GPT-2 or 15-column BERT trace) and compares them
// with the dense baseline of the same workload. Errors go to stderr (exit 1; 2 for usage).
//
//   spatten-sim --workload CSV [--config full|eighth|FILE] [--set key=value ...]
//               [--dram simple|hbm2] [--json]

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "sim/config.h"
#include "sim/simulator.h"
#include "sim/workload_csv.h"

int main(int argc, char** argv) {
  CLI::App app{"SpAtten accelerator simulator (workload CSV -> cycles, latency, DRAM bytes, energy)"};
  std::string workload_path, config = "full", dram;
  std::vector<std::string> overrides;
  bool json = false, list_keys = false;
  app.add_option("--workload", workload_path, "workload CSV (authors' GPT-2 or BERT schema)");
  app.add_option("--config", config, "preset (full, eighth) or key=value file")->capture_default_str();
  app.add_option("--set", overrides, "override one configuration key: key=value (repeatable)");
  app.add_option("--dram", dram, "DRAM model: simple or hbm2 (default: the config's, hbm2)");
  app.add_flag("--json", json, "print JSON instead of the text table");
  app.add_flag("--list-keys", list_keys, "print the configuration keys and exit");
  CLI11_PARSE(app, argc, argv);

  if (list_keys) {
    for (const std::string& k : spatten::sim::SimConfigKeys()) std::cout << k << "\n";
    return 0;
  }
  if (workload_path.empty()) {
    std::cerr << "spatten-sim: --workload is required\n";
    return 2;
  }
  if (!dram.empty()) overrides.push_back("dram=" + dram);
  auto cfg = spatten::sim::ResolveSimConfig(config, overrides);
  if (!cfg.ok()) {
    std::cerr << "spatten-sim: " << cfg.status().ToString() << "\n";
    return 2;
  }
  auto workload = spatten::sim::LoadWorkloadCsv(workload_path);
  if (!workload.ok()) {
    std::cerr << "spatten-sim: " << workload.status().ToString() << "\n";
    return 1;
  }
  auto report = spatten::sim::Simulate(*workload, *cfg);
  if (!report.ok()) {
    std::cerr << "spatten-sim: " << report.status().ToString() << "\n";
    return 1;
  }
  std::cout << (json ? spatten::sim::FormatReportJson(*report) : spatten::sim::FormatReportText(*report));
  return 0;
}
