// Stable log-softmax and top-n selection without sorting the vocabulary.
#include "engine/sampling/logprobs.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace spatten::sampling {

Result<double> LogSumExp(std::span<const float> logits) {
  if (logits.empty()) return InvalidArgument("logits: empty row");
  double max = -INFINITY;
  for (size_t i = 0; i < logits.size(); ++i) {
    const float x = logits[i];
    // -inf is a legitimate "impossible" token; NaN and +inf mean the forward pass went wrong.
    if (std::isnan(x) || x == INFINITY) {
      return InvalidArgument("logits: entry " + std::to_string(i) + " is not finite");
    }
    max = std::max(max, static_cast<double>(x));
  }
  if (max == -INFINITY) return InvalidArgument("logits: every entry is -inf");
  double sum = 0.0;  // >= 1: the maximum contributes exp(0)
  for (const float x : logits) sum += std::exp(static_cast<double>(x) - max);
  return max + std::log(sum);
}

Result<Logprobs> ComputeLogprobs(std::span<const float> logits, int32_t chosen, int32_t top_n) {
  if (top_n < 0 || top_n > kMaxTopLogprobs) {
    return InvalidArgument("top_logprobs must be in [0, " + std::to_string(kMaxTopLogprobs) +
                           "], got " + std::to_string(top_n));
  }
  if (chosen < 0 || static_cast<size_t>(chosen) >= logits.size()) {
    return OutOfRange("chosen token " + std::to_string(chosen) + " is outside the " +
                      std::to_string(logits.size()) + " logits");
  }
  SPATTEN_ASSIGN_OR_RETURN(const double lse, LogSumExp(logits));

  Logprobs out;
  out.chosen = {chosen, static_cast<double>(logits[static_cast<size_t>(chosen)]) - lse};
  if (top_n == 0) return out;

  // best: descending by logit; ids arrive in increasing order, so a strict comparison keeps
  // the lower id ahead of a later equal logit.
  const size_t n = std::min(static_cast<size_t>(top_n), logits.size());
  std::vector<std::pair<float, int32_t>> best;
  best.reserve(n + 1);
  for (size_t i = 0; i < logits.size(); ++i) {
    const float x = logits[i];
    if (best.size() == n && !(x > best.back().first)) continue;  // the common, O(1) case
    auto pos = std::upper_bound(best.begin(), best.end(), x,
                                [](float v, const auto& e) { return v > e.first; });
    best.insert(pos, {x, static_cast<int32_t>(i)});
    if (best.size() > n) best.pop_back();
  }
  out.top.reserve(best.size());
  for (const auto& [x, id] : best) out.top.push_back({id, static_cast<double>(x) - lse});
  return out;
}

}  // namespace spatten::sampling
