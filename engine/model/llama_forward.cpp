// LlamaModel::Forward: the llama decoder stack.
//
// Per layer, for a batch of n tokens (all buffers row-major, one row per token):
//   xn = RMSNorm(x) * attn_norm                       (quantized once for Q, K and V)
//   q = Wq xn, k = Wk xn, v = Wv xn   (k and v are written straight into the cache slots)
//   RoPE(q), RoPE(k) at each token's position (adjacent pairs, as GGUF llama files expect)
//   attn[t][h] = softmax(q[t][h] . K[kvh][0..slot_t] / sqrt(head_dim)) V[kvh][0..slot_t]
//   x += Wo attn
//   xn = RMSNorm(x) * ffn_norm;  x += W_down (silu(W_gate xn) * (W_up xn))
// then logits = W_out RMSNorm(x) * output_norm for the requested tokens.
// The steps and their parallel regions are in forward_ops.h. RoPE angles are computed once
// per call (one table row per token) and shared by every layer.
#include <cmath>
#include <string>

#include "engine/model/forward_ops.h"
#include "engine/model/llama_model.h"
#include "kernels/ref/dequant.h"
#include "kernels/ref/ops.h"

namespace spatten::model {

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

  const detail::Kernels k{quant_kernels_, ops_};
  std::vector<float> x(n * E);      // [n][E] residual stream
  std::vector<float> xn(n * E);     // [n][E] normalised input of a sub-block
  std::vector<float> q(n * Q);      // [n][Q]
  std::vector<float> attn(n * Q);   // [n][Q]
  std::vector<float> proj(n * E);   // [n][E] sub-block output added to x
  std::vector<float> gate(n * F);   // [n][F]
  std::vector<float> up(n * F);     // [n][F]
  std::vector<float> rope(n * rot); // [n][rot] cos/sin per token
  detail::ActivationBatch act;

  for (size_t t = 0; t < n; ++t) {
    if (!kernels::ref::DequantizeRow(token_embd_.type, token_embd_.data, token_embd_.row_bytes,
                                     token_embd_.cols, static_cast<size_t>(tokens[t]),
                                     x.data() + t * E)) {
      return fail("embedding lookup");
    }
    kernels::ref::RopeCosSin(positions[t], rot, c.rope_freq_base, rope.data() + t * rot);
  }

  const float* pending = nullptr;  // sub-block output not yet added to x
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerWeights& lw = layers_[l];
    act.Reset(k, xn.data(), n, E, {&lw.wq, &lw.wk, &lw.wv});
    detail::AddNormQuantize(pool, k, x.data(), pending, lw.attn_norm.data(), c.rms_norm_eps,
                            xn.data(), n, E, act);
    float* k_out = cache.K(l, base);  // [n][KV]: slots base.. are contiguous
    float* v_out = cache.V(l, base);
    if (!detail::RunProducts(pool, k, {{&lw.wq, q.data(), Q}, {&lw.wk, k_out, KV},
                                       {&lw.wv, v_out, KV}}, act)) {
      return fail("QKV projection");
    }
    detail::ApplyRope(pool, k, q.data(), H, k_out, KV / D, KV, D, rot, rope.data(), n);
    detail::RunAttention(pool, k, q.data(), attn.data(), n, base, H, H / group, D,
                         cache.K(l, 0), cache.V(l, 0), KV, scale);

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

  // Final norm of the tokens whose logits are wanted (the residual add first for all of
  // them: only the selected rows are normalised).
  const size_t first_out = options.all_logits ? 0 : n - 1;
  const size_t n_out = n - first_out;
  act.Reset(k, xn.data(), n_out, E, {&output_});
  detail::AddNormQuantize(pool, k, x.data() + first_out * E,
                          pending == nullptr ? nullptr : pending + first_out * E,
                          output_norm_.data(), c.rms_norm_eps, xn.data(), n_out, E, act);
  logits->resize(n_out * V);
  if (!detail::RunProducts(pool, k, {{&output_, logits->data(), V}}, act)) {
    return fail("logits");
  }
  return Status::Ok();
}

}  // namespace spatten::model
