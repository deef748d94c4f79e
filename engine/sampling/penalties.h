// Repetition, presence and frequency penalties: per-sequence token history and the logit
// adjustments that discourage (or, with negative values, encourage) repeating tokens.
//
// Two conventions exist and both are supported:
//   * Repetition penalty (llama.cpp / CTRL paper): for every token that occurs in the last
//     `last_n` context tokens (prompt and generated alike; -1 = the whole context, 0 = off), a
//     positive logit is divided by the penalty and a non-positive one multiplied by it, so a
//     penalty > 1 always lowers the token's probability relative to unpenalised ones.
//   * Presence / frequency penalties (OpenAI): logit -= count * frequency + (count > 0) *
//     presence. By default `count` is how often the token was *generated* so far (OpenAI and
//     vLLM count output tokens only). With `presence_frequency_in_window` the counts come from
//     the same last-n window of prompt + generated tokens instead, as llama.cpp does; command
//     line tools that are compared side by side with llama.cpp use that.
// When a token is subject to both, the repetition scaling is applied first, then the
// subtraction (llama.cpp's order).
//
// Cost per step: O(distinct tokens in the window + distinct generated tokens), independent of
// the vocabulary size. Memory: the last-n window (nothing when last_n is -1, since no token ever
// leaves the window) plus one counter per distinct token. When every penalty is neutral no
// history is kept at all.
//
// Not thread-safe: one PenaltyState per sequence, used from one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <unordered_map>

namespace spatten::sampling {

struct PenaltyParams {
  float repetition = 1.0f;  // 1 = off; > 1 discourages repeats, (0, 1) encourages them
  int32_t last_n = 64;      // window for the repetition penalty; -1 = whole context, 0 = off
  float presence = 0.0f;    // subtracted once from every token that occurred
  float frequency = 0.0f;   // subtracted once per occurrence
  bool presence_frequency_in_window = false;  // see the file comment
};

class PenaltyState {
 public:
  explicit PenaltyState(const PenaltyParams& params);

  // False when every penalty is neutral: Apply is then a no-op and nothing is recorded.
  bool enabled() const { return repetition_on_ || counts_on_; }

  // Records prompt tokens (they count for the window but are not "generated").
  void AcceptPrompt(std::span<const int32_t> tokens);
  // Records one generated token.
  void AcceptGenerated(int32_t token);
  // Forgets all history (a new sequence with the same parameters).
  void Reset();

  // Adjusts logits (indexed by token id) in place. Recorded ids outside logits are ignored
  // (e.g. prompt ids from a tokenizer larger than the model's output layer).
  void Apply(std::span<float> logits) const;

  const PenaltyParams& params() const { return params_; }

 private:
  void Push(int32_t token);

  PenaltyParams params_;
  bool repetition_on_ = false;  // repetition != 1 and last_n != 0
  bool counts_on_ = false;      // presence or frequency != 0
  bool window_on_ = false;      // the window is needed (repetition, or counts in window)
  std::deque<int32_t> window_;  // last_n most recent context tokens (only when last_n > 0)
  std::unordered_map<int32_t, int32_t> window_counts_;     // token -> occurrences in window
  std::unordered_map<int32_t, int32_t> generated_counts_;  // token -> times generated
};

}  // namespace spatten::sampling
