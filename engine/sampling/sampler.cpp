// Sampler implementation: a candidate list of (logit, id), filtered in llama.cpp's order.
#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace spatten::sampling {
namespace {

// Softmax of candidate logits divided by `temp` into probs (same order), in double so that the
// cumulative sums used by top-p and the draw do not drift over tens of thousands of terms.
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

// A strict total order (logit descending, then id ascending): ties resolve the same way with
// any standard library, which keeps seeded runs portable.
bool ByLogitDesc(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

Status Bad(const char* field, const std::string& rule, double got) {
  return InvalidArgument(std::string(field) + " must be " + rule + ", got " + Num(got));
}

uint64_t Mix64(uint64_t z) {  // splitmix64's finaliser: a bijection with good avalanche
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

int32_t ArgMax(std::span<const float> logits) {
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

uint64_t DeriveSeed(uint64_t base, uint64_t stream) {
  // The odd multiplier makes base + g * (stream + 1) distinct for distinct streams; Mix64 then
  // decorrelates neighbouring values (mt19937_64 seeds that differ in one bit start alike).
  return Mix64(base + 0x9E3779B97F4A7C15ull * (stream + 1));
}

Status SamplerParams::Validate(size_t n_vocab) const {
  // Comparisons are written so that NaN fails them.
  if (!(std::isfinite(temperature) && temperature >= 0.0f)) {
    return Bad("temperature", "a finite number >= 0", temperature);
  }
  if (top_k < 0) return Bad("top_k", ">= 0 (0 = off)", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) return Bad("top_p", "in (0, 1]", top_p);
  if (!(min_p >= 0.0f && min_p <= 1.0f)) return Bad("min_p", "in [0, 1]", min_p);
  if (!(repetition_penalty > 0.0f && repetition_penalty <= kMaxRepetitionPenalty)) {
    return Bad("repetition_penalty", "in (0, " + Num(kMaxRepetitionPenalty) + "] (1 = off)",
               repetition_penalty);
  }
  if (repeat_last_n < -1) return Bad("repeat_last_n", ">= -1 (-1 = whole context)", repeat_last_n);
  const std::string pf_range =
      "in [" + Num(-kMaxAbsPresenceFrequency) + ", " + Num(kMaxAbsPresenceFrequency) + "]";
  if (!(std::fabs(presence_penalty) <= kMaxAbsPresenceFrequency)) {
    return Bad("presence_penalty", pf_range, presence_penalty);
  }
  if (!(std::fabs(frequency_penalty) <= kMaxAbsPresenceFrequency)) {
    return Bad("frequency_penalty", pf_range, frequency_penalty);
  }
  if (logit_bias.size() > kMaxLogitBiasEntries) {
    return InvalidArgument("logit_bias has " + std::to_string(logit_bias.size()) +
                           " entries; at most " + std::to_string(kMaxLogitBiasEntries));
  }
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0 || (n_vocab > 0 && static_cast<size_t>(token) >= n_vocab)) {
      return InvalidArgument("logit_bias token id " + std::to_string(token) +
                             " is outside the vocabulary" +
                             (n_vocab > 0 ? " of " + std::to_string(n_vocab) : std::string()));
    }
    if (!(std::fabs(bias) <= kMaxAbsLogitBias)) {
      return InvalidArgument("logit_bias for token " + std::to_string(token) + " must be in [" +
                             Num(-kMaxAbsLogitBias) + ", " + Num(kMaxAbsLogitBias) + "], got " +
                             Num(bias));
    }
  }
  return Status::Ok();
}

Result<Sampler> Sampler::Create(const SamplerParams& params, size_t n_vocab) {
  SPATTEN_RETURN_IF_ERROR(params.Validate(n_vocab));
  return Sampler(params);
}

Sampler::Sampler(const SamplerParams& params)
    : params_(params),
      penalties_(PenaltyParams{.repetition = params.repetition_penalty,
                               .last_n = params.repeat_last_n,
                               .presence = params.presence_penalty,
                               .frequency = params.frequency_penalty,
                               .presence_frequency_in_window =
                                   params.presence_frequency_in_window}),
      rng_(params.seed) {}

void Sampler::Reset() {
  penalties_.Reset();
  rng_.seed(params_.seed);
}

double Sampler::Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

std::span<const float> Sampler::Adjusted(std::span<const float> logits) {
  if (params_.logit_bias.empty() && !penalties_.enabled()) return logits;
  work_.assign(logits.begin(), logits.end());
  for (const auto& [token, bias] : params_.logit_bias) {
    // Ids were checked against n_vocab at Create when it was given; skip any beyond this row.
    if (static_cast<size_t>(token) < work_.size()) work_[static_cast<size_t>(token)] += bias;
  }
  penalties_.Apply(work_);
  return work_;
}

void Sampler::TopP() {
  const double p = params_.top_p;
  if (sorted_) {  // after top-k: k sorted candidates, renormalised among themselves
    CandidateProbs(candidates_, 1.0, &probs_);
    double cum = 0.0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
      cum += probs_[i];
      if (cum >= p) {
        candidates_.resize(i + 1);
        return;
      }
    }
    return;  // rounding kept the total just under p: keep everything
  }
  // Lazy partial ordering: [0, m) is sorted and holds the m most likely tokens; each round
  // moves the next `chunk` most likely of the unsorted rest into place with nth_element (O(rest))
  // and sorts just them, doubling the chunk, until the sorted prefix reaches mass p.
  double max = -INFINITY;
  for (const auto& c : candidates_) max = std::max(max, static_cast<double>(c.first));
  double sum = 0.0;
  for (const auto& c : candidates_) sum += std::exp(static_cast<double>(c.first) - max);
  const size_t n = candidates_.size();
  size_t m = 0;
  size_t chunk = 64;
  double cum = 0.0;
  while (m < n) {
    const size_t end = std::min(n, m + chunk);
    const auto first = candidates_.begin() + static_cast<std::ptrdiff_t>(m);
    const auto last = candidates_.begin() + static_cast<std::ptrdiff_t>(end);
    if (end < n) std::nth_element(first, last, candidates_.end(), ByLogitDesc);
    std::sort(first, last, ByLogitDesc);
    for (size_t i = m; i < end; ++i) {
      cum += std::exp(static_cast<double>(candidates_[i].first) - max) / sum;
      if (cum >= p) {
        candidates_.resize(i + 1);
        sorted_ = true;
        return;
      }
    }
    m = end;
    chunk *= 2;
  }
  sorted_ = true;
}

void Sampler::Prepare(std::span<const float> logits) {
  const std::span<const float> adj = Adjusted(logits);
  candidates_.resize(adj.size());
  for (size_t i = 0; i < adj.size(); ++i) candidates_[i] = {adj[i], static_cast<int32_t>(i)};
  sorted_ = false;

  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < candidates_.size()) {
    const auto kth = candidates_.begin() + params_.top_k;
    std::nth_element(candidates_.begin(), kth, candidates_.end(), ByLogitDesc);
    candidates_.resize(static_cast<size_t>(params_.top_k));
    std::sort(candidates_.begin(), candidates_.end(), ByLogitDesc);
    sorted_ = true;
  }
  if (params_.top_p < 1.0f) TopP();

