// LlamaModel::ForwardBatch: the llama decoder stack over one step of many sequences.
//
// The step's tokens (every entry's, concatenated in batch order: N rows) go through each layer
// together; all buffers are row-major, one row per token:
//   xn = RMSNorm(x) * attn_norm                       (quantized once for Q, K and V)
//   q = Wq xn, k = Wk xn, v = Wv xn                   (one product region for all N rows)
//   RoPE(q), RoPE(k) at each token's position (adjacent pairs, as GGUF llama files expect)
//   k, v rows -> their sequence's cache slots (written in place when the step has one entry)
//   attn[t][h] = softmax(q[t][h] . K[kvh][0..slot_t] / sqrt(head_dim)) V[kvh][0..slot_t]
//                                                     (per sequence, over its own cache)
//   x += Wo attn
//   xn = RMSNorm(x) * ffn_norm;  x += W_down (silu(W_gate xn) * (W_up xn))
// then logits = W_out RMSNorm(x) * output_norm for the requested rows of every entry.
// The steps and their parallel regions are in forward_ops.h. RoPE angles are computed once
// per call (one table row per token) and shared by every layer.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/model/forward_ops.h"
#include "engine/model/llama_model.h"
#include "kernels/ref/dequant.h"
#include "kernels/ref/ops.h"

