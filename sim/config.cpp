// Presets, the key table and validation for SimConfig.

#include "sim/config.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace spatten::sim {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Status BadValue(std::string_view key, std::string_view value, std::string_view what) {
  return InvalidArgument("config key '" + std::string(key) + "': '" + std::string(value) + "' " + std::string(what));
}

using Setter = std::function<Status(SimConfig&, std::string_view key, std::string_view value)>;

Setter IntKey(int64_t SimConfig::*field, int64_t lo, int64_t hi) {
  return [field, lo, hi](SimConfig& c, std::string_view key, std::string_view v) -> Status {
    int64_t x = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size()) return BadValue(key, v, "is not an integer");
    if (x < lo || x > hi)
      return BadValue(key, v, "is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    c.*field = x;
    return Status::Ok();
  };
}

Setter RealKey(double SimConfig::*field, double lo, double hi) {
  return [field, lo, hi](SimConfig& c, std::string_view key, std::string_view v) -> Status {
    double x = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || !std::isfinite(x))
      return BadValue(key, v, "is not a number");
    if (x < lo || x > hi) return BadValue(key, v, "is out of range");
    c.*field = x;
    return Status::Ok();
  };
}

Setter BoolKey(bool SimConfig::*field) {
  return [field](SimConfig& c, std::string_view key, std::string_view v) -> Status {
    if (v == "true" || v == "1" || v == "True") c.*field = true;
    else if (v == "false" || v == "0" || v == "False") c.*field = false;
    else return BadValue(key, v, "is not a boolean");
    return Status::Ok();
  };
}

Setter ChoiceKey(std::string SimConfig::*field, std::vector<std::string> choices) {
  return [field, choices](SimConfig& c, std::string_view key, std::string_view v) -> Status {
    for (const std::string& s : choices)
      if (s == v) { c.*field = s; return Status::Ok(); }
    std::string all;
    for (const std::string& s : choices) all += (all.empty() ? "" : ", ") + s;
    return BadValue(key, v, "is not one of: " + all);
  };
}

const std::map<std::string, Setter, std::less<>>& KeyTable() {
  static const auto* table = new std::map<std::string, Setter, std::less<>>{
      {"clock_ghz", RealKey(&SimConfig::clock_ghz, 0.01, 100)},
      {"qk_multipliers", IntKey(&SimConfig::qk_multipliers, 1, 1 << 20)},
      {"pv_multipliers", IntKey(&SimConfig::pv_multipliers, 1, 1 << 20)},
      {"softmax_parallelism", IntKey(&SimConfig::softmax_parallelism, 1, 1 << 16)},
      {"softmax_dequant_cycles", IntKey(&SimConfig::softmax_dequant_cycles, 0, 1 << 16)},
      {"softmax_exp_cycles", IntKey(&SimConfig::softmax_exp_cycles, 0, 1 << 16)},
      {"softmax_accumulate_cycles", IntKey(&SimConfig::softmax_accumulate_cycles, 0, 1 << 16)},
      {"softmax_divide_cycles", IntKey(&SimConfig::softmax_divide_cycles, 0, 1 << 16)},
      {"softmax_quant_cycles", IntKey(&SimConfig::softmax_quant_cycles, 0, 1 << 16)},
      {"topk_engine", ChoiceKey(&SimConfig::topk_engine, {"quickselect", "expected"})},
      {"topk_parallelism", IntKey(&SimConfig::topk_parallelism, 1, 1 << 16)},
      {"topk_round_overhead", IntKey(&SimConfig::topk_round_overhead, 0, 1 << 16)},
      {"topk_seed", [](SimConfig& c, std::string_view key, std::string_view v) -> Status {
         uint64_t x = 0;
         auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
         if (v.empty() || ec != std::errc() || p != v.data() + v.size()) return BadValue(key, v, "is not an integer");
         c.topk_seed = x;
         return Status::Ok();
       }},
      {"key_sram_bytes", IntKey(&SimConfig::key_sram_bytes, 1024, int64_t{1} << 34)},
      {"value_sram_bytes", IntKey(&SimConfig::value_sram_bytes, 1024, int64_t{1} << 34)},
      {"lsb_bits", IntKey(&SimConfig::lsb_bits, 1, 16)},
      {"fetch_round", IntKey(&SimConfig::fetch_round, 1, 4096)},
      {"fuse_6bit_pairs", BoolKey(&SimConfig::fuse_6bit_pairs)},
      {"layer_barrier", BoolKey(&SimConfig::layer_barrier)},
      {"dram", ChoiceKey(&SimConfig::dram, {"hbm2", "simple"})},
      {"dram_channels", IntKey(&SimConfig::dram_channels, 1, 1024)},
      {"dram_channel_gbps", RealKey(&SimConfig::dram_channel_gbps, 0.01, 1e5)},
      {"dram_simple_latency", IntKey(&SimConfig::dram_simple_latency, 0, 1 << 20)},
      {"hbm_pseudo_channels", IntKey(&SimConfig::hbm_pseudo_channels, 1, 16)},
      {"hbm_banks", IntKey(&SimConfig::hbm_banks, 1, 256)},
      {"hbm_row_bytes", IntKey(&SimConfig::hbm_row_bytes, 32, 1 << 16)},
      {"hbm_transaction_bytes", IntKey(&SimConfig::hbm_transaction_bytes, 8, 4096)},
      {"hbm_queue_depth", IntKey(&SimConfig::hbm_queue_depth, 1, 4096)},
      {"hbm_tCL", IntKey(&SimConfig::hbm_tCL, 0, 1000)},
      {"hbm_tRCD", IntKey(&SimConfig::hbm_tRCD, 0, 1000)},
      {"hbm_tRP", IntKey(&SimConfig::hbm_tRP, 0, 1000)},
      {"hbm_tRAS", IntKey(&SimConfig::hbm_tRAS, 0, 1000)},
      {"hbm_tRRD", IntKey(&SimConfig::hbm_tRRD, 0, 1000)},
      {"hbm_BL", IntKey(&SimConfig::hbm_BL, 2, 64)},
      {"power_dram_w", RealKey(&SimConfig::power_dram_w, 0, 1e4)},
      {"power_compute_w", RealKey(&SimConfig::power_compute_w, 0, 1e4)},
      {"power_sram_w", RealKey(&SimConfig::power_sram_w, 0, 1e4)},
  };
  return *table;
}

}  // namespace

