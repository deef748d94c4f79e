// Forward-pass steps (see forward_ops.h): fused matrix-product regions over the integer
// kernels, token-parallel norm / quantize / RoPE steps, and blocked causal attention.
#include "engine/model/forward_ops.h"

#include <algorithm>
#include <atomic>

#include "kernels/ref/ops.h"
#include "kernels/ref/quant_dot.h"

namespace spatten::model::detail {
namespace {

using kernels::ActFormat;

// Rows per work item of a product region: a multiple of every tile height (kMaxTileRows), and
// small enough that 49152 output rows or 192 K rows still split evenly over the threads.
constexpr size_t kRowBlock = 16;
// Batches below this many tokens run their per-token steps inline: a region costs a few
// microseconds of hand-off, more than normalising or quantizing a handful of rows.
constexpr size_t kInlineTokens = 8;
// Tokens per attention work item in a prefill batch: their queries (times the GQA group) read
// each cached K / V row once.
constexpr size_t kAttnTokenBlock = 4;

void Parallel(ThreadPool* pool, size_t n, const std::function<void(size_t, size_t)>& fn,
              size_t min_chunk = 1) {
  if (n == 0) return;
  if (pool == nullptr) {
    fn(0, n);
  } else {
    pool->ParallelFor(n, fn, min_chunk);
  }
}

// Token-parallel only for large batches (see kInlineTokens).
void PerToken(ThreadPool* pool, size_t n, const std::function<void(size_t, size_t)>& fn) {
  if (n < kInlineTokens) {
    fn(0, n);
  } else {
    Parallel(pool, n, fn, kInlineTokens / 2);
  }
}

// A per-thread float buffer of at least n elements, reused across calls.
float* ThreadScratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// Rows [r0, r1) of one product for every activation row of x.
bool ProductRows(const Kernels& k, const Product& p, const ActivationBatch& x, size_t r0,
                 size_t r1) {
  const WeightMatrix& w = *p.w;
  const ActFormat fmt = ActFormatOf(k, w);
  if (fmt != ActFormat::kNone) {
    return kernels::cpu::MatMulQuant(*k.quant, w.type, w.data, w.rows, w.cols, x.quantized(fmt),
                                     x.RowBytes(fmt), x.n(), p.out, p.out_stride, r0, r1);
  }
  // f32 dot products: f32 rows are read in place when aligned, other types dequantized.
  const bool in_place = w.type == kernels::QuantType::kF32 &&
                        reinterpret_cast<uintptr_t>(w.data) % alignof(float) == 0 &&
                        w.row_bytes % sizeof(float) == 0;
  float* scratch = in_place ? nullptr : ThreadScratch(w.cols);
  for (size_t r = r0; r < r1; ++r) {
    const float* row = nullptr;
    if (in_place) {
      row = reinterpret_cast<const float*>(w.data + r * w.row_bytes);
    } else {
      if (!kernels::ref::DequantizeRow(w.type, w.data, w.row_bytes, w.cols, r, scratch)) {
        return false;
      }
      row = scratch;
    }
    for (size_t t = 0; t < x.n(); ++t) {
      p.out[t * p.out_stride + r] = k.ops->dot(row, x.f32() + t * w.cols, w.cols);
    }
  }
  return true;
}

}  // namespace

ActFormat ActFormatOf(const Kernels& k, const WeightMatrix& w) {
  if (kernels::cpu::WeightKernelsFor(*k.quant, w.type) == nullptr) return ActFormat::kNone;
  const ActFormat fmt = kernels::ActFormatFor(w.type);
  const size_t block = kernels::ActBlockElems(fmt);
  if (block == 0 || w.cols % block != 0) return ActFormat::kNone;
  return fmt;
}

void ActivationBatch::Reset(const Kernels& k, const float* rows, size_t n, size_t cols,
                            std::initializer_list<const WeightMatrix*> consumers) {
  kernels_ = &k;
  f32_ = rows;
  n_ = n;
  cols_ = cols;
  std::fill(std::begin(needed_), std::end(needed_), false);
  for (const WeightMatrix* w : consumers) {
    const ActFormat fmt = ActFormatOf(k, *w);
    if (fmt == ActFormat::kNone) continue;
    const auto i = static_cast<size_t>(fmt);
    needed_[i] = true;
    row_bytes_[i] = kernels::ActRowBytes(fmt, cols);
    if (q_[i].size() < n * row_bytes_[i]) q_[i].resize(n * row_bytes_[i]);
  }
}

void ActivationBatch::QuantizeRows(size_t t0, size_t t1) {
  for (size_t i = 0; i < kFormats; ++i) {
    if (!needed_[i]) continue;
    const kernels::cpu::QuantizeRowFn quantize =
        kernels::cpu::QuantizeFnFor(*kernels_->quant, static_cast<ActFormat>(i));
    for (size_t t = t0; t < t1; ++t) {
      quantize(f32_ + t * cols_, q_[i].data() + t * row_bytes_[i], cols_);
    }
  }
}

const uint8_t* ActivationBatch::quantized(ActFormat fmt) const {
  return q_[static_cast<size_t>(fmt)].data();
}

size_t ActivationBatch::RowBytes(ActFormat fmt) const {
  return row_bytes_[static_cast<size_t>(fmt)];
}

bool RunProducts(ThreadPool* pool, const Kernels& k, std::initializer_list<Product> parts,
                 const ActivationBatch& x) {
  size_t total_rows = 0;
  for (const Product& p : parts) total_rows += p.w->rows;
  std::atomic<bool> ok{true};
  Parallel(pool, (total_rows + kRowBlock - 1) / kRowBlock, [&](size_t begin, size_t end) {
    const size_t g0 = begin * kRowBlock;
    const size_t g1 = std::min(total_rows, end * kRowBlock);
    size_t offset = 0;  // first global row of the current part
    for (const Product& p : parts) {
      const size_t lo = std::max(g0, offset);
      const size_t hi = std::min(g1, offset + p.w->rows);
      if (lo < hi && !ProductRows(k, p, x, lo - offset, hi - offset)) {
        ok.store(false, std::memory_order_relaxed);
      }
      offset += p.w->rows;
    }
  });
  return ok.load();
}

bool RunGateUp(ThreadPool* pool, const Kernels& k, const WeightMatrix& w_gate,
               const WeightMatrix& w_up, const ActivationBatch& x, float* gate, float* up) {
  const size_t rows = w_gate.rows;  // == w_up.rows (validated at load)
  std::atomic<bool> ok{true};
  Parallel(pool, (rows + kRowBlock - 1) / kRowBlock, [&](size_t begin, size_t end) {
    const size_t r0 = begin * kRowBlock;
    const size_t r1 = std::min(rows, end * kRowBlock);
    if (!ProductRows(k, {&w_gate, gate, rows}, x, r0, r1) ||
        !ProductRows(k, {&w_up, up, rows}, x, r0, r1)) {
      ok.store(false, std::memory_order_relaxed);
      return;
    }
    for (size_t t = 0; t < x.n(); ++t) {
      float* g = gate + t * rows;
      k.ops->silu_mul(g + r0, up + t * rows + r0, g + r0, r1 - r0);
    }
  });
  return ok.load();
}

void AddNormQuantize(ThreadPool* pool, const Kernels& k, float* x, const float* add,
                     const float* weight, float eps, float* out, size_t n, size_t dim,
                     ActivationBatch& act) {
  PerToken(pool, n, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      float* xt = x + t * dim;
      if (add != nullptr) {
        const float* at = add + t * dim;
        for (size_t i = 0; i < dim; ++i) xt[i] += at[i];
      }
      k.ops->rms_norm(xt, weight, out + t * dim, dim, eps);
    }
    act.QuantizeRows(t0, t1);
  });
}

