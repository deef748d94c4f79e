// BlockPool: the KV-memory mechanism. KV memory is cut into fixed-size blocks; a block holds
// the keys and values of `block_tokens` consecutive token slots for every layer and KV head of
// the model, so one block table per sequence describes its whole cache. The pool has a byte
// budget, a free list and one block table per sequence. It decides nothing: it answers whether
// an allocation fits, and the scheduler (policy) decides whom to preempt when it does not
// (vLLM v1's split between kv_cache_manager/block_pool and the scheduler).
//
// Contract:
//   * Allocation is all-or-nothing. TryReserve/Reserve either give the sequence every block it
//     needs or change nothing and answer false / ResourceExhausted.
//   * A sequence's block table only grows by Reserve and only shrinks by Shrink (tail blocks)
//     or Free (all). Block ids are in [0, num_blocks()) and each is owned by at most one
//     sequence (no prefix sharing yet, so no reference counts).
//   * Pruning hook: when pruning lowers the tokens a sequence keeps, the cache compacts the kept
//     tokens into the lowest slots and calls Shrink(seq, kept_tokens); the tail blocks that are
//     no longer needed return to the free list at once ("pruned tokens free KV memory").
//   * Invariant: num_used_blocks() + num_free_blocks() == num_blocks(), and the used count is
//     the sum of the block tables' sizes.
//
// Thread safety: every mutating method and BlockTable() belong to one thread (the engine
// thread, which also runs the scheduler). num_used_blocks(), num_free_blocks() and Stats() may
// be read from any thread (server status, metrics): they read relaxed atomics, so a snapshot
// is consistent per field but not across fields.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace spatten::kvcache {

using SeqId = uint64_t;
using BlockId = int32_t;

// How one K or V element is stored. Quantized formats are ggml's block layouts (32 elements
// share an f16 scale; q4_0 packs two elements per byte), so their bytes per element are
// fractional and computed per group.
enum class KvDtype { kF32, kF16, kBF16, kQ8_0, kQ4_0 };

std::string_view KvDtypeName(KvDtype dtype);
// "f32", "f16", "bf16", "q8_0", "q4_0"; InvalidArgument otherwise.
Result<KvDtype> ParseKvDtype(std::string_view name);

// The model dimensions that fix the size of one token's KV.
struct KvGeometry {
  int32_t num_layers = 0;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;  // a multiple of 32 for the quantized dtypes
  KvDtype dtype = KvDtype::kF16;

  // K and V of one token across all layers and KV heads, in bytes.
  uint64_t BytesPerToken() const;
  Status Validate() const;
};

struct BlockPoolConfig {
  KvGeometry geometry;
  int32_t block_tokens = 16;  // token slots per block, >= 1
  // Memory for KV, bytes; the pool holds floor(budget / bytes_per_block) blocks (>= 1).
  uint64_t byte_budget = 0;
};

struct BlockPoolStats {
  int32_t num_blocks = 0;
  int32_t used_blocks = 0;
  int32_t peak_used_blocks = 0;  // high-water mark since creation
  int32_t block_tokens = 0;
  uint64_t bytes_per_block = 0;
  uint64_t UsedBytes() const { return static_cast<uint64_t>(used_blocks) * bytes_per_block; }
  uint64_t TotalBytes() const { return static_cast<uint64_t>(num_blocks) * bytes_per_block; }
};

class BlockPool {
 public:
  // InvalidArgument for a bad geometry or block size, or a budget smaller than one block.
  static Result<BlockPool> Create(const BlockPoolConfig& config);

  BlockPool(BlockPool&& other) noexcept;
  BlockPool& operator=(BlockPool&& other) noexcept;
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;
  ~BlockPool() = default;

  int32_t num_blocks() const { return num_blocks_; }
  int32_t block_tokens() const { return block_tokens_; }
  uint64_t bytes_per_block() const { return bytes_per_block_; }
  int32_t num_used_blocks() const { return used_blocks_.load(std::memory_order_relaxed); }
  int32_t num_free_blocks() const { return num_blocks_ - num_used_blocks(); }
  BlockPoolStats Stats() const;

  // Blocks that hold `num_tokens` token slots: ceil(num_tokens / block_tokens).
  int32_t BlocksForTokens(int64_t num_tokens) const;
  // Blocks `seq` must gain to hold `num_tokens` slots (0 when it already has them).
  int32_t BlocksNeeded(SeqId seq, int64_t num_tokens) const;

  // Grows seq's table to hold `num_tokens` slots (never shrinks it). False, with nothing
  // changed, when too few blocks are free. A new seq gets an empty table first.
  [[nodiscard]] bool TryReserve(SeqId seq, int64_t num_tokens);
  // TryReserve with a message: ResourceExhausted("need N more KV blocks, M free").
  Status Reserve(SeqId seq, int64_t num_tokens);

  // Releases seq's blocks beyond those needed for `num_tokens` slots (the pruning hook; see the
  // file comment). Returns how many blocks were freed; 0 for an unknown seq.
  int32_t Shrink(SeqId seq, int64_t num_tokens);
  // Releases every block of seq and forgets it; returns how many were freed (0 if unknown).
  int32_t Free(SeqId seq);

  bool Contains(SeqId seq) const { return tables_.contains(seq); }
  // The blocks of seq in token order (slot t lives in block t / block_tokens); empty if
  // unknown. Valid until the next mutating call.
  std::span<const BlockId> BlockTable(SeqId seq) const;
  size_t num_sequences() const { return tables_.size(); }

  // Internal consistency (free list + tables partition the blocks); for tests.
  Status CheckInvariants() const;

 private:
  BlockPool(int32_t num_blocks, int32_t block_tokens, uint64_t bytes_per_block);
  void Release(std::vector<BlockId>& table, size_t keep);
  void AddUsed(int32_t delta);

  int32_t num_blocks_ = 0;
  int32_t block_tokens_ = 0;
  uint64_t bytes_per_block_ = 0;
  // LIFO: the most recently freed (cache-warm) block is handed out first.
  std::vector<BlockId> free_list_;
  std::unordered_map<SeqId, std::vector<BlockId>> tables_;
  // Written by the engine thread only; atomics so that other threads may read them.
  std::atomic<int32_t> used_blocks_{0};
  std::atomic<int32_t> peak_used_blocks_{0};
};

}  // namespace spatten::kvcache
