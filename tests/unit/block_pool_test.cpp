// BlockPool: sizing from model dimensions, all-or-nothing allocation, shrinking (the pruning
// hook), freeing, statistics and invariants.
#include "kvcache/block_pool.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace spatten::kvcache {
namespace {

KvGeometry SmallGeometry(KvDtype dtype = KvDtype::kF16) {
  return KvGeometry{.num_layers = 2, .num_kv_heads = 2, .head_dim = 64, .dtype = dtype};
}

BlockPool MakePool(int32_t blocks, int32_t block_tokens = 4) {
  BlockPoolConfig config{.geometry = SmallGeometry(), .block_tokens = block_tokens, .byte_budget = 0};
  config.byte_budget = config.geometry.BytesPerToken() * static_cast<uint64_t>(block_tokens) *
                       static_cast<uint64_t>(blocks);
  auto pool = BlockPool::Create(config);
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  return std::move(pool).value();
}

TEST(KvGeometry, BytesPerTokenFollowsDtype) {
  // K and V x 2 layers x 2 heads x 64 elements.
  EXPECT_EQ(SmallGeometry(KvDtype::kF32).BytesPerToken(), 2u * 2 * 2 * 64 * 4);
  EXPECT_EQ(SmallGeometry(KvDtype::kF16).BytesPerToken(), 2u * 2 * 2 * 64 * 2);
  EXPECT_EQ(SmallGeometry(KvDtype::kBF16).BytesPerToken(), 2u * 2 * 2 * 64 * 2);
  EXPECT_EQ(SmallGeometry(KvDtype::kQ8_0).BytesPerToken(), 2u * 2 * 2 * 2 * 34);
  EXPECT_EQ(SmallGeometry(KvDtype::kQ4_0).BytesPerToken(), 2u * 2 * 2 * 2 * 18);
}

TEST(KvGeometry, RejectsBadDimensions) {
  KvGeometry g = SmallGeometry();
  g.num_layers = 0;
  EXPECT_EQ(g.Validate().code(), StatusCode::kInvalidArgument);
  g = SmallGeometry(KvDtype::kQ8_0);
  g.head_dim = 48;
  Status s = g.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("multiple of 32"), std::string::npos) << s.message();
}

TEST(KvDtype, ParsesNames) {
  for (KvDtype d : {KvDtype::kF32, KvDtype::kF16, KvDtype::kBF16, KvDtype::kQ8_0, KvDtype::kQ4_0}) {
    auto parsed = ParseKvDtype(KvDtypeName(d));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, d);
  }
  EXPECT_EQ(ParseKvDtype("fp8").status().code(), StatusCode::kInvalidArgument);
}

TEST(BlockPool, SizedFromByteBudget) {
  BlockPoolConfig config{.geometry = SmallGeometry(), .block_tokens = 16, .byte_budget = 0};
  const uint64_t per_block = config.geometry.BytesPerToken() * 16;
  config.byte_budget = per_block * 10 + per_block / 2;  // a partial block is not a block
  auto pool = BlockPool::Create(config);
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(pool->num_blocks(), 10);
  EXPECT_EQ(pool->bytes_per_block(), per_block);
  EXPECT_EQ(pool->Stats().TotalBytes(), per_block * 10);

  config.byte_budget = per_block - 1;
  EXPECT_EQ(BlockPool::Create(config).status().code(), StatusCode::kInvalidArgument);
  config.byte_budget = per_block;
  config.block_tokens = 0;
  EXPECT_EQ(BlockPool::Create(config).status().code(), StatusCode::kInvalidArgument);
}

TEST(BlockPool, BlocksForTokensRoundsUp) {
  BlockPool pool = MakePool(8, 4);
  EXPECT_EQ(pool.BlocksForTokens(0), 0);
  EXPECT_EQ(pool.BlocksForTokens(1), 1);
  EXPECT_EQ(pool.BlocksForTokens(4), 1);
  EXPECT_EQ(pool.BlocksForTokens(5), 2);
}