SimConfig PresetFull() { return SimConfig{}; }

// The authors' default run (run_spatten_hardware.py): 64 multipliers per array, DRAM scaled
// down 8x to 2 channels, top-k parallelism 16. Their model instantiates multipliers / D
// softmax units, so the softmax handles one element per cycle here, matching one key per
// cycle out of the Q.K array.
SimConfig PresetEighth() {
  SimConfig c;
  c.preset = "eighth";
  c.qk_multipliers = 64;
  c.pv_multipliers = 64;
  c.softmax_parallelism = 1;
  c.dram_channels = 2;
  return c;
}

std::vector<std::string> SimConfigKeys() {
  std::vector<std::string> keys;
  for (const auto& [k, setter] : KeyTable()) keys.push_back(k);
  return keys;
}

Status ApplyConfigSetting(SimConfig& config, std::string_view key, std::string_view value) {
  key = Trim(key);
  value = Trim(value);
  auto it = KeyTable().find(key);
  if (it == KeyTable().end()) return InvalidArgument("unknown config key '" + std::string(key) + "'");
  return it->second(config, key, value);
}

Status ValidateSimConfig(const SimConfig& c) {
  auto pow2 = [](int64_t x) { return x > 0 && (x & (x - 1)) == 0; };
  if (c.dram == "hbm2") {
    if (!pow2(c.dram_channels) || !pow2(c.hbm_pseudo_channels) || !pow2(c.hbm_banks) ||
        !pow2(c.hbm_row_bytes) || !pow2(c.hbm_transaction_bytes))
      return InvalidArgument("hbm2: channels, pseudo-channels, banks, row bytes and transaction bytes must be powers of two");
    if (c.hbm_row_bytes < c.hbm_transaction_bytes)
      return InvalidArgument("hbm2: hbm_row_bytes must be at least hbm_transaction_bytes");
  }
  return Status::Ok();
}

Result<SimConfig> ResolveSimConfig(const std::string& base, const std::vector<std::string>& overrides) {
  SimConfig c;
  if (base.empty() || base == "full") {
    c = PresetFull();
  } else if (base == "eighth") {
    c = PresetEighth();
  } else {
    std::ifstream in(base);
    if (!in) return NotFound("config '" + base + "' is neither a preset (full, eighth) nor a readable file");
    std::string line;
    int line_no = 0;
    std::vector<std::pair<std::string, std::string>> settings;
    while (std::getline(in, line)) {
      ++line_no;
      if (line_no > 10000) return InvalidArgument(base + ": more than 10000 lines");
      std::string_view s = Trim(line);
      if (size_t hash = s.find('#'); hash != std::string_view::npos) s = Trim(s.substr(0, hash));
      if (s.empty()) continue;
      size_t eq = s.find('=');
      if (eq == std::string_view::npos)
        return InvalidArgument(base + ":" + std::to_string(line_no) + ": expected key = value");
      std::string key(Trim(s.substr(0, eq))), value(Trim(s.substr(eq + 1)));
      if (key == "preset") {
        if (value == "full") c = PresetFull();
        else if (value == "eighth") c = PresetEighth();
        else return InvalidArgument(base + ":" + std::to_string(line_no) + ": unknown preset '" + value + "'");
        continue;
      }
      settings.emplace_back(key, value);
    }
    c.preset = base;
    for (const auto& [k, v] : settings) SPATTEN_RETURN_IF_ERROR(ApplyConfigSetting(c, k, v).WithContext(base));
  }
  for (const std::string& o : overrides) {
    size_t eq = o.find('=');
    if (eq == std::string::npos) return InvalidArgument("override '" + o + "' is not key=value");
    SPATTEN_RETURN_IF_ERROR(ApplyConfigSetting(c, std::string_view(o).substr(0, eq), std::string_view(o).substr(eq + 1)));
  }
  SPATTEN_RETURN_IF_ERROR(ValidateSimConfig(c));
  return c;
}

}  // namespace spatten::sim
