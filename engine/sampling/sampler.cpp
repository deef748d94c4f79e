// Sampler implementation: candidate list of (logit, id), filtered in llama.cpp's order.
#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace spatten::sampling {
namespace {

// Softmax of candidate logits divided by `temp` into probs (same order).
void CandidateProbs(const std::vector<std::pair<float, int32_t>>& cand, double temp,
                    std::vector<double>* probs) {
  probs->resize(cand.size());
  double max = -INFINITY;
  for (const auto& c : cand) max = std::max(max, static_cast<double>(c.first));
  double sum = 0.0;
  for (size_t i = 0; i < cand.size(); ++i) {
    (*probs)[i] = std::exp((static_cast<double>(cand[i].first) - max) / temp);
    sum += (*probs)[i];
  }
  for (double& p : *probs) p /= sum;
}

bool ByLogitDesc(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

}  // namespace

int32_t ArgMax(std::span<const float> logits) {
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

Result<Sampler> Sampler::Create(const SamplerParams& p) {
  if (!std::isfinite(p.temperature)) return InvalidArgument("temperature must be finite");
  if (p.top_k < 0) return InvalidArgument("top_k must be >= 0, got " + std::to_string(p.top_k));
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) {
    return InvalidArgument("top_p must be in (0, 1], got " + std::to_string(p.top_p));
  }
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) {
    return InvalidArgument("min_p must be in [0, 1], got " + std::to_string(p.min_p));
  }
  return Sampler(p);
}

double Sampler::Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

int32_t Sampler::Sample(std::span<const float> logits) {
  if (params_.temperature <= 0.0f || params_.top_k == 1) return ArgMax(logits);

  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    candidates_[i] = {logits[i], static_cast<int32_t>(i)};
  }
  // Sorted (descending) candidates are needed by top-k and top-p; min-p alone needs no order.
  const bool need_sort = params_.top_k > 0 || params_.top_p < 1.0f;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < candidates_.size()) {
    const auto k = static_cast<std::ptrdiff_t>(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + k, candidates_.end(),
                      ByLogitDesc);
    candidates_.resize(static_cast<size_t>(k));
  } else if (need_sort) {
    std::sort(candidates_.begin(), candidates_.end(), ByLogitDesc);
  }

  if (params_.top_p < 1.0f) {
    CandidateProbs(candidates_, 1.0, &probs_);
    double cum = 0.0;
    size_t keep = candidates_.size();
    for (size_t i = 0; i < candidates_.size(); ++i) {
      cum += probs_[i];
      if (cum >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
    candidates_.resize(keep);
  }

  if (params_.min_p > 0.0f) {
    // p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p)
    float max_logit = -INFINITY;
    for (const auto& c : candidates_) max_logit = std::max(max_logit, c.first);
    const float threshold = max_logit + std::log(params_.min_p);
    std::erase_if(candidates_, [&](const auto& c) { return c.first < threshold; });
  }

  CandidateProbs(candidates_, params_.temperature, &probs_);
  const double u = Uniform();
  double cum = 0.0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cum += probs_[i];
    if (u < cum) return candidates_[i].second;
  }
  return candidates_.back().second;  // rounding left u >= the total: take the last
}

}  // namespace spatten::sampling
