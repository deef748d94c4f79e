// LlamaModel::Forward: the llama decoder stack over the scalar reference kernels.
//
// Per layer, for a batch of n tokens (all buffers row-major, one row per token):
//   xn = RMSNorm(x) * attn_norm
//   q = Wq xn, k = Wk xn, v = Wv xn   (k and v are written straight into the cache slots)
//   RoPE(q), RoPE(k) at each token's position (adjacent pairs, as GGUF llama files expect)
//   attn[t][h] = softmax(q[t][h] . K[kvh][0..slot_t] / sqrt(head_dim)) V[kvh][0..slot_t]
//   x += Wo attn
//   xn = RMSNorm(x) * ffn_norm;  x += W_down (silu(W_gate xn) * (W_up xn))
// then logits = W_out RMSNorm(x) * output_norm for the requested tokens.
// Matrix products are split over rows (Q/K/V and gate/up fused into one loop each) and
// attention over (token, head) pairs on the pool.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <string>

#include "engine/model/llama_model.h"
#include "kernels/ref/ops.h"

namespace spatten::model {
namespace {

namespace ref = kernels::ref;

void ParallelRange(ThreadPool* pool, size_t n, const std::function<void(size_t, size_t)>& fn,
                   size_t min_chunk) {
  if (pool == nullptr) {
    if (n > 0) fn(0, n);
  } else {
    pool->ParallelFor(n, fn, min_chunk);
  }
}

// A per-thread float buffer of at least n elements, reused across calls.
float* ThreadScratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// One matrix product of a fused group: out[t * out_stride + r] = W[r] . x[t].
struct MatMulPart {
  const WeightMatrix* w;
  float* out;         // [n_vec][out_stride]
  size_t out_stride;
};

// Runs several products that share the input x ([n_vec][cols], the same cols for every part)
// as ONE parallel loop over their concatenated rows, so that e.g. Q, K and V cost a single
// fork/join instead of three.
bool MatMul(ThreadPool* pool, std::initializer_list<MatMulPart> parts, const float* x,
            size_t n_vec) {
  size_t total_rows = 0;
  size_t cols = 0;
  for (const MatMulPart& p : parts) {
    total_rows += p.w->rows;
    cols = std::max(cols, p.w->cols);
  }
  std::atomic<bool> ok{true};
  ParallelRange(
      pool, total_rows,
      [&](size_t begin, size_t end) {
        float* scratch = ThreadScratch(cols);
        size_t offset = 0;  // first global row of the current part
        for (const MatMulPart& p : parts) {
          const size_t lo = std::max(begin, offset);
          const size_t hi = std::min(end, offset + p.w->rows);
          if (lo < hi &&
              !ref::MatMulRows(p.w->type, p.w->data, p.w->row_bytes, p.w->cols, lo - offset,
                               hi - offset, x, n_vec, p.out, p.out_stride, scratch)) {
            ok.store(false, std::memory_order_relaxed);
          }
          offset += p.w->rows;
        }
      },
      /*min_chunk=*/16);
  return ok.load();
}

}  // namespace

Status LlamaModel::Forward(std::span<const int32_t> tokens, std::span<const int64_t> positions,
                           SequenceKvCache& cache, ThreadPool* pool, std::vector<float>* logits,
                           const ForwardOptions& options) const {
  const ModelConfig& c = config_;
  const size_t n = tokens.size();
  if (n == 0) return InvalidArgument("forward: empty token batch");
  if (positions.size() != n) {
    return InvalidArgument("forward: " + std::to_string(n) + " tokens but " +
                           std::to_string(positions.size()) + " positions");
  }
  if (logits == nullptr) return InvalidArgument("forward: no logits buffer");
  for (size_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= c.n_vocab) {
      return InvalidArgument("forward: token id " + std::to_string(tokens[i]) + " at index " +
                             std::to_string(i) + " is outside the vocabulary [0, " +
                             std::to_string(c.n_vocab) + ")");
    }
    if (positions[i] < 0) {
      return InvalidArgument("forward: negative position " + std::to_string(positions[i]));
    }
  }
  if (cache.n_layer() != static_cast<size_t>(c.n_layer) ||
      cache.kv_dim() != static_cast<size_t>(c.kv_dim())) {
    return InvalidArgument("forward: KV cache shape does not match the model");
  }

