// The accelerator's parameters, resolved once before a run (the ramulator2 habit: a typo in a
// key is an error, never a silently ignored setting).
//
// Resolution order: a preset (`full` or `eighth`) or a key=value file (which may name its own
// base with `preset = eighth`), then per-key overrides ("key=value" strings, e.g. from
// `--set`). Every key listed in SimConfigKeys() can be set; anything else is InvalidArgument.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace spatten::sim {

struct SimConfig {
  std::string preset = "full";
  double clock_ghz = 1.0;

  // Datapath (published full configuration: 512 + 512 12-bit multipliers).
  int64_t qk_multipliers = 512;
  int64_t pv_multipliers = 512;
  int64_t softmax_parallelism = 8;  // elements per cycle; the authors use multipliers / D units
  int64_t softmax_dequant_cycles = 7;
  int64_t softmax_exp_cycles = 21;
  int64_t softmax_accumulate_cycles = 23;
  int64_t softmax_divide_cycles = 29;
  int64_t softmax_quant_cycles = 7;

  // Top-k engines (quick-select, random pivot, seeded).
  std::string topk_engine = "quickselect";
  int64_t topk_parallelism = 16;    // comparators per array
  int64_t topk_round_overhead = 3;  // cycles per partition round beyond ceil(n / P)
  uint64_t topk_seed = 1;

  // On-chip buffers (2 x 1024 x 64 x 12 bit each, double buffered).
  int64_t key_sram_bytes = 196 * 1024;
  int64_t value_sram_bytes = 196 * 1024;

  // Progressive quantization and fetch granularity of the authors' harness.
  int64_t lsb_bits = 4;
  int64_t fetch_round = 8;       // key/value fetch counts round up to a multiple of this
  bool fuse_6bit_pairs = true;   // two 6-bit heads share one 12-bit line and one top-k
  bool layer_barrier = false;    // next layer waits for this layer's cascade token top-k

  // DRAM.
  std::string dram = "hbm2";          // "hbm2" or "simple"
  int64_t dram_channels = 16;
  double dram_channel_gbps = 32.0;    // GB/s per channel (128 bit x 2 Gbps)
  int64_t dram_simple_latency = 40;   // cycles, simple model only
  int64_t hbm_pseudo_channels = 2;
  int64_t hbm_banks = 16;             // per pseudo-channel (4 bank groups x 4)
  int64_t hbm_row_bytes = 1024;       // row buffer per pseudo-channel
  int64_t hbm_transaction_bytes = 32;
  int64_t hbm_queue_depth = 64;       // scheduler window per channel, in transactions
  int64_t hbm_tCL = 7, hbm_tRCD = 7, hbm_tRP = 7, hbm_tRAS = 17, hbm_tRRD = 2, hbm_BL = 4;

  // Published power at 1 GHz (full configuration), used to derive per-event energies.
  double power_dram_w = 5.71;
  double power_compute_w = 1.36;
  double power_sram_w = 1.24;

  double PeakDramBytesPerCycle() const { return dram_channels * dram_channel_gbps / clock_ghz; }
};

// Names of all settable keys, for messages and docs.
std::vector<std::string> SimConfigKeys();

// Applies one "key=value" (or key and value) to `config`.
Status ApplyConfigSetting(SimConfig& config, std::string_view key, std::string_view value);

// `base` is "full", "eighth" or the path of a key=value file ('#' comments).
Result<SimConfig> ResolveSimConfig(const std::string& base, const std::vector<std::string>& overrides);

// Checks ranges and cross-key consistency (called by ResolveSimConfig).
Status ValidateSimConfig(const SimConfig& config);

SimConfig PresetFull();
SimConfig PresetEighth();

}  // namespace spatten::sim