  if (params_.min_p > 0.0f) {
    // p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p); no softmax needed.
    float max_logit = -INFINITY;
    for (const auto& c : candidates_) max_logit = std::max(max_logit, c.first);
    const float threshold = max_logit + std::log(params_.min_p);
    std::erase_if(candidates_, [&](const auto& c) { return c.first < threshold; });  // stable
  }
  CandidateProbs(candidates_, params_.temperature, &probs_);
}

int32_t Sampler::Choose(std::span<const float> logits) {
  if (greedy()) return ArgMax(Adjusted(logits));
  Prepare(logits);
  const double u = Uniform();
  double cum = 0.0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cum += probs_[i];
    if (u < cum) return candidates_[i].second;
  }
  return candidates_.back().second;  // rounding left u >= the total: take the last
}

int32_t Sampler::Sample(std::span<const float> logits) {
  const int32_t token = Choose(logits);
  Accept(token);
  return token;
}

std::vector<TokenProb> Sampler::Distribution(std::span<const float> logits) {
  if (greedy()) return {{ArgMax(Adjusted(logits)), 1.0}};
  Prepare(logits);
  std::vector<TokenProb> out(candidates_.size());
  for (size_t i = 0; i < candidates_.size(); ++i) out[i] = {candidates_[i].second, probs_[i]};
  if (!sorted_) {
    std::sort(out.begin(), out.end(), [](const TokenProb& a, const TokenProb& b) {
      return a.prob > b.prob || (a.prob == b.prob && a.token < b.token);
    });
  }
  return out;
}

}  // namespace spatten::sampling