  const size_t E = static_cast<size_t>(c.n_embd);
  const size_t Q = static_cast<size_t>(c.q_dim());
  const size_t KV = static_cast<size_t>(c.kv_dim());
  const size_t F = static_cast<size_t>(c.n_ff);
  const size_t V = static_cast<size_t>(c.n_vocab);
  const size_t D = static_cast<size_t>(c.head_dim);
  const size_t H = static_cast<size_t>(c.n_head);
  const size_t group = static_cast<size_t>(c.gqa_group());
  const size_t rot = static_cast<size_t>(c.n_rot);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));

  const size_t base = cache.size();
  SPATTEN_RETURN_IF_ERROR(cache.Append(positions.data(), n));
  auto fail = [&](const char* what) {
    cache.Truncate(base);
    return Internal(std::string("forward: ") + what + " failed on validated weights");
  };

  std::vector<float> x(n * E);      // [n][E] residual stream
  std::vector<float> xn(n * E);     // [n][E] normalised input of a sub-block
  std::vector<float> q(n * Q);      // [n][Q]
  std::vector<float> attn(n * Q);   // [n][Q]
  std::vector<float> proj(n * E);   // [n][E] sub-block output added to x
  std::vector<float> gate(n * F);   // [n][F]
  std::vector<float> up(n * F);     // [n][F]

  for (size_t t = 0; t < n; ++t) {
    if (!ref::DequantizeRow(token_embd_.type, token_embd_.data, token_embd_.row_bytes,
                            token_embd_.cols, static_cast<size_t>(tokens[t]), x.data() + t * E)) {
      return fail("embedding lookup");
    }
  }

  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerWeights& lw = layers_[l];
    for (size_t t = 0; t < n; ++t) {
      ref::RmsNorm(x.data() + t * E, lw.attn_norm.data(), xn.data() + t * E, E, c.rms_norm_eps);
    }
    float* k_out = cache.K(l, base);  // [n][KV]: slots base.. are contiguous
    float* v_out = cache.V(l, base);
    if (!MatMul(pool, {{&lw.wq, q.data(), Q}, {&lw.wk, k_out, KV}, {&lw.wv, v_out, KV}},
                xn.data(), n)) {
      return fail("QKV projection");
    }
    for (size_t t = 0; t < n; ++t) {
      ref::RopeAdjacent(q.data() + t * Q, H, D, rot, positions[t], c.rope_freq_base);
      ref::RopeAdjacent(k_out + t * KV, KV / D, D, rot, positions[t], c.rope_freq_base);
    }

    const float* k_layer = cache.K(l, 0);
    const float* v_layer = cache.V(l, 0);
    ParallelRange(
        pool, n * H,
        [&](size_t begin, size_t end) {
          for (size_t item = begin; item < end; ++item) {
            const size_t t = item / H;
            const size_t h = item % H;
            const size_t kv_head = h / group;
            const size_t n_ctx = base + t + 1;  // causal: earlier slots and itself
            ref::AttentionSingleQuery(q.data() + t * Q + h * D, k_layer + kv_head * D,
                                      v_layer + kv_head * D, n_ctx, D, KV, scale,
                                      ThreadScratch(n_ctx), attn.data() + t * Q + h * D);
          }
        },
        /*min_chunk=*/1);

    if (!MatMul(pool, {{&lw.wo, proj.data(), E}}, attn.data(), n)) {
      return fail("output projection");
    }
    for (size_t i = 0; i < n * E; ++i) x[i] += proj[i];

    for (size_t t = 0; t < n; ++t) {
      ref::RmsNorm(x.data() + t * E, lw.ffn_norm.data(), xn.data() + t * E, E, c.rms_norm_eps);
    }
    if (!MatMul(pool, {{&lw.w_gate, gate.data(), F}, {&lw.w_up, up.data(), F}}, xn.data(),
                n)) {
      return fail("FFN up projection");
    }
    ref::SiluMul(gate.data(), up.data(), gate.data(), n * F);
    if (!MatMul(pool, {{&lw.w_down, proj.data(), E}}, gate.data(), n)) return fail("FFN down");
    for (size_t i = 0; i < n * E; ++i) x[i] += proj[i];
  }

  const size_t first_out = options.all_logits ? 0 : n - 1;
  const size_t n_out = n - first_out;
  for (size_t t = first_out; t < n; ++t) {
    ref::RmsNorm(x.data() + t * E, output_norm_.data(), xn.data() + (t - first_out) * E, E,
                 c.rms_norm_eps);
  }
  logits->resize(n_out * V);
  if (!MatMul(pool, {{&output_, logits->data(), V}}, xn.data(), n_out)) return fail("logits");
  return Status::Ok();
}

}  // namespace spatten::model
