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
// Forward. One call runs a batch of tokens of ONE sequence: token i gets RoPE position
// positions[i] and is appended to the sequence's KV cache (slot cache.size() + i); it attends
// to every earlier slot of the cache and to tokens 0..i of the batch (causal in slot order).
// It returns the logits of the last token, or of every token.
//
// Thread safety: a LlamaModel is immutable after Load(); Forward() may run concurrently for
// different sequences (different caches), given different thread pools or none.
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
