// Sampler: picks the next token id from a row of logits.
//
// Pipeline (llama.cpp's default order, so side-by-side runs agree):
//   1. logit bias      logit[id] += bias (OpenAI's logit_bias; -100 effectively bans a token)
//   2. penalties       repetition / presence / frequency (penalties.h), from the token history
//   3. greedy          temperature == 0 or top_k == 1: arg-max of the adjusted logits
//   4. top-k           keep the k largest logits
//   5. top-p           keep the smallest most-likely prefix with cumulative probability >= p
//   6. min-p           drop tokens with p < min_p * p_max
//   7. temperature     softmax(logit / T) over the survivors, one draw
// Top-p and min-p see the probabilities of the adjusted but *untempered* logits (temperature
// comes last), as in llama.cpp. Ties are broken by the lower token id everywhere, so results
// do not depend on the standard library's sort implementation.
//
// Complexity per token with vocabulary V (49152 for the default model), none of which sorts
// the whole vocabulary unless top-p genuinely needs most of it:
//   * copy + bias + penalties: O(V + distinct penalised tokens)
//   * top-k: nth_element O(V), then sort of the k survivors O(k log k)
//   * top-p without top-k: one O(V) pass for the normaliser, then the sorted prefix is grown
//     in doubling chunks (nth_element on the unsorted rest + sort of the chunk) until it holds
//     mass p: O(V log(m/64) + m log m) for m survivors; typical p=0.9-0.95 keeps m << V
//   * min-p: O(n) filter on the current candidates, no ordering needed
//   * draw: O(n)
//
// Randomness: std::mt19937_64 seeded once; uniforms are built from the raw 64-bit output (not a
// library distribution), so a seed reproduces a run on any platform. Each Sampler owns its
// generator, so sequences never share random state; DeriveSeed gives well-separated seeds for
// the n sequences of one request.
//
// A Sampler holds RNG and token-history state: one per sequence, one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/sampling/penalties.h"

namespace spatten::sampling {

// Validation bounds (documented for API users; requests beyond them are InvalidArgument).
inline constexpr float kMaxRepetitionPenalty = 10.0f;  // (0, 10]; 1 = off
inline constexpr float kMaxAbsPresenceFrequency = 2.0f;  // OpenAI's [-2, 2]
inline constexpr float kMaxAbsLogitBias = 100.0f;        // OpenAI's [-100, 100]
inline constexpr size_t kMaxLogitBiasEntries = 1024;

struct SamplerParams {
  // The first five fields keep their order: callers use designated initialisers.
  float temperature = 0.0f;  // 0: greedy; must be >= 0
  int32_t top_k = 0;         // keep the k most likely tokens; 0 = off
  float top_p = 1.0f;        // nucleus threshold in (0, 1]; 1 = off
  float min_p = 0.0f;        // in [0, 1]; drop tokens with p < min_p * p_max; 0 = off
  uint64_t seed = 0;         // same seed + same logits -> same tokens

  float repetition_penalty = 1.0f;  // llama.cpp semantics, (0, kMaxRepetitionPenalty]; 1 = off
  int32_t repeat_last_n = 64;       // repetition window in tokens; -1 = whole context, 0 = off
  float presence_penalty = 0.0f;    // OpenAI semantics, [-2, 2]
  float frequency_penalty = 0.0f;   // OpenAI semantics, [-2, 2]
  // false (OpenAI / vLLM): presence/frequency count generated tokens only. true (llama.cpp):
  // they count the repeat_last_n window of prompt + generated tokens.
  bool presence_frequency_in_window = false;
  std::map<int32_t, float> logit_bias = {};  // token id -> bias added to its logit

  // OK, or InvalidArgument whose message starts with the offending field's name. With
  // n_vocab > 0, logit_bias ids must also be < n_vocab.
  Status Validate(size_t n_vocab = 0) const;
};

// One surviving candidate of the final distribution.
struct TokenProb {
  int32_t token;
  double prob;
};

class Sampler {
 public:
  // InvalidArgument for out-of-range parameters (see SamplerParams::Validate).
  static Result<Sampler> Create(const SamplerParams& params, size_t n_vocab = 0);

  // Records prompt tokens for the repetition window (call once, before the first Sample).
  void AcceptPrompt(std::span<const int32_t> tokens) { penalties_.AcceptPrompt(tokens); }

  // Chooses a token and records it as generated (for the penalties). logits: [n_vocab],
  // n_vocab >= 1, finite or -inf. Returns an index into logits.
  int32_t Sample(std::span<const float> logits);

  // Chooses without recording (e.g. when the caller may reject the token, as in speculative
  // decoding); follow with Accept for the token finally kept. Advances the RNG like Sample.
  int32_t Choose(std::span<const float> logits);
  void Accept(int32_t token) { penalties_.AcceptGenerated(token); }

  // The distribution a non-greedy draw would use now: every surviving token with its final
  // probability (after bias, penalties, filters and temperature), most likely first. Greedy
  // parameters give the arg-max with probability 1. Does not touch the RNG or the history.
  std::vector<TokenProb> Distribution(std::span<const float> logits);

  // Forgets the token history and reseeds the generator (a new sequence, same parameters).
  void Reset();

  const SamplerParams& params() const { return params_; }
  bool greedy() const { return params_.temperature <= 0.0f || params_.top_k == 1; }

 private:
  explicit Sampler(const SamplerParams& params);
  double Uniform();  // in [0, 1)
  // Fills candidates_ (sorted by descending logit when sorted==true) and probs_ with the final
  // distribution. Requires !greedy().
  void Prepare(std::span<const float> logits);
  // Adjusted logits (bias + penalties) into work_; returns a view of the input when there is
  // nothing to adjust.
  std::span<const float> Adjusted(std::span<const float> logits);
  void TopP();

  SamplerParams params_;
  PenaltyState penalties_;
  std::mt19937_64 rng_;
  std::vector<float> work_;                            // adjusted logits, reused
  std::vector<std::pair<float, int32_t>> candidates_;  // reused buffer: (logit, id)
  std::vector<double> probs_;
  bool sorted_ = false;  // candidates_ are in descending (logit, ascending id) order
};

// Index of the largest logit (the lowest index among equal maxima). logits.size() >= 1.
int32_t ArgMax(std::span<const float> logits);

// A seed for stream `stream` of a request seeded with `base` (splitmix64 of both): distinct,
// well-mixed seeds for the n completions of one request, reproducible from the request seed.
uint64_t DeriveSeed(uint64_t base, uint64_t stream);

}  // namespace spatten::sampling
