// StopMatcher: search only where a new match can end, hold back only what could still match.
#include "engine/sampling/stop_matcher.h"

#include <algorithm>

namespace spatten::sampling {

std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return "none";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kEog: return "eog";
  }
  return "unknown";
}

std::string_view OpenAiFinishReason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return "";
    case FinishReason::kStop:
    case FinishReason::kEog: return "stop";
    case FinishReason::kLength: return "length";
  }
  return "";
}

FinishReason FinishAfterToken(bool is_eog, bool ignore_eos, bool stop_matched,
                              size_t n_generated, size_t max_tokens, bool context_full) {
  if (is_eog && !ignore_eos) return FinishReason::kEog;
  if (stop_matched) return FinishReason::kStop;
  if (n_generated >= max_tokens || context_full) return FinishReason::kLength;
  return FinishReason::kNone;
}

Result<StopMatcher> StopMatcher::Create(std::vector<std::string> stops, Options options) {
  if (stops.size() > kMaxStopStrings) {
    return InvalidArgument("stop: " + std::to_string(stops.size()) + " strings; at most " +
                           std::to_string(kMaxStopStrings));
  }
  for (size_t i = 0; i < stops.size(); ++i) {
    // An empty stop string would match before any text: almost certainly a client bug.
    if (stops[i].empty() || stops[i].size() > kMaxStopBytes) {
      return InvalidArgument("stop[" + std::to_string(i) + "] must be 1.." +
                             std::to_string(kMaxStopBytes) + " bytes, got " +
                             std::to_string(stops[i].size()));
    }
  }
  return StopMatcher(std::move(stops), options);
}

size_t StopMatcher::HoldBack() const {
  size_t longest_prefix = 0;  // only proper prefixes: complete matches were handled already
  for (const std::string& s : stops_) longest_prefix = std::max(longest_prefix, s.size() - 1);
  const std::string_view held(held_);
  for (size_t len = std::min(longest_prefix, held.size()); len > 0; --len) {
    const std::string_view tail = held.substr(held.size() - len);
    for (const std::string& s : stops_) {
      if (s.size() > len && std::string_view(s).starts_with(tail)) return len;
    }
  }
  return 0;
}

StopMatcher::Output StopMatcher::Push(std::string_view piece) {
  Output out;
  if (stopped()) return out;
  if (stops_.empty()) {  // nothing to match: pass straight through
    out.text.assign(piece);
    return out;
  }
  const size_t old_size = held_.size();
  held_.append(piece);

  // held_ had no complete match before this piece, so a new match must end inside the piece:
  // start each search far enough back for the string to end at old_size + 1 at the earliest.
  size_t best_end = std::string::npos;
  size_t best_start = 0;
  int32_t best = -1;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const std::string& s = stops_[i];
    const size_t from = old_size + 1 > s.size() ? old_size + 1 - s.size() : 0;
    const size_t start = held_.find(s, from);
    if (start == std::string::npos) continue;
    const size_t end = start + s.size();
    // Earliest completion wins; then the earliest start (the longer string); then lower index.
    if (best < 0 || end < best_end || (end == best_end && start < best_start)) {
      best = static_cast<int32_t>(i);
      best_end = end;
      best_start = start;
    }
  }
  if (best >= 0) {
    out.text = held_.substr(0, options_.include_stop ? best_end : best_start);
    out.matched = best;
    matched_ = best;
    held_.clear();  // the text after a stop string is never shown
    return out;
  }
  const size_t keep = HoldBack();
  out.text = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::Flush() {
  std::string rest = std::move(held_);
  held_.clear();
  matched_ = -1;
  return rest;
}

}  // namespace spatten::sampling
