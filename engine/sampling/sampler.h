// Sampler: picks the next token id from a row of logits.
//
// Greedy (temperature <= 0) returns the arg-max, lowest id on ties. Otherwise the filters run
// in llama.cpp's default order: top-k, then top-p (nucleus) and min-p on the probabilities of
// the untempered logits, then temperature, then one draw from the renormalised distribution.
// Draws come from a std::mt19937_64 seeded once, so a seed reproduces a run on any platform
// (uniforms are built from the raw 64-bit output, not a library distribution).
//
// A Sampler holds RNG state: use one per sequence, from one thread at a time.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "common/status.h"

namespace spatten::sampling {

struct SamplerParams {
  float temperature = 0.0f;  // <= 0: greedy
  int32_t top_k = 0;         // keep the k most likely tokens; 0 = off
  float top_p = 1.0f;        // keep the smallest prefix with cumulative probability >= p; 1 = off
  float min_p = 0.0f;        // drop tokens with p < min_p * p_max; 0 = off
  uint64_t seed = 0;
};

class Sampler {
 public:
  // InvalidArgument for out-of-range parameters (negative top_k, top_p outside (0, 1], ...).
  static Result<Sampler> Create(const SamplerParams& params);

  // logits: [n_vocab], n_vocab >= 1. Returns an index into logits.
  int32_t Sample(std::span<const float> logits);

  const SamplerParams& params() const { return params_; }

 private:
  explicit Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {}
  double Uniform();  // in [0, 1)

  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;  // reused buffer: (logit, id)
  std::vector<double> probs_;
};

// Index of the largest logit (the lowest index among equal maxima). logits.size() >= 1.
int32_t ArgMax(std::span<const float> logits);

}  // namespace spatten::sampling
