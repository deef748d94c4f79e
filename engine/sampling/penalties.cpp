// PenaltyState: incremental counters so that applying penalties never scans the vocabulary.
#include "engine/sampling/penalties.h"

namespace spatten::sampling {

PenaltyState::PenaltyState(const PenaltyParams& params) : params_(params) {
  repetition_on_ = params_.repetition != 1.0f && params_.last_n != 0;
  counts_on_ = params_.presence != 0.0f || params_.frequency != 0.0f;
  window_on_ = repetition_on_ || (counts_on_ && params_.presence_frequency_in_window);
}

void PenaltyState::Reset() {
  window_.clear();
  window_counts_.clear();
  generated_counts_.clear();
}

void PenaltyState::Push(int32_t token) {
  if (!window_on_ || params_.last_n == 0) return;
  ++window_counts_[token];
  if (params_.last_n < 0) return;  // whole context: nothing ever leaves, so no need to keep it
  window_.push_back(token);
  if (window_.size() > static_cast<size_t>(params_.last_n)) {
    const int32_t old = window_.front();
    window_.pop_front();
    // Erase at zero so that Apply only visits tokens still inside the window.
    auto it = window_counts_.find(old);
    if (--it->second == 0) window_counts_.erase(it);
  }
}

void PenaltyState::AcceptPrompt(std::span<const int32_t> tokens) {
  if (!window_on_) return;
  for (const int32_t t : tokens) Push(t);
}

void PenaltyState::AcceptGenerated(int32_t token) {
  if (!enabled()) return;
  Push(token);
  if (counts_on_ && !params_.presence_frequency_in_window) ++generated_counts_[token];
}

void PenaltyState::Apply(std::span<float> logits) const {
  const auto in_range = [&](int32_t t) {
    return t >= 0 && static_cast<size_t>(t) < logits.size();
  };
  // Scaling first, for every penalised token, then the subtractions: the two do not commute,
  // and a token may be in both maps.
  if (repetition_on_) {
    for (const auto& [token, count] : window_counts_) {
      if (!in_range(token)) continue;
      float& l = logits[static_cast<size_t>(token)];
      // Dividing a negative logit would raise it; multiplying lowers it instead.
      l = l > 0.0f ? l / params_.repetition : l * params_.repetition;
    }
  }
  if (counts_on_) {
    const auto& counts =
        params_.presence_frequency_in_window ? window_counts_ : generated_counts_;
    for (const auto& [token, count] : counts) {
      if (!in_range(token) || count <= 0) continue;
      logits[static_cast<size_t>(token)] -=
          static_cast<float>(count) * params_.frequency + params_.presence;
    }
  }
}

}  // namespace spatten::sampling
