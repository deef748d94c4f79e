// Synthetic dense and SpAtten-pruned generation traces; see dense_trace.h.
#include "sim/dense_trace.h"

#include <algorithm>
#include <cmath>

namespace spatten::sim {
namespace {

constexpr int64_t kMaxDim = 1024;
constexpr int64_t kMaxTokens = int64_t{1} << 20;

Status CheckSpec(const DenseTraceSpec& s, int64_t max_rows) {
  auto bad = [](const std::string& what) { return InvalidArgument("synthetic trace: " + what); };
  if (s.layers < 1 || s.layers > kMaxDim) return bad("layers must be in [1, 1024], got " + std::to_string(s.layers));
  if (s.heads < 1 || s.heads > kMaxDim) return bad("heads must be in [1, 1024], got " + std::to_string(s.heads));
  if (s.head_dim < 1 || s.head_dim > kMaxDim)
    return bad("head_dim must be in [1, 1024], got " + std::to_string(s.head_dim));
  if (s.context_tokens < 1) return bad("context_tokens must be >= 1, got " + std::to_string(s.context_tokens));
  if (s.generated_tokens < 1)
    return bad("generated_tokens must be >= 1, got " + std::to_string(s.generated_tokens));
  if (int64_t{s.context_tokens} + s.generated_tokens > kMaxTokens)
    return bad("context_tokens + generated_tokens must be <= 1048576");
  if (TraceRows(s) > max_rows)
    return bad("layers x heads x generated_tokens = " + std::to_string(TraceRows(s)) + " rows, above the limit of " +
               std::to_string(max_rows));
  return Status::Ok();
}

Status CheckRatio(double v, const char* name) {
  if (!(v > 0.0 && v <= 1.0))
    return InvalidArgument(std::string("synthetic trace: ") + name + " must be in (0, 1], got " + std::to_string(v));
  return Status::Ok();
}

Status CheckBits(int32_t bits, const char* name) {
  if (bits != -1 && bits != 4 && bits != 6 && bits != 8)
    return InvalidArgument(std::string("synthetic trace: ") + name + " must be -1, 4, 6 or 8, got " +
                           std::to_string(bits));
  return Status::Ok();
}

int32_t CeilFraction(int32_t n, double keep) {
  const auto k = static_cast<int32_t>(std::ceil(static_cast<double>(n) * keep - 1e-9));
  return std::clamp(k, 1, n);
}

Workload Build(const DenseTraceSpec& s, const PruneSpec& p) {
  Workload w;
  w.name = s.name;
  w.format = WorkloadFormat::kGpt2;
  w.rows.reserve(static_cast<size_t>(TraceRows(s)));
  const int32_t first_head_pruned = std::max(1, p.first_pruned_layer);
  const int32_t pruned_heads = CeilFraction(s.heads, p.head_keep);
  for (int32_t step = 0; step < s.generated_tokens; ++step) {
    const int32_t len = s.context_tokens + step;
    const int32_t kept = CeilFraction(len, p.token_keep);
    for (int32_t layer = 0; layer < s.layers; ++layer) {
      const int32_t heads = layer >= first_head_pruned ? pruned_heads : s.heads;
      const int32_t keys = layer == 0 ? len : kept;
      // The cascade token top-k at the end of a layer whose successor fetches fewer keys.
      const bool topk = layer + 1 < s.layers && kept < keys;
      for (int32_t head = 0; head < heads; ++head) {
        AttentionRow r;
        r.iteration = step;
        r.layer = layer;
        r.head = head;
        r.head_dim = s.head_dim;
        r.sentence_length = len;
        r.queries = 1;
        r.key_fetch = keys;
        r.value_fetch = CeilFraction(keys, p.value_keep);
        r.key_bits = p.key_bits;
        r.value_bits = p.value_bits;
        r.query_bits = -1;
        r.requant = false;
        r.token_topk = topk && head + 1 == heads;
        r.token_topk_keep = r.token_topk ? kept : 0;
        w.rows.push_back(r);
      }
    }
  }
  return w;
}

}  // namespace

int64_t TraceRows(const DenseTraceSpec& s) {
  return int64_t{std::max(s.layers, 0)} * std::max(s.heads, 0) * std::max(s.generated_tokens, 0);
}

Result<Workload> BuildDenseTrace(const DenseTraceSpec& spec, int64_t max_rows) {
  SPATTEN_RETURN_IF_ERROR(CheckSpec(spec, max_rows));
  return Build(spec, PruneSpec{});
}

Result<Workload> BuildPrunedTrace(const DenseTraceSpec& spec, const PruneSpec& prune, int64_t max_rows) {
  SPATTEN_RETURN_IF_ERROR(CheckSpec(spec, max_rows));
  SPATTEN_RETURN_IF_ERROR(CheckRatio(prune.token_keep, "token_keep"));
  SPATTEN_RETURN_IF_ERROR(CheckRatio(prune.head_keep, "head_keep"));
  SPATTEN_RETURN_IF_ERROR(CheckRatio(prune.value_keep, "value_keep"));
  SPATTEN_RETURN_IF_ERROR(CheckBits(prune.key_bits, "key_bits"));
  SPATTEN_RETURN_IF_ERROR(CheckBits(prune.value_bits, "value_bits"));
  if (prune.first_pruned_layer < 0)
    return InvalidArgument("synthetic trace: first_pruned_layer must be >= 0");
  return Build(spec, prune);
}

}  // namespace spatten::sim