void QuantizeAll(ThreadPool* pool, ActivationBatch& act) {
  PerToken(pool, act.n(), [&](size_t t0, size_t t1) { act.QuantizeRows(t0, t1); });
}

void ApplyRope(ThreadPool* pool, const Kernels& k, float* q, size_t q_heads, float* keys,
               size_t k_heads, size_t k_stride, size_t head_dim, size_t rot_dims,
               const float* cos_sin, size_t n) {
  PerToken(pool, n, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const float* cs = cos_sin + t * rot_dims;
      k.ops->rope_apply(q + t * q_heads * head_dim, q_heads, head_dim, rot_dims, cs);
      k.ops->rope_apply(keys + t * k_stride, k_heads, head_dim, rot_dims, cs);
    }
  });
}

void RunAttention(ThreadPool* pool, const Kernels& k, const float* q, float* out,
                  std::span<const AttentionSeq> seqs, size_t n_head, size_t n_head_kv,
                  size_t head_dim, size_t kv_stride, float scale) {
  const size_t group = n_head / n_head_kv;
  const size_t q_stride = n_head * head_dim;
  // Per sequence, small batches (decoding): one item per (token, query head), the most
  // parallelism. Prefill: one item per (block of tokens, KV head) holding the group's query
  // heads for those tokens, so each K / V row is read once per item. Items are ordered so that
  // early (short) and late (long, causal) token blocks alternate: the pool's chunks then carry
  // about equal work. The decomposition depends on the sequence's n only, never on the thread
  // count or the other sequences, and the kernel's per-query arithmetic does not depend on the
  // grouping: results are the same for any number of threads and any batch.
  struct Layout {
    size_t tokens_per_item, heads_per_item, head_slots, n_blocks, first_item;
  };
  std::vector<Layout> layout(seqs.size());
  size_t total_items = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    const bool blocked = seqs[s].n >= kInlineTokens;
    Layout& l = layout[s];
    l.tokens_per_item = blocked ? kAttnTokenBlock : 1;
    l.heads_per_item = blocked ? group : 1;
    l.head_slots = n_head / l.heads_per_item;  // items per token block
    l.n_blocks = (seqs[s].n + l.tokens_per_item - 1) / l.tokens_per_item;
    l.first_item = total_items;
    total_items += l.n_blocks * l.head_slots;
  }

  Parallel(pool, total_items, [&](size_t begin, size_t end) {
    constexpr size_t kMaxQueries = kAttnTokenBlock * 64;
    const float* q_ptr[kMaxQueries];
    float* out_ptr[kMaxQueries];
    size_t n_ctx[kMaxQueries];
    // The sequence of item `begin`: the last whose first item is <= begin.
    size_t s = static_cast<size_t>(
        std::upper_bound(layout.begin(), layout.end(), begin,
                         [](size_t item, const Layout& l) { return item < l.first_item; }) -
        layout.begin() - 1);
    for (size_t item = begin; item < end; ++item) {
      while (s + 1 < layout.size() && item >= layout[s + 1].first_item) ++s;
      const AttentionSeq& seq = seqs[s];
      const Layout& l = layout[s];
      const size_t local = item - l.first_item;
      const size_t slot = local % l.head_slots;
      const size_t order = local / l.head_slots;
      const size_t blk = order % 2 == 0 ? order / 2 : l.n_blocks - 1 - order / 2;
      const size_t t0 = blk * l.tokens_per_item;
      const size_t t1 = std::min(seq.n, t0 + l.tokens_per_item);
      const size_t h0 = slot * l.heads_per_item;
      const size_t kv_head = h0 / group;
      const size_t max_q = std::min(l.tokens_per_item * l.heads_per_item, kMaxQueries);
      // Queries in chunks that fit the pointer arrays (a GQA group wider than 64 heads).
      size_t nq = 0;
      auto flush = [&] {
        if (nq == 0) return;
        const size_t max_ctx = n_ctx[nq - 1];  // queries are added in token order
        float* scores = ThreadScratch(nq * max_ctx);
        k.ops->attention({nq, q_ptr, out_ptr, n_ctx, seq.keys + kv_head * head_dim,
                          seq.values + kv_head * head_dim, kv_stride, head_dim, scale, scores,
                          max_ctx});
        nq = 0;
      };
      for (size_t t = t0; t < t1; ++t) {
        const size_t row = seq.t0 + t;
        for (size_t h = h0; h < h0 + l.heads_per_item; ++h) {
          q_ptr[nq] = q + row * q_stride + h * head_dim;
          out_ptr[nq] = out + row * q_stride + h * head_dim;
          n_ctx[nq] = seq.base + t + 1;
          if (++nq == max_q) flush();
        }
      }
      flush();
    }
  });
}

}  // namespace spatten::model::detail
