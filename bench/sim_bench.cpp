// Simulator throughput: a 12,000-row GPT-2-like workload (12 layers x 12 heads x ~84 steps,
// cascade-pruned, 6-bit K/V) through the SpAtten pipeline and the dense baseline, per DRAM
// model. Acceptance (issue #5): under one second on one core.

#include <benchmark/benchmark.h>

#include "sim/config.h"
#include "sim/simulator.h"

namespace {

spatten::sim::Workload MakeWorkload(int rows) {
  spatten::sim::Workload w;
  w.name = "bench";
  const int keep_percent[12] = {93, 72, 20, 20, 20, 20, 10, 10, 10, 10, 10, 10};
  for (int i = 0; static_cast<int>(w.rows.size()) < rows; ++i) {
    const int step = i / 144, layer = (i / 12) % 12, head = i % 12;
    spatten::sim::AttentionRow r;
    r.iteration = step;
    r.layer = layer;
    r.head = head;
    r.sentence_length = 992 + step;
    r.key_fetch = r.sentence_length * keep_percent[layer] / 100;
    r.value_fetch = r.key_fetch / 5;
    r.key_bits = 6;
    r.value_bits = 6;
    r.requant = (i % 14) == 0;
    r.requant_queries = r.requant ? 1 : 0;
    w.rows.push_back(r);
  }
  return w;
}

void BM_Simulate12k(benchmark::State& state, const char* preset, const char* dram) {
  const spatten::sim::Workload w = MakeWorkload(12000);
  auto config = spatten::sim::ResolveSimConfig(preset, {std::string("dram=") + dram});
  if (!config.ok()) { state.SkipWithError(config.status().ToString().c_str()); return; }
  for (auto _ : state) {
    auto report = spatten::sim::Simulate(w, *config);
    benchmark::DoNotOptimize(report);
  }
  state.counters["rows"] = 12000;
}

BENCHMARK_CAPTURE(BM_Simulate12k, full_simple, "full", "simple")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Simulate12k, full_hbm2, "full", "hbm2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Simulate12k, eighth_hbm2, "eighth", "hbm2")->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
