// Synthetic traces (sim/dense_trace.h): shape, growth per step, pruning from keep ratios, bounds,
// and that they run through the simulator.

#include <gtest/gtest.h>

#include <map>
#include <utility>

#include "sim/config.h"
#include "sim/dense_trace.h"
#include "sim/simulator.h"

namespace spatten::sim {
namespace {

DenseTraceSpec Spec(int32_t layers, int32_t heads, int32_t ctx, int32_t gen) {
  DenseTraceSpec s;
  s.layers = layers;
  s.heads = heads;
  s.head_dim = 64;
  s.context_tokens = ctx;
  s.generated_tokens = gen;
  return s;
}

TEST(SimDenseTrace, RowCountIsLayersTimesHeadsTimesSteps) {
  const auto spec = Spec(3, 4, 10, 5);
  auto w = BuildDenseTrace(spec);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->rows.size(), 3u * 4u * 5u);
  EXPECT_EQ(TraceRows(spec), 60);
  EXPECT_EQ(w->format, WorkloadFormat::kGpt2);
}

TEST(SimDenseTrace, KeysGrowByOnePerStepAndNothingIsPrunedOrQuantized) {
  auto w = BuildDenseTrace(Spec(2, 3, 7, 4));
  ASSERT_TRUE(w.ok());
  std::map<int32_t, int32_t> len_by_step;
  for (const AttentionRow& r : w->rows) {
    EXPECT_EQ(r.sentence_length, 7 + r.iteration);
    EXPECT_EQ(r.key_fetch, r.sentence_length);
    EXPECT_EQ(r.value_fetch, r.sentence_length);
    EXPECT_EQ(r.key_bits, -1);
    EXPECT_EQ(r.value_bits, -1);
    EXPECT_EQ(r.queries, 1);
    EXPECT_EQ(r.head_dim, 64);
    EXPECT_FALSE(r.token_topk);
    EXPECT_FALSE(r.requant);
    len_by_step[r.iteration] = r.key_fetch;
  }
  ASSERT_EQ(len_by_step.size(), 4u);
  for (int32_t s = 1; s < 4; ++s) EXPECT_EQ(len_by_step[s], len_by_step[s - 1] + 1);
  // Trace order: step-major, then layer, then head.
  EXPECT_EQ(w->rows[0].iteration, 0);
  EXPECT_EQ(w->rows[0].layer, 0);
  EXPECT_EQ(w->rows[1].head, 1);
  EXPECT_EQ(w->rows[3].layer, 1);
  EXPECT_EQ(w->rows.back().iteration, 3);
}

TEST(SimDenseTrace, PrunedVariantFollowsKeepRatios) {
  PruneSpec p;
  p.token_keep = 0.5;
  p.head_keep = 0.5;
  p.value_keep = 0.25;
  p.key_bits = p.value_bits = 8;
  auto w = BuildPrunedTrace(Spec(3, 4, 100, 2), p);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  // Layer 0 unpruned (4 heads), layers 1-2 keep 2 heads: (4 + 2 + 2) rows per step.
  EXPECT_EQ(w->rows.size(), 2u * 8u);
  for (const AttentionRow& r : w->rows) {
    const int32_t len = 100 + r.iteration;
    if (r.layer == 0) {
      EXPECT_EQ(r.key_fetch, len);
    } else {
      EXPECT_EQ(r.key_fetch, (len + 1) / 2);
      EXPECT_LT(r.head, 2);
    }
    EXPECT_EQ(r.key_bits, 8);
    EXPECT_LE(r.value_fetch, (r.key_fetch + 3) / 4);
    // The cascade top-k ends layers 0 and 1 (on their last head), keeping the next layer's keys.
    if (r.token_topk) {
      EXPECT_LT(r.layer, 2);
      EXPECT_EQ(r.token_topk_keep, (len + 1) / 2);
    }
  }
  // Keep ratios of 1 give back the dense trace.
  auto same = BuildPrunedTrace(Spec(2, 2, 9, 3), PruneSpec{});
  auto dense = BuildDenseTrace(Spec(2, 2, 9, 3));
  ASSERT_TRUE(same.ok() && dense.ok());
  ASSERT_EQ(same->rows.size(), dense->rows.size());
  for (size_t i = 0; i < same->rows.size(); ++i) EXPECT_EQ(same->rows[i].key_fetch, dense->rows[i].key_fetch);
}

TEST(SimDenseTrace, RejectsBadShapesAndTooManyRows) {
  EXPECT_FALSE(BuildDenseTrace(Spec(0, 4, 10, 5)).ok());
  EXPECT_FALSE(BuildDenseTrace(Spec(2, 4, 0, 5)).ok());
  EXPECT_FALSE(BuildDenseTrace(Spec(2, 4, 10, 0)).ok());
  auto big = BuildDenseTrace(Spec(100, 100, 10, 1000), 1000);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(big.status().message().find("rows"), std::string::npos);
  PruneSpec bad;
  bad.token_keep = 0;
  EXPECT_FALSE(BuildPrunedTrace(Spec(2, 2, 10, 2), bad).ok());
  bad = PruneSpec{};
  bad.key_bits = 5;
  EXPECT_FALSE(BuildPrunedTrace(Spec(2, 2, 10, 2), bad).ok());
}

TEST(SimDenseTrace, SimulatesAndPruningReducesTraffic) {
  auto config = ResolveSimConfig("full", {});
  ASSERT_TRUE(config.ok());
  const auto spec = Spec(4, 4, 256, 4);
  auto dense = BuildDenseTrace(spec);
  ASSERT_TRUE(dense.ok());
  auto r = Simulate(*dense, *config);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->spatten.total_cycles, 0u);
  EXPECT_EQ(r->rows, 64u);
  // No pruning, no quantization: the same bytes as the dense baseline.
  EXPECT_EQ(r->spatten.dram.Total(), r->dense.dram.Total());

  PruneSpec p;
  p.token_keep = 0.25;
  p.value_keep = 0.5;
  p.key_bits = p.value_bits = 8;
  auto pruned = BuildPrunedTrace(spec, p);
  ASSERT_TRUE(pruned.ok());
  auto rp = Simulate(*pruned, *config);
  ASSERT_TRUE(rp.ok()) << rp.status().ToString();
  EXPECT_LT(rp->spatten.dram.Total(), r->spatten.dram.Total());
  EXPECT_EQ(rp->dense.dram.Total(), r->dense.dram.Total());
}

}  // namespace
}  // namespace spatten::sim
