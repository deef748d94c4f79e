// Log-probabilities for the OpenAI / vLLM "logprobs" response fields: the log-probability of the
// token actually chosen plus the top-n most likely alternatives at that position.
//
// Which distribution: the caller passes the model's *raw* logits (before logit bias,
// penalties, temperature and the top-k/top-p/min-p filters). That is what vLLM reports by
// default ("raw_logprobs") and what OpenAI's API describes: the model's own belief, which does
// not change with the sampling settings. As a consequence a sampled token may have a low
// logprob, and a token excluded by top-k may still appear among the alternatives.
//
// Numerics: a stable log-softmax in double precision, logprob_i = x_i - (m + log sum exp(x_j -
// m)) with m = max x, so large logits neither overflow nor lose the small terms. Cost: two O(V)
// passes; the top-n are kept in a small sorted array during the second (n <= 20, so insertion
// is cheaper than a heap or a sort of the vocabulary).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace spatten::sampling {

// OpenAI's API caps top_logprobs at 20; vLLM's default max_logprobs is 20 as well.
inline constexpr int32_t kMaxTopLogprobs = 20;

struct TokenLogprob {
  int32_t token;
  double logprob;  // natural log, <= 0
};

struct Logprobs {
  TokenLogprob chosen;
  // The top_n most likely tokens, most likely first, ties by lower id. It may or may not
  // contain the chosen token (as in OpenAI's responses).
  std::vector<TokenLogprob> top;
};

// log(sum_i exp(logits_i)). InvalidArgument for an empty row, a NaN or +inf, or when every
// entry is -inf (no distribution).
Result<double> LogSumExp(std::span<const float> logits);

// Logprobs of `chosen` and the top_n alternatives from raw logits. InvalidArgument for top_n
// outside [0, kMaxTopLogprobs] or the LogSumExp errors; OutOfRange for `chosen` outside logits.
Result<Logprobs> ComputeLogprobs(std::span<const float> logits, int32_t chosen, int32_t top_n);

}  // namespace spatten::sampling
