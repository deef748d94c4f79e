// LlamaModel: the weights of a llama-architecture model and its forward pass on the CPU,
// multithreaded over matrix rows and attention heads.
//
// Weights. By default (WeightFormat::kQuantized) matrices are views into the GGUF file's
// memory mapping, used as they are by the integer kernels (kernels/cpu/dispatch.h): each
// matrix input is quantized once per token to 8 bits (the activation format the weight type
// pairs with, as llama.cpp does) and dotted with the packed weight rows. Matrices of a type
// without an integer kernel (f32, f16, bf16) use f32 dot products on dequantized rows.
// WeightFormat::kF32 instead dequantizes every matrix once at load into owned f32 buffers
// (about 4 bytes per parameter: ~540 MB for a 135M model) and keeps activations in f32: more
// memory and slower, but free of activation quantization error. Norm vectors are always
// copied to f32 at load.
//
// Kernels. LoadOptions::isa picks the instruction-set level of every kernel the model runs
// (default: kernels::cpu::ActiveIsa(), i.e. the best the CPU has unless SPATTEN_CPU_ISA
// lowers it); Isa::kScalar runs the scalar references of kernels/ref, for parity tests.
//
// Forward. ForwardBatch() runs one step over tokens of MANY sequences (continuous batching):
// each entry is one sequence's KV cache and the tokens to append to it (a prefill chunk of any
// length, or one decode token). Token i of an entry gets RoPE position positions[i] and is
// appended to that entry's cache (slot cache.size() + i); it attends to every earlier slot of
// its own cache and to tokens 0..i of its entry (causal in slot order). All tokens of all
// entries go through each weight matrix together (one product region per matrix per layer, so
// the weights stream from memory once per step, whatever the batch); attention runs per
// sequence against its own cache, in one parallel region over (sequence, head) items. Each
// entry gets the logits of its last token, or of every token. Forward() / ForwardNext() are
// one-entry wrappers over the same code.
//
// Batching does not change an entry's results beyond float rounding: every op is per token
// (activations are quantized row by row, attention per sequence with the same decomposition
// as alone); only the GEMM tiling over activation rows (kernels/cpu/dispatch.h) may group a
// token with different neighbours, which for some weight types changes the summation order.
//
// Thread safety: a LlamaModel is immutable after Load(); Forward() / ForwardBatch() may run
// concurrently for disjoint sets of caches, given different thread pools or none.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/status.h"
#include "common/thread_pool.h"
#include "engine/gguf/gguf.h"
#include "engine/model/kv_cache.h"
#include "engine/model/model_config.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/quant_types.h"

namespace spatten::model {

enum class WeightFormat {
  kQuantized,  // packed weights from the file mapping, 8-bit activations (default)
  kF32,        // dequantized once at load into owned f32 buffers, f32 activations
};

struct LoadOptions {
  WeightFormat weight_format = WeightFormat::kQuantized;
  ThreadPool* pool = nullptr;  // used to dequantize at load (kF32); may be null
  // Kernel level; unset = kernels::cpu::ActiveIsa(). Clamped to what the CPU supports.
  std::optional<kernels::cpu::Isa> isa = std::nullopt;
};

// A weight matrix of `rows` packed rows of `cols` elements each (GGUF shape [cols, rows]).
struct WeightMatrix {
  kernels::QuantType type = kernels::QuantType::kF32;
  const uint8_t* data = nullptr;  // [rows][row_bytes]
  size_t rows = 0;
  size_t cols = 0;
  size_t row_bytes = 0;
};

struct LayerWeights {
  std::vector<float> attn_norm;  // [n_embd]
  std::vector<float> ffn_norm;   // [n_embd]
  WeightMatrix wq;               // [q_dim][n_embd]
  WeightMatrix wk;               // [kv_dim][n_embd]
  WeightMatrix wv;               // [kv_dim][n_embd]
  WeightMatrix wo;               // [n_embd][q_dim]
  WeightMatrix w_gate;           // [n_ff][n_embd]
  WeightMatrix w_up;             // [n_ff][n_embd]
  WeightMatrix w_down;           // [n_embd][n_ff]
};

struct ForwardOptions {
  bool all_logits = false;  // logits for every token of the batch, not only the last
};

// One sequence's part of a ForwardBatch() step.
struct SequenceBatch {
  SequenceKvCache* cache = nullptr;     // appended to; at most once per batch
  std::span<const int32_t> tokens;      // >= 1 ids in [0, n_vocab)
  std::span<const int64_t> positions;   // tokens.size() RoPE positions, each >= 0
  bool all_logits = false;              // logits of every token, not only the last
};

// The logits of a ForwardBatch() step: the rows of each entry, in batch order.
struct BatchLogits {
  std::vector<float> data;          // [rows][n_vocab]
  // [entries + 1]: entry i owns rows [first_row[i], first_row[i + 1]).
  std::vector<size_t> first_row;
  size_t n_vocab = 0;

