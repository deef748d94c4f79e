// Scalar reference implementations of the transformer ops the engine runs: RMSNorm, RoPE
// (adjacent pairs), softmax, SwiGLU, quantized matrix-vector products and single-query
// attention. These are the ground truth that SIMD and CUDA kernels are tested against.
//
// Pointer + shape APIs only (no engine types). Every function is pure apart from writing its
// output buffers: thread-safe, no allocation, no global state. Callers parallelise by giving
// disjoint row ranges (MatMulRows) or heads (Attention) to different threads.
// Shapes are written [outer][inner], inner contiguous.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/quant_types.h"

namespace spatten::kernels::ref {

// out[i] = x[i] / sqrt(mean_j(x[j]^2) + eps) * weight[i].
//   x: [n]   weight: [n]   out: [n] (may alias x)
void RmsNorm(const float* x, const float* weight, float* out, size_t n, float eps);

// Rotary position embedding on ADJACENT pairs, in place, for one token's heads:
// for each head h and i < rot_dims / 2, the pair (x[h][2i], x[h][2i+1]) is rotated by the
// angle pos * freq_base^(-2i / rot_dims). Elements at or past rot_dims are left unchanged.
//   x: [n_heads][head_dim]   (rot_dims <= head_dim, rot_dims even)
// Angles are computed in double precision straight from pos (no running product), so the
// result does not drift with large positions.
void RopeAdjacent(float* x, size_t n_heads, size_t head_dim, size_t rot_dims, int64_t pos,
                  float freq_base);

// RopeAdjacent split in two, so that a forward pass computes the angles of a position once
// and reuses them in every layer and for both Q and K:
// RopeCosSin writes cos_sin[2i] = cos(angle_i), cos_sin[2i + 1] = sin(angle_i) for
// i < rot_dims / 2 (angles as in RopeAdjacent);   cos_sin: [rot_dims]
void RopeCosSin(int64_t pos, size_t rot_dims, float freq_base, float* cos_sin);
// RopeApply rotates each head's first rot_dims elements by those angles, in place:
// (x0, x1) -> (x0 c - x1 s, x0 s + x1 c).   x: [n_heads][head_dim]   cos_sin: [rot_dims]
// RopeAdjacent(x, ..., pos, base) == RopeCosSin(pos, rot_dims, base, t); RopeApply(x, ..., t).
void RopeApply(float* x, size_t n_heads, size_t head_dim, size_t rot_dims, const float* cos_sin);

// In-place numerically stable softmax: x[i] = exp(x[i] - max) / sum_j exp(x[j] - max).
//   x: [n], n >= 1
void Softmax(float* x, size_t n);

// SwiGLU gating: out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)).
//   gate: [n]   up: [n]   out: [n] (may alias gate or up)
void SiluMul(const float* gate, const float* up, float* out, size_t n);

// Dot product of two float vectors, accumulated in float with several partial sums.
//   a: [n]   b: [n]
float Dot(const float* a, const float* b, size_t n);

// Whether MatMulRows / DequantizeRow can read weights of this type (every weight type in
// quant_types.h; not the activation-only Q8_1).
bool IsWeightTypeSupported(QuantType type);

// Dequantizes row `row` of a packed weight matrix.
//   w: [rows][row_bytes] (row_bytes = cols / block_elems * block_bytes)   dst: [cols]
// Returns false (writing nothing) for an unsupported type or cols not a multiple of the block.
bool DequantizeRow(QuantType type, const void* w, size_t row_bytes, size_t cols, size_t row,
                   float* dst);

// Matrix times a batch of vectors, for the rows [row_begin, row_end) of W:
//   out[t * out_stride + r] = dot(W[r], x[t])   for t < n_vec, row_begin <= r < row_end
// Each row is dequantized once (into row_scratch) and dotted with all n_vec vectors, so a
// prefill batch pays the dequantization once per row. F32 weights that are float-aligned are
// read in place.
//   w: [rows][row_bytes] packed rows of `type`, each of `cols` elements
//   x: [n_vec][cols]   out: [n_vec][out_stride] (out_stride >= row_end)   row_scratch: [cols]
// Returns false (writing nothing) for an unsupported type or cols not a multiple of the block.
bool MatMulRows(QuantType type, const void* w, size_t row_bytes, size_t cols, size_t row_begin,
                size_t row_end, const float* x, size_t n_vec, float* out, size_t out_stride,
                float* row_scratch);

// Matrix-vector product over all rows: out[r] = dot(W[r], x).
//   w: [rows][row_bytes]   x: [cols]   out: [rows]   row_scratch: [cols]
bool MatVec(QuantType type, const void* w, size_t row_bytes, size_t rows, size_t cols,
            const float* x, float* out, float* row_scratch);

// Attention of one query against one head's cached keys and values (the caller maps a query
// head to its KV head for GQA by offsetting k and v):
//   scores[j] = scale * dot(q, K[j]);  p = softmax(scores);  out = sum_j p[j] * V[j]
//   q: [head_dim]
//   k: [n_ctx] rows of head_dim floats, row j at k + j * kv_stride (kv_stride >= head_dim)
//   v: [n_ctx] rows likewise at v + j * kv_stride
//   scores: [n_ctx] scratch (holds the probabilities on return)   out: [head_dim]
// n_ctx >= 1. Causality is the caller's business: pass only the keys the query may see.
void AttentionSingleQuery(const float* q, const float* k, const float* v, size_t n_ctx,
                          size_t head_dim, size_t kv_stride, float scale, float* scores,
                          float* out);

// Several queries against the SAME KV head (e.g. the query heads of one GQA group, for a block
// of tokens), so that an optimised kernel can read each cached K / V row once for all of them.
// Query i sees keys [0, n_ctx[i]) and gets exactly AttentionSingleQuery's result.
// Plain aggregate (the ISA files include this header; see kernels/cpu/dispatch.h).
struct AttentionBatch {
  size_t nq;               // number of queries, >= 1
  const float* const* q;   // [nq] pointers to head_dim floats
  float* const* out;       // [nq] pointers to head_dim floats (not aliasing q, k, v)
  const size_t* n_ctx;     // [nq] visible keys per query, each >= 1
  const float* k;          // key j: k + j * kv_stride (head_dim floats)
  const float* v;          // value j: v + j * kv_stride
  size_t kv_stride;
  size_t head_dim;
  float scale;
  float* scores;           // scratch [nq][score_stride]; score_stride >= every n_ctx[i]
  size_t score_stride;
};
void AttentionMultiQuery(const AttentionBatch& b);

}  // namespace spatten::kernels::ref
