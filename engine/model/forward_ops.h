// The steps of the llama forward pass, each one parallel region over a batch of n tokens
// (engine-internal; llama_forward.cpp strings them together).
//
// Why this shape: a decoded token runs ~5 regions per layer (QKV, attention, Wo, gate/up,
// down) plus the output head, and every region is a fork/join on the pool, so work that is
// cheap for one token (norms, RoPE, activation quantization, residual adds) runs inline on
// the calling thread when the batch is small and becomes its own region over tokens only for
// prefill batches. Matrix products that share an input run as ONE region over their
// concatenated rows (Q/K/V; gate/up with SiLU*up fused into the same chunk), and the input is
// quantized once for all of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "common/thread_pool.h"
#include "engine/model/llama_model.h"
#include "kernels/cpu/dispatch.h"

namespace spatten::model::detail {

// The kernel tables a forward pass runs with.
struct Kernels {
  const kernels::cpu::QuantDotKernels* quant;
  const kernels::cpu::OpsKernels* ops;
};

// The activation format `w` is multiplied with: its integer-kernel format when the table has
// one for w.type and w.cols fits its blocks, else kNone (f32 dot products on rows).
kernels::ActFormat ActFormatOf(const Kernels& k, const WeightMatrix& w);

// The input of a group of products: n rows of cols floats, plus one quantized copy per
// activation format the group's matrices need (quantized once, shared by the group).
class ActivationBatch {
 public:
  // Prepares for n rows of `cols` values consumed by `consumers`; f32 rows are at `rows`.
  void Reset(const Kernels& k, const float* rows, size_t n, size_t cols,
             std::initializer_list<const WeightMatrix*> consumers);
  // Quantizes rows [t0, t1) into every needed format.
  void QuantizeRows(size_t t0, size_t t1);

  const float* f32() const { return f32_; }
  size_t n() const { return n_; }
  size_t cols() const { return cols_; }
  const uint8_t* quantized(kernels::ActFormat fmt) const;  // [n][RowBytes(fmt)]
  size_t RowBytes(kernels::ActFormat fmt) const;

 private:
  static constexpr size_t kFormats = 4;  // indexed by ActFormat
  const Kernels* kernels_ = nullptr;
  const float* f32_ = nullptr;
  size_t n_ = 0;
  size_t cols_ = 0;
  bool needed_[kFormats] = {};
  size_t row_bytes_[kFormats] = {};
  std::vector<uint8_t> q_[kFormats];
};

// One product of a fused group: out[t * out_stride + r] = W[r] . x[t].
struct Product {
  const WeightMatrix* w;
  float* out;  // [n][out_stride]
  size_t out_stride;
};

// All products of `parts` (same cols) over `x`, as one parallel region over their rows.
// Returns false if a kernel rejected its input (cannot happen for validated weights).
bool RunProducts(ThreadPool* pool, const Kernels& k, std::initializer_list<Product> parts,
                 const ActivationBatch& x);

// gate[t] = silu(W_gate x[t]) * (W_up x[t]) in one region: each chunk of rows computes both
// products and gates its slice. gate, up: [n][rows] (up is scratch).
bool RunGateUp(ThreadPool* pool, const Kernels& k, const WeightMatrix& w_gate,
               const WeightMatrix& w_up, const ActivationBatch& x, float* gate, float* up);

// For each token t: x[t] += add[t] (when add != nullptr), out[t] = RMSNorm(x[t]) * weight,
// then quantizes out[t] into `act` (whose Reset named out as its rows). x, add, out: [n][dim].
void AddNormQuantize(ThreadPool* pool, const Kernels& k, float* x, const float* add,
                     const float* weight, float eps, float* out, size_t n, size_t dim,
                     ActivationBatch& act);

// Quantizes every row of `act` (region over tokens for large batches).
void QuantizeAll(ThreadPool* pool, ActivationBatch& act);

// RoPE on q ([n][q_heads][head_dim]) and k ([n][k_heads][head_dim], row stride k_stride)
// with per-token tables cos_sin ([n][rot_dims], ref::RopeCosSin).
void ApplyRope(ThreadPool* pool, const Kernels& k, float* q, size_t q_heads, float* keys,
               size_t k_heads, size_t k_stride, size_t head_dim, size_t rot_dims,
               const float* cos_sin, size_t n);

// One sequence's share of a batched attention step: its tokens are rows [t0, t0 + n) of q and
// out, and token t0 + i sits in slot base + i of the sequence's cache (keys, values: one
// layer's slot rows of kv_stride floats).
struct AttentionSeq {
  size_t t0;
  size_t n;
  size_t base;
  const float* keys;
  const float* values;
};

// Causal attention of every sequence's queries over its own cache, in one parallel region
// over (sequence, token block, head) items. Token t0 + i of a sequence sees its slots
// [0, base + i]. q, out: [tokens][n_head][head_dim]. A sequence's items and arithmetic depend
// on its own n only: results do not change with the rest of the batch or the thread count.
void RunAttention(ThreadPool* pool, const Kernels& k, const float* q, float* out,
                  std::span<const AttentionSeq> seqs, size_t n_head, size_t n_head_kv,
                  size_t head_dim, size_t kv_stride, float scale);

}  // namespace spatten::model::detail