  size_t entries() const { return first_row.empty() ? 0 : first_row.size() - 1; }
  size_t rows(size_t entry) const { return first_row[entry + 1] - first_row[entry]; }
  // Every row of `entry` ([rows(entry)][n_vocab]), or only its last one.
  std::span<const float> Entry(size_t entry) const {
    return {data.data() + first_row[entry] * n_vocab, rows(entry) * n_vocab};
  }
  std::span<const float> Last(size_t entry) const {
    return {data.data() + (first_row[entry + 1] - 1) * n_vocab, n_vocab};
  }
};

class LlamaModel {
 public:
  // Reads the config, validates every tensor and builds the weight views. The model keeps
  // `file` alive (its mapping backs the quantized weights).
  static Result<LlamaModel> Load(std::shared_ptr<const gguf::GgufFile> file,
                                 const LoadOptions& options = {});

  // Movable, not copyable (kF32 matrices point into owned buffers).
  LlamaModel(LlamaModel&&) noexcept = default;
  LlamaModel& operator=(LlamaModel&&) noexcept = default;
  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  const ModelConfig& config() const { return config_; }
  WeightFormat weight_format() const { return weight_format_; }
  kernels::cpu::Isa isa() const { return quant_kernels_->isa; }

  // A cache sized for this model; max_slots == 0 means the training context length.
  SequenceKvCache NewCache(size_t max_slots = 0) const;

  // Runs `tokens` (ids in [0, n_vocab)) at `positions` (same length, each >= 0), appending
  // them to `cache`. On return `logits` holds [n_out][n_vocab] floats, n_out = 1 (last token)
  // or tokens.size() with options.all_logits. On error the cache is left as it was.
  // pool may be null (single-threaded).
  Status Forward(std::span<const int32_t> tokens, std::span<const int64_t> positions,
                 SequenceKvCache& cache, ThreadPool* pool, std::vector<float>* logits,
                 const ForwardOptions& options = {}) const;

  // Forward() at the positions that continue the cache: next_position(), +1, ...
  Status ForwardNext(std::span<const int32_t> tokens, SequenceKvCache& cache, ThreadPool* pool,
                     std::vector<float>* logits, const ForwardOptions& options = {}) const;

  // One step over every entry of `batch` (see the file comment). Each entry needs a cache of
  // this model's shape, not shared with another entry, with room for its tokens; tokens and
  // positions as for Forward(). On return `out` holds each entry's logits rows. An empty
  // batch is valid (out is cleared). On error (InvalidArgument, or ResourceExhausted when a
  // cache is full) no cache is changed. pool may be null (single-threaded).
  Status ForwardBatch(std::span<const SequenceBatch> batch, ThreadPool* pool,
                      BatchLogits* out) const;

 private:
  LlamaModel() = default;

  std::shared_ptr<const gguf::GgufFile> file_;
  ModelConfig config_;
  WeightFormat weight_format_ = WeightFormat::kQuantized;
  const kernels::cpu::QuantDotKernels* quant_kernels_ = nullptr;  // static tables
  const kernels::cpu::OpsKernels* ops_ = nullptr;
  WeightMatrix token_embd_;      // [n_vocab][n_embd]
  WeightMatrix output_;          // [n_vocab][n_embd]; == token_embd_ when tied
  std::vector<float> output_norm_;  // [n_embd]
  std::vector<LayerWeights> layers_;
  std::vector<std::vector<float>> owned_f32_;  // backing store for kF32 matrices
};

}  // namespace spatten::model
