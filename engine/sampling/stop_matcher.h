// Ending a generation: stop strings matched across token boundaries, and the finish reason.
//
// StopMatcher is fed the decoded text stream piece by piece (one piece per token, as returned
// by tokenizer::StreamingDecoder) and returns the text that is safe to show the client:
//   * a stop string is found even when it is split over several pieces;
//   * text that could still be the beginning of a stop string is held back, so a client never
//     sees part of a stop string (held text is released as soon as it can no longer match);
//   * on a match it returns the text before the stop string (the stop string itself excluded
//     unless Options::include_stop, as vLLM's include_stop_str_in_output) and which string
//     matched; everything after the match is discarded and later pushes return nothing;
//   * Flush releases the held-back text when the stream ends for another reason (length, eog).
//
// Which stop wins: the one that *completes first* in the stream (streaming servers stop at the
// first token that completes any stop string, so a later-completing one can never be seen).
// Among strings completing at the same byte the longest wins (it starts earliest and so hides
// the most text: with stops "b" and "ab", "xab" yields "x"); among identical strings, the
// lower index. Consequently, with stops "a" and "ab", "ab" can never match.
//
// Matching is on bytes. Feed complete UTF-8 characters (as StreamingDecoder emits) and use
// valid UTF-8 stop strings; then every emitted piece is valid UTF-8 too, because a hold-back
// always starts where a stop string starts, i.e. on a character boundary.
//
// Limits (InvalidArgument beyond): at most kMaxStopStrings strings of 1..kMaxStopBytes bytes.
// They bound the held-back text (< kMaxStopBytes bytes) and the work per piece to
// O((held + piece) * strings) for the search plus O(kMaxStopBytes * strings) for the hold-back.
//
// One StopMatcher per stream; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace spatten::sampling {

// Why a generation ended. OpenAI's API reports kEog as "stop" as well; vLLM adds the stop
// token or string as stop_reason.
enum class FinishReason {
  kNone,    // still running
  kStop,    // a stop string matched
  kLength,  // max_tokens reached, or the context window is full
  kEog,     // the model produced an end-of-generation token
};

// "none", "stop", "length", "eog".
std::string_view FinishReasonName(FinishReason reason);
// The OpenAI finish_reason: "stop" for kStop and kEog, "length" for kLength, "" for kNone.
std::string_view OpenAiFinishReason(FinishReason reason);

// Decides whether generation ends after a token, in vLLM's precedence: an end-of-generation
// token (unless ignored), then a stop string, then the token budget (n_generated counts the
// token just produced; context_full: no room to feed it back). kNone: continue.
FinishReason FinishAfterToken(bool is_eog, bool ignore_eos, bool stop_matched,
                              size_t n_generated, size_t max_tokens, bool context_full);

inline constexpr size_t kMaxStopStrings = 16;
inline constexpr size_t kMaxStopBytes = 256;

class StopMatcher {
 public:
  struct Options {
    bool include_stop = false;  // also emit the matched stop string
  };
  struct Output {
    std::string text;      // safe to show now
    int32_t matched = -1;  // index into stops() when this push completed a stop string
    bool stopped() const { return matched >= 0; }
  };

  static Result<StopMatcher> Create(std::vector<std::string> stops) {
    return Create(std::move(stops), Options{});
  }
  static Result<StopMatcher> Create(std::vector<std::string> stops, Options options);

  // Adds the next piece of decoded text. After a match, returns empty outputs.
  Output Push(std::string_view piece);
  // Ends the stream: returns the held-back text (empty after a match) and resets the matcher
  // for a new stream.
  std::string Flush();

  bool stopped() const { return matched_ >= 0; }
  int32_t matched() const { return matched_; }
  size_t held_bytes() const { return held_.size(); }
  const std::vector<std::string>& stops() const { return stops_; }

 private:
  StopMatcher(std::vector<std::string> stops, Options options)
      : stops_(std::move(stops)), options_(options) {}
  // Length of the longest suffix of held_ that is a proper prefix of some stop string.
  size_t HoldBack() const;

  std::vector<std::string> stops_;
  Options options_;
  std::string held_;  // text not yet emitted (a possible stop-string prefix), then the new piece
  int32_t matched_ = -1;
};

}  // namespace spatten::sampling