TEST(BlockPool, ReserveGrowsOnlyAndTablesAreDisjoint) {
  BlockPool pool = MakePool(8, 4);
  ASSERT_TRUE(pool.TryReserve(1, 5));  // 2 blocks
  ASSERT_TRUE(pool.TryReserve(2, 4));  // 1 block
  EXPECT_EQ(pool.BlockTable(1).size(), 2u);
  EXPECT_EQ(pool.BlockTable(2).size(), 1u);
  ASSERT_TRUE(pool.TryReserve(1, 3));  // fewer tokens than held: no change
  EXPECT_EQ(pool.BlockTable(1).size(), 2u);
  ASSERT_TRUE(pool.TryReserve(1, 9));  // 3 blocks
  EXPECT_EQ(pool.num_used_blocks(), 4);
  EXPECT_EQ(pool.num_free_blocks(), 4);
  std::set<BlockId> ids;
  for (SeqId s : {1u, 2u}) {
    for (BlockId b : pool.BlockTable(s)) EXPECT_TRUE(ids.insert(b).second);
  }
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPool, FailedReserveHasNoSideEffects) {
  BlockPool pool = MakePool(4, 4);
  ASSERT_TRUE(pool.TryReserve(1, 12));  // 3 of 4 blocks
  EXPECT_FALSE(pool.TryReserve(2, 8));  // needs 2, 1 free
  EXPECT_FALSE(pool.Contains(2));       // not even an empty table was left behind
  EXPECT_FALSE(pool.TryReserve(1, 20));
  EXPECT_EQ(pool.BlockTable(1).size(), 3u);
  EXPECT_EQ(pool.num_used_blocks(), 3);
  Status s = pool.Reserve(2, 8);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("1 of 4 free"), std::string::npos) << s.message();
  EXPECT_TRUE(pool.Reserve(2, 4).ok());
  EXPECT_EQ(pool.num_free_blocks(), 0);
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPool, ShrinkReleasesTailBlocks) {
  BlockPool pool = MakePool(8, 4);
  ASSERT_TRUE(pool.TryReserve(7, 32));  // all 8 blocks
  const std::vector<BlockId> before(pool.BlockTable(7).begin(), pool.BlockTable(7).end());
  EXPECT_EQ(pool.Shrink(7, 10), 5);     // pruned to 10 kept tokens: 3 blocks remain
  ASSERT_EQ(pool.BlockTable(7).size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(pool.BlockTable(7)[i], before[i]);  // head kept
  EXPECT_EQ(pool.Shrink(7, 12), 0);     // growing is Reserve's job
  EXPECT_EQ(pool.Shrink(99, 0), 0);     // unknown sequence
  EXPECT_EQ(pool.num_used_blocks(), 3);
  EXPECT_EQ(pool.Stats().peak_used_blocks, 8);
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPool, FreeReturnsEverythingAndForgetsTheSequence) {
  BlockPool pool = MakePool(8, 4);
  ASSERT_TRUE(pool.TryReserve(1, 16));
  ASSERT_TRUE(pool.TryReserve(2, 1));
  EXPECT_EQ(pool.Free(1), 4);
  EXPECT_FALSE(pool.Contains(1));
  EXPECT_EQ(pool.Free(1), 0);
  EXPECT_EQ(pool.Free(2), 1);
  EXPECT_EQ(pool.num_used_blocks(), 0);
  EXPECT_EQ(pool.num_sequences(), 0u);
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPool, MovePreservesState) {
  BlockPool pool = MakePool(8, 4);
  ASSERT_TRUE(pool.TryReserve(3, 8));
  BlockPool moved = std::move(pool);
  EXPECT_EQ(moved.num_used_blocks(), 2);
  EXPECT_EQ(moved.BlockTable(3).size(), 2u);
  EXPECT_TRUE(moved.CheckInvariants().ok());
}

// Random reserve / shrink / free against a simple model of how many blocks each sequence has.
TEST(BlockPool, RandomOperationsKeepInvariants) {
  BlockPool pool = MakePool(64, 8);
  std::mt19937 rng(20240601);
  std::vector<int64_t> tokens(16, 0);
  for (int iter = 0; iter < 20000; ++iter) {
    const SeqId seq = rng() % tokens.size();
    const int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      const int64_t want = tokens[seq] + static_cast<int64_t>(rng() % 40);
      const int32_t free_before = pool.num_free_blocks();
      const int32_t needed = pool.BlocksNeeded(seq, want);
      const bool ok = pool.TryReserve(seq, want);
      ASSERT_EQ(ok, needed <= free_before);
      if (ok) {
        tokens[seq] = want;
      } else {
        ASSERT_EQ(pool.num_free_blocks(), free_before);
      }
    } else if (op < 9) {
      const int64_t keep = tokens[seq] == 0 ? 0 : static_cast<int64_t>(rng() % static_cast<uint64_t>(tokens[seq] + 1));
      pool.Shrink(seq, keep);
      tokens[seq] = keep;
    } else {
      pool.Free(seq);
      tokens[seq] = 0;
    }
    int32_t expected_used = 0;
    for (SeqId s = 0; s < tokens.size(); ++s) {
      ASSERT_EQ(static_cast<int32_t>(pool.BlockTable(s).size()), pool.BlocksForTokens(tokens[s]));
      expected_used += pool.BlocksForTokens(tokens[s]);
    }
    ASSERT_EQ(pool.num_used_blocks(), expected_used);
    if (iter % 500 == 0) {
      ASSERT_TRUE(pool.CheckInvariants().ok());
    }
  }
  for (SeqId s = 0; s < tokens.size(); ++s) pool.Free(s);
  EXPECT_EQ(pool.num_used_blocks(), 0);
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

}  // namespace
}  // namespace spatten::kvcache
