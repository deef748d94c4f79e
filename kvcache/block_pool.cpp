// BlockPool implementation: a LIFO free list and per-sequence block tables (see block_pool.h).
#include "kvcache/block_pool.h"

#include <algorithm>
#include <limits>
#include <string>

namespace spatten::kvcache {
namespace {

// Bytes of `n` elements (n a multiple of 32 for the quantized formats): ggml's q8_0 block is
// an f16 scale + 32 int8 (34 bytes), q4_0 an f16 scale + 16 packed bytes (18 bytes).
uint64_t ElementBytes(KvDtype dtype, uint64_t n) {
  switch (dtype) {
    case KvDtype::kF32: return n * 4;
    case KvDtype::kF16:
    case KvDtype::kBF16: return n * 2;
    case KvDtype::kQ8_0: return n / 32 * 34;
    case KvDtype::kQ4_0: return n / 32 * 18;
  }
  return 0;
}

bool IsQuantized(KvDtype dtype) { return dtype == KvDtype::kQ8_0 || dtype == KvDtype::kQ4_0; }

}  // namespace

std::string_view KvDtypeName(KvDtype dtype) {
  switch (dtype) {
    case KvDtype::kF32: return "f32";
    case KvDtype::kF16: return "f16";
    case KvDtype::kBF16: return "bf16";
    case KvDtype::kQ8_0: return "q8_0";
    case KvDtype::kQ4_0: return "q4_0";
  }
  return "?";
}

Result<KvDtype> ParseKvDtype(std::string_view name) {
  for (KvDtype d : {KvDtype::kF32, KvDtype::kF16, KvDtype::kBF16, KvDtype::kQ8_0, KvDtype::kQ4_0}) {
    if (name == KvDtypeName(d)) return d;
  }
  return InvalidArgument("kv dtype: unknown '" + std::string(name) +
                         "' (expected f32, f16, bf16, q8_0 or q4_0)");
}

uint64_t KvGeometry::BytesPerToken() const {
  // K and V, each num_kv_heads rows of head_dim elements, in every layer.
  return 2ull * static_cast<uint64_t>(num_layers) * static_cast<uint64_t>(num_kv_heads) *
         ElementBytes(dtype, static_cast<uint64_t>(head_dim));
}

Status KvGeometry::Validate() const {
  if (num_layers < 1) return InvalidArgument("kv geometry: num_layers must be >= 1");
  if (num_kv_heads < 1) return InvalidArgument("kv geometry: num_kv_heads must be >= 1");
  if (head_dim < 1) return InvalidArgument("kv geometry: head_dim must be >= 1");
  if (IsQuantized(dtype) && head_dim % 32 != 0) {
    return InvalidArgument("kv geometry: head_dim " + std::to_string(head_dim) +
                           " is not a multiple of 32, required by " + std::string(KvDtypeName(dtype)));
  }
  return Status::Ok();
}

Result<BlockPool> BlockPool::Create(const BlockPoolConfig& config) {
  SPATTEN_RETURN_IF_ERROR(config.geometry.Validate());
  if (config.block_tokens < 1) return InvalidArgument("kv block_tokens must be >= 1");
  const uint64_t bytes_per_block =
      config.geometry.BytesPerToken() * static_cast<uint64_t>(config.block_tokens);
  const uint64_t blocks = config.byte_budget / bytes_per_block;
  if (blocks < 1) {
    return InvalidArgument("kv byte budget " + std::to_string(config.byte_budget) +
                           " is smaller than one block (" + std::to_string(bytes_per_block) +
                           " bytes)");
  }
  // Block ids are int32; a budget beyond that many blocks is capped rather than refused
  // because it is never reachable in practice and capping is harmless.
  const auto capped = static_cast<int32_t>(
      std::min<uint64_t>(blocks, static_cast<uint64_t>(std::numeric_limits<int32_t>::max())));
  return BlockPool(capped, config.block_tokens, bytes_per_block);
}

BlockPool::BlockPool(int32_t num_blocks, int32_t block_tokens, uint64_t bytes_per_block)
    : num_blocks_(num_blocks), block_tokens_(block_tokens), bytes_per_block_(bytes_per_block) {
  free_list_.reserve(static_cast<size_t>(num_blocks));
  // Pushed in descending order so that the first allocations get blocks 0, 1, 2, ...
  for (BlockId b = num_blocks - 1; b >= 0; --b) free_list_.push_back(b);
}

BlockPool::BlockPool(BlockPool&& other) noexcept
    : num_blocks_(other.num_blocks_),
      block_tokens_(other.block_tokens_),
      bytes_per_block_(other.bytes_per_block_),
      free_list_(std::move(other.free_list_)),
      tables_(std::move(other.tables_)),
      used_blocks_(other.used_blocks_.load(std::memory_order_relaxed)),
      peak_used_blocks_(other.peak_used_blocks_.load(std::memory_order_relaxed)) {}

BlockPool& BlockPool::operator=(BlockPool&& other) noexcept {
  num_blocks_ = other.num_blocks_;
  block_tokens_ = other.block_tokens_;
  bytes_per_block_ = other.bytes_per_block_;
  free_list_ = std::move(other.free_list_);
  tables_ = std::move(other.tables_);
  used_blocks_.store(other.used_blocks_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  peak_used_blocks_.store(other.peak_used_blocks_.load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
  return *this;
}

BlockPoolStats BlockPool::Stats() const {
  BlockPoolStats s;
  s.num_blocks = num_blocks_;
  s.used_blocks = used_blocks_.load(std::memory_order_relaxed);
  s.peak_used_blocks = peak_used_blocks_.load(std::memory_order_relaxed);
  s.block_tokens = block_tokens_;
  s.bytes_per_block = bytes_per_block_;
  return s;
}

int32_t BlockPool::BlocksForTokens(int64_t num_tokens) const {
  if (num_tokens <= 0) return 0;
  const int64_t blocks = (num_tokens + block_tokens_ - 1) / block_tokens_;
  return static_cast<int32_t>(std::min<int64_t>(blocks, std::numeric_limits<int32_t>::max()));
}

int32_t BlockPool::BlocksNeeded(SeqId seq, int64_t num_tokens) const {
  const int32_t want = BlocksForTokens(num_tokens);
  auto it = tables_.find(seq);
  const auto have = it == tables_.end() ? 0 : static_cast<int32_t>(it->second.size());
  return std::max(0, want - have);
}

void BlockPool::AddUsed(int32_t delta) {
  // Only the engine thread writes, so load + store is enough (no read-modify-write race).
  const int32_t used = used_blocks_.load(std::memory_order_relaxed) + delta;
  used_blocks_.store(used, std::memory_order_relaxed);
  if (used > peak_used_blocks_.load(std::memory_order_relaxed)) {
    peak_used_blocks_.store(used, std::memory_order_relaxed);
  }
}

bool BlockPool::TryReserve(SeqId seq, int64_t num_tokens) {
  const int32_t needed = BlocksNeeded(seq, num_tokens);
  if (needed > static_cast<int32_t>(free_list_.size())) return false;
  std::vector<BlockId>& table = tables_[seq];
  for (int32_t i = 0; i < needed; ++i) {
    table.push_back(free_list_.back());
    free_list_.pop_back();
  }
  if (needed > 0) AddUsed(needed);
  return true;
}

Status BlockPool::Reserve(SeqId seq, int64_t num_tokens) {
  if (TryReserve(seq, num_tokens)) return Status::Ok();
  return ResourceExhausted("KV cache: sequence " + std::to_string(seq) + " needs " +
                           std::to_string(BlocksNeeded(seq, num_tokens)) + " more blocks for " +
                           std::to_string(num_tokens) + " tokens, " +
                           std::to_string(free_list_.size()) + " of " +
                           std::to_string(num_blocks_) + " free");
}

void BlockPool::Release(std::vector<BlockId>& table, size_t keep) {
  const auto freed = static_cast<int32_t>(table.size() - keep);
  // Tail first, so the most recently used block is reused first.
  while (table.size() > keep) {
    free_list_.push_back(table.back());
    table.pop_back();
  }
  if (freed > 0) AddUsed(-freed);
}

int32_t BlockPool::Shrink(SeqId seq, int64_t num_tokens) {
  auto it = tables_.find(seq);
  if (it == tables_.end()) return 0;
  const auto keep = static_cast<size_t>(BlocksForTokens(num_tokens));
  if (it->second.size() <= keep) return 0;
  const auto freed = static_cast<int32_t>(it->second.size() - keep);
  Release(it->second, keep);
  return freed;
}

int32_t BlockPool::Free(SeqId seq) {
  auto it = tables_.find(seq);
  if (it == tables_.end()) return 0;
  const auto freed = static_cast<int32_t>(it->second.size());
  Release(it->second, 0);
  tables_.erase(it);
  return freed;
}

std::span<const BlockId> BlockPool::BlockTable(SeqId seq) const {
  auto it = tables_.find(seq);
  if (it == tables_.end()) return {};
  return it->second;
}

Status BlockPool::CheckInvariants() const {
  std::vector<uint8_t> seen(static_cast<size_t>(num_blocks_), 0);
  auto mark = [&](BlockId b, std::string_view where) -> Status {
    if (b < 0 || b >= num_blocks_) return Internal("block id " + std::to_string(b) + " out of range in " + std::string(where));
    if (seen[static_cast<size_t>(b)]++) return Internal("block " + std::to_string(b) + " owned twice (" + std::string(where) + ")");
    return Status::Ok();
  };
  for (BlockId b : free_list_) SPATTEN_RETURN_IF_ERROR(mark(b, "free list"));
  size_t in_tables = 0;
  for (const auto& [seq, table] : tables_) {
    for (BlockId b : table) SPATTEN_RETURN_IF_ERROR(mark(b, "table of " + std::to_string(seq)));
    in_tables += table.size();
  }
  if (free_list_.size() + in_tables != static_cast<size_t>(num_blocks_)) {
    return Internal("blocks leaked: " + std::to_string(free_list_.size()) + " free + " +
                    std::to_string(in_tables) + " in tables != " + std::to_string(num_blocks_));
  }
  if (static_cast<size_t>(num_used_blocks()) != in_tables) {
    return Internal("used counter " + std::to_string(num_used_blocks()) + " != " +
                    std::to_string(in_tables) + " blocks in tables");
  }
  return Status::Ok();
}

}  // namespace spatten::kvcache