namespace spatten::model {

namespace {

std::string EntryName(size_t i, size_t entries) {
  return entries == 1 ? std::string() : " (batch entry " + std::to_string(i) + ")";
}

}  // namespace

Status LlamaModel::ForwardBatch(std::span<const SequenceBatch> batch, ThreadPool* pool,
                                BatchLogits* out) const {
  const ModelConfig& c = config_;
  if (out == nullptr) return InvalidArgument("forward: no logits buffer");
  const size_t V = static_cast<size_t>(c.n_vocab);
  out->n_vocab = V;
  out->first_row.assign(1, 0);
  if (batch.empty()) {
    out->data.clear();
    return Status::Ok();
  }

  // ---- validation: nothing is touched until every entry is known to be good ----
  size_t n = 0;      // tokens in the step
  size_t n_out = 0;  // logits rows
  for (size_t e = 0; e < batch.size(); ++e) {
    const SequenceBatch& b = batch[e];
    const std::string where = EntryName(e, batch.size());
    if (b.cache == nullptr) return InvalidArgument("forward: no KV cache" + where);
    if (b.tokens.empty()) return InvalidArgument("forward: empty token batch" + where);
    if (b.positions.size() != b.tokens.size()) {
      return InvalidArgument("forward: " + std::to_string(b.tokens.size()) + " tokens but " +
                             std::to_string(b.positions.size()) + " positions" + where);
    }
    for (size_t i = 0; i < b.tokens.size(); ++i) {
      if (b.tokens[i] < 0 || b.tokens[i] >= c.n_vocab) {
        return InvalidArgument("forward: token id " + std::to_string(b.tokens[i]) +
                               " at index " + std::to_string(i) +
                               " is outside the vocabulary [0, " + std::to_string(c.n_vocab) +
                               ")" + where);
      }
      if (b.positions[i] < 0) {
        return InvalidArgument("forward: negative position " + std::to_string(b.positions[i]) +
                               where);
      }
    }
    const SequenceKvCache& cache = *b.cache;
    if (cache.n_layer() != static_cast<size_t>(c.n_layer) ||
        cache.kv_dim() != static_cast<size_t>(c.kv_dim())) {
      return InvalidArgument("forward: KV cache shape does not match the model" + where);
    }
    if (b.tokens.size() > cache.max_slots() - cache.size()) {
      return ResourceExhausted("KV cache full: " + std::to_string(cache.size()) + " + " +
                               std::to_string(b.tokens.size()) +
                               " tokens exceed the limit of " +
                               std::to_string(cache.max_slots()) + where);
    }
    for (size_t j = 0; j < e; ++j) {
      if (batch[j].cache == b.cache) {
        return InvalidArgument("forward: batch entries " + std::to_string(j) + " and " +
                               std::to_string(e) + " share one KV cache");
      }
    }
    n += b.tokens.size();
    n_out += b.all_logits ? b.tokens.size() : 1;
  }

  const size_t E = static_cast<size_t>(c.n_embd);
  const size_t Q = static_cast<size_t>(c.q_dim());
  const size_t KV = static_cast<size_t>(c.kv_dim());
  const size_t F = static_cast<size_t>(c.n_ff);
  const size_t D = static_cast<size_t>(c.head_dim);
  const size_t H = static_cast<size_t>(c.n_head);
  const size_t group = static_cast<size_t>(c.gqa_group());
  const size_t rot = static_cast<size_t>(c.n_rot);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));

  // ---- slots: append every entry, undoing all of them on any later failure ----
  std::vector<detail::AttentionSeq> seqs(batch.size());
  size_t appended = 0;
  auto roll_back = [&] {
    for (size_t e = 0; e < appended; ++e) batch[e].cache->Truncate(seqs[e].base);
  };
  for (size_t e = 0, t0 = 0; e < batch.size(); ++e) {
    const SequenceBatch& b = batch[e];
    seqs[e] = {t0, b.tokens.size(), b.cache->size(), nullptr, nullptr};
    const Status s = b.cache->Append(b.positions.data(), b.tokens.size());
    if (!s.ok()) {
      roll_back();
      return s;
    }
    ++appended;
    t0 += b.tokens.size();
  }
  auto fail = [&](const char* what) {
    roll_back();
    return Internal(std::string("forward: ") + what + " failed on validated weights");
  };

  const detail::Kernels k{quant_kernels_, ops_};
  const bool single = batch.size() == 1;  // k / v then go straight into the cache slots
  std::vector<float> x(n * E);      // [n][E] residual stream
  std::vector<float> xn(n * E);     // [n][E] normalised input of a sub-block
  std::vector<float> q(n * Q);      // [n][Q]
  std::vector<float> kv(single ? 0 : 2 * n * KV);  // [2][n][KV] k, v before the scatter
  std::vector<float> attn(n * Q);   // [n][Q]
  std::vector<float> proj(n * E);   // [n][E] sub-block output added to x
  std::vector<float> gate(n * F);   // [n][F]
  std::vector<float> up(n * F);     // [n][F]
  std::vector<float> rope(n * rot); // [n][rot] cos/sin per token
  detail::ActivationBatch act;

  for (size_t e = 0, t = 0; e < batch.size(); ++e) {
    const SequenceBatch& b = batch[e];
    for (size_t i = 0; i < b.tokens.size(); ++i, ++t) {
      if (!kernels::ref::DequantizeRow(token_embd_.type, token_embd_.data,
                                       token_embd_.row_bytes, token_embd_.cols,
                                       static_cast<size_t>(b.tokens[i]), x.data() + t * E)) {
        return fail("embedding lookup");
      }
      kernels::ref::RopeCosSin(b.positions[i], rot, c.rope_freq_base, rope.data() + t * rot);
    }
  }

  const float* pending = nullptr;  // sub-block output not yet added to x
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerWeights& lw = layers_[l];
    act.Reset(k, xn.data(), n, E, {&lw.wq, &lw.wk, &lw.wv});
    detail::AddNormQuantize(pool, k, x.data(), pending, lw.attn_norm.data(), c.rms_norm_eps,
                            xn.data(), n, E, act);
    float* k_out = single ? batch[0].cache->K(l, seqs[0].base) : kv.data();  // [n][KV]
    float* v_out = single ? batch[0].cache->V(l, seqs[0].base) : kv.data() + n * KV;
    if (!detail::RunProducts(pool, k, {{&lw.wq, q.data(), Q}, {&lw.wk, k_out, KV},
                                       {&lw.wv, v_out, KV}}, act)) {
      return fail("QKV projection");
    }
    detail::ApplyRope(pool, k, q.data(), H, k_out, KV / D, KV, D, rot, rope.data(), n);
    for (size_t e = 0; e < batch.size(); ++e) {
      detail::AttentionSeq& s = seqs[e];
      SequenceKvCache& cache = *batch[e].cache;
      if (!single) {  // slots base.. of one cache are contiguous
        std::copy_n(k_out + s.t0 * KV, s.n * KV, cache.K(l, s.base));
        std::copy_n(v_out + s.t0 * KV, s.n * KV, cache.V(l, s.base));
      }
      s.keys = cache.K(l, 0);
      s.values = cache.V(l, 0);
    }
    detail::RunAttention(pool, k, q.data(), attn.data(), seqs, H, H / group, D, KV, scale);

    act.Reset(k, attn.data(), n, Q, {&lw.wo});
    detail::QuantizeAll(pool, act);
    if (!detail::RunProducts(pool, k, {{&lw.wo, proj.data(), E}}, act)) {
      return fail("output projection");
    }

    act.Reset(k, xn.data(), n, E, {&lw.w_gate, &lw.w_up});
    detail::AddNormQuantize(pool, k, x.data(), proj.data(), lw.ffn_norm.data(), c.rms_norm_eps,
                            xn.data(), n, E, act);
    if (!detail::RunGateUp(pool, k, lw.w_gate, lw.w_up, act, gate.data(), up.data())) {
      return fail("FFN up projection");
    }
    act.Reset(k, gate.data(), n, F, {&lw.w_down});
    detail::QuantizeAll(pool, act);
    if (!detail::RunProducts(pool, k, {{&lw.w_down, proj.data(), E}}, act)) {
      return fail("FFN down");
    }
    pending = proj.data();
  }

  // Final norm of the rows whose logits are wanted: they are gathered (residual stream and
  // pending sub-block output) into contiguous rows, so that only they are normalised.
  std::vector<float> sel_x(n_out * E), sel_add(n_out * E);
  out->first_row.resize(batch.size() + 1);
  for (size_t e = 0, row = 0; e < batch.size(); ++e) {
    const detail::AttentionSeq& s = seqs[e];
    const size_t first = batch[e].all_logits ? s.t0 : s.t0 + s.n - 1;
    const size_t rows = s.t0 + s.n - first;
    std::copy_n(x.data() + first * E, rows * E, sel_x.data() + row * E);
    if (pending != nullptr) std::copy_n(pending + first * E, rows * E, sel_add.data() + row * E);
    row += rows;
    out->first_row[e + 1] = row;
  }
  act.Reset(k, xn.data(), n_out, E, {&output_});
  detail::AddNormQuantize(pool, k, sel_x.data(), pending == nullptr ? nullptr : sel_add.data(),
                          output_norm_.data(), c.rms_norm_eps, xn.data(), n_out, E, act);
  out->data.resize(n_out * V);
  if (!detail::RunProducts(pool, k, {{&output_, out->data.data(), V}}, act)) {
    return fail("logits");
  }
  return Status::Ok();
}

Status LlamaModel::Forward(std::span<const int32_t> tokens, std::span<const int64_t> positions,
                           SequenceKvCache& cache, ThreadPool* pool, std::vector<float>* logits,
                           const ForwardOptions& options) const {
  if (logits == nullptr) return InvalidArgument("forward: no logits buffer");
  const SequenceBatch entry{&cache, tokens, positions, options.all_logits};
  BatchLogits out;
  out.data.swap(*logits);  // reuse the caller's buffer
  const Status s = ForwardBatch(std::span<const SequenceBatch>(&entry, 1), pool, &out);
  out.data.swap(*logits);
  return s;
}

}  // namespace spatten::model
