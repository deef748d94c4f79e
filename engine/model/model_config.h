// ModelConfig: the hyperparameters of a decoder-only transformer, read from GGUF metadata, and
// the check that a file's tensors match them.
//
// ReadModelConfig() reads `{arch}.*` keys (arch = general.architecture). Only "llama" is
// implemented; any other architecture is an Unimplemented error. Required keys that are absent
// give NotFound naming the key; values out of range or inconsistent give InvalidArgument.
// Optional keys take llama.cpp's defaults (documented per field below). Features this engine
// does not run yet (RoPE scaling, attention biases, mixture of experts) are
// Unimplemented errors rather than silently wrong results.
//
// ValidateModelTensors() checks that every tensor the forward pass reads exists with the shape
// the config implies and a type the kernels can read; the first problem is reported as
// InvalidArgument naming the tensor. Plain value types: thread-safe to share once built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/gguf/gguf.h"

namespace spatten::model {

struct ModelConfig {
  std::string arch;            // general.architecture
  int64_t n_layer = 0;         // {arch}.block_count
  int64_t n_embd = 0;          // {arch}.embedding_length
  int64_t n_ff = 0;            // {arch}.feed_forward_length
  int64_t n_head = 0;          // {arch}.attention.head_count
  int64_t n_head_kv = 0;       // {arch}.attention.head_count_kv (default: n_head)
  int64_t head_dim = 0;        // {arch}.attention.key_length (default: n_embd / n_head)
  int64_t n_rot = 0;           // {arch}.rope.dimension_count (default: head_dim)
  int64_t n_vocab = 0;         // {arch}.vocab_size, else the tokenizer's token count, else
                               // token_embd's row count
  int64_t n_ctx_train = 0;     // {arch}.context_length
  float rms_norm_eps = 0.0f;   // {arch}.attention.layer_norm_rms_epsilon
  float rope_freq_base = 0.0f; // {arch}.rope.freq_base (default 10000)
  bool tied_embeddings = false;  // no output.weight: logits use token_embd.weight

  int64_t q_dim() const { return n_head * head_dim; }      // rows of attn_q
  int64_t kv_dim() const { return n_head_kv * head_dim; }  // rows of attn_k / attn_v
  int64_t gqa_group() const { return n_head / n_head_kv; } // query heads per KV head

  // One line: "llama: 30 layers, n_embd 576, ...".
  std::string ToString() const;
};

Result<ModelConfig> ReadModelConfig(const gguf::GgufFile& file);

// Names of the tensors a llama-style block reads, e.g. LayerTensorName(3, "attn_q") ==
// "blk.3.attn_q.weight".
std::string LayerTensorName(int64_t layer, const char* base);

Status ValidateModelTensors(const ModelConfig& config, const gguf::GgufFile& file);

}  // namespace spatten::model
