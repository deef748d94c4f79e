// Simulator acceptance and properties: the GPT-2 trace's DRAM reduction against the dense
// baseline, cycles never below the DRAM or multiplier bound, monotonicity, determinism,
// and configuration errors.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sim/config.h"
#include "sim/simulator.h"
#include "sim/workload_csv.h"

namespace spatten::sim {
namespace {

const std::string kGpt2Trace =
    std::string(SPATTEN_SOURCE_ROOT) + "/../shared/workloads/summary-gpt2-small-wikitext2-per8.csv";

SimConfig Config(const std::string& preset, const std::string& dram) {
  auto c = ResolveSimConfig(preset, {"dram=" + dram});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

// A small synthetic decode trace: 2 steps x 4 layers x 8 heads, cascade-pruned.
Workload Synthetic(int keys_percent = 100, int key_bits = 8) {
  Workload w;
  w.name = "synthetic";
  for (int it = 0; it < 2; ++it)
    for (int layer = 0; layer < 4; ++layer)
      for (int head = 0; head < 8; ++head) {
        AttentionRow r;
        r.iteration = it;
        r.layer = layer;
        r.head = head;
        r.sentence_length = 512 + it;
        r.key_fetch = std::max(1, (layer == 0 ? 512 : 200) * keys_percent / 100);
        r.value_fetch = std::max(1, r.key_fetch / 5);
        r.key_bits = key_bits;
        r.value_bits = key_bits;
        r.requant = head % 5 == 0;
        r.requant_queries = r.requant ? 1 : 0;
        w.rows.push_back(r);
      }
  return w;
}

uint64_t Cycles(const Workload& w, const SimConfig& c) {
  auto r = Simulate(w, c);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->spatten.total_cycles : 0;
}

TEST(SimModel, Gpt2TraceDramReductionIsAboutNineAndBoundsHold) {
  if (!std::filesystem::exists(kGpt2Trace)) GTEST_SKIP() << "workload not found: " << kGpt2Trace;
  auto w = LoadWorkloadCsv(kGpt2Trace);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (const std::string preset : {"full", "eighth"}) {
    for (const std::string dram : {"simple", "hbm2"}) {
      auto r = Simulate(*w, Config(preset, dram));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_NEAR(r->DramReduction(), 9.0, 0.9) << preset << "/" << dram;
      for (const PipelineResult* p : {&r->spatten, &r->dense}) {
        EXPECT_GE(p->total_cycles, r->DramBoundCycles(*p)) << preset << "/" << dram;
        EXPECT_GE(p->total_cycles, r->MultiplierBoundCycles(*p)) << preset << "/" << dram;
      }
      EXPECT_GT(r->Speedup(), 1.0);
      uint64_t layer_sum = 0;
      for (const LayerBreakdown& l : r->spatten.layers) layer_sum += l.cycles;
      EXPECT_EQ(layer_sum, r->spatten.total_cycles);
    }
  }
}

TEST(SimModel, FewerKeptTokensNeverIncreaseCycles) {
  for (const std::string dram : {"simple", "hbm2"})
    for (const std::string preset : {"full", "eighth"}) {
      const SimConfig c = Config(preset, dram);
      uint64_t previous = Cycles(Synthetic(100), c);
      for (int percent : {80, 50, 25, 10}) {
        const uint64_t now = Cycles(Synthetic(percent), c);
        EXPECT_LE(now, previous) << preset << "/" << dram << " at " << percent << "%";
        previous = now;
      }
    }
}

TEST(SimModel, FewerBitsNeverIncreaseCycles) {
  for (const std::string dram : {"simple", "hbm2"}) {
    const SimConfig c = Config("full", dram);
    EXPECT_LE(Cycles(Synthetic(100, 6), c), Cycles(Synthetic(100, 8), c)) << dram;
    // Fused 6-bit pairs share buffer lines and a top-k, which 4-bit rows do not (as in the
    // authors' datapath); compare 4 with 6 bits on equal terms, without fusion.
    SimConfig unfused = c;
    unfused.fuse_6bit_pairs = false;
    EXPECT_LE(Cycles(Synthetic(100, 4), unfused), Cycles(Synthetic(100, 6), unfused)) << dram;
    EXPECT_LE(Cycles(Synthetic(100, 6), c), Cycles(Synthetic(100, 6), unfused)) << dram;
    EXPECT_LE(Cycles(Synthetic(100, 8), c), Cycles(Synthetic(100, -1), c)) << dram;
  }
}

TEST(SimModel, MoreChannelsNeverIncreaseCycles) {
  for (const std::string dram : {"simple", "hbm2"}) {
    uint64_t previous = UINT64_MAX;
    for (int channels : {1, 2, 4, 8, 16, 32}) {
      auto c = ResolveSimConfig("full", {"dram=" + dram, "dram_channels=" + std::to_string(channels)});
      ASSERT_TRUE(c.ok());
      const uint64_t now = Cycles(Synthetic(), *c);
      EXPECT_LE(now, previous) << dram << " " << channels << " channels";
      previous = now;
    }
  }
}

TEST(SimModel, DeterministicOutput) {
  const Workload w = Synthetic();
  const SimConfig c = Config("eighth", "hbm2");
  auto a = Simulate(w, c);
  auto b = Simulate(w, c);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(FormatReportJson(*a), FormatReportJson(*b));
  EXPECT_EQ(FormatReportText(*a), FormatReportText(*b));
}

TEST(SimModel, SmallCsvDenseRowMatchesBaselineTraffic) {
  // One unquantized, unpruned row: SpAtten fetches what the dense baseline fetches.
  auto w = ParseWorkloadCsv(
      "iteration_id,layer_id,head_id,embedding_length_D,sentence_length_L,key_fetch_num,quant_key_bit,"
      "quant_query_bit,auto_requant_thres,if_requant,auto_requant_incre,value_fetch_num,quant_value_bit,"
      "if_accumulate_importance,if_rescale_previous_importance,if_topk,topk\n"
      "0,0,0,64.0,993,993,-1,-1,-1,False,-1,993,-1,True,False,False,-1\n",
      "small");
  ASSERT_TRUE(w.ok());
  auto r = Simulate(*w, Config("full", "hbm2"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spatten.dram.Total(), r->dense.dram.Total());
  EXPECT_EQ(r->spatten.dram.Total(), 1000u * 64 * (8 + 4 + 8) / 8);
}

TEST(SimConfig, PresetsFilesAndUnknownKeys) {
  auto e = ResolveSimConfig("eighth", {});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->qk_multipliers, 64);
  EXPECT_EQ(e->dram_channels, 2);
  EXPECT_DOUBLE_EQ(e->PeakDramBytesPerCycle(), 64.0);
  auto bad = ResolveSimConfig("full", {"qk_multiplier=64"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown config key 'qk_multiplier'"), std::string::npos);
  EXPECT_FALSE(ResolveSimConfig("full", {"dram_channels=abc"}).ok());
  EXPECT_FALSE(ResolveSimConfig("full", {"dram=ddr9"}).ok());
  EXPECT_FALSE(ResolveSimConfig("no-such-preset-or-file", {}).ok());
  const std::string path = ::testing::TempDir() + "/sim_config_test.cfg";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("# test\npreset = eighth\ndram_channels = 4\n", f);
    std::fclose(f);
  }
  auto file = ResolveSimConfig(path, {"qk_multipliers=128"});
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->dram_channels, 4);
  EXPECT_EQ(file->qk_multipliers, 128);
  EXPECT_EQ(file->pv_multipliers, 64);
}

}  // namespace
}  // namespace spatten::sim
