// special_tokens.cpp: the special-token splitter (see special_tokens.h).

#include "engine/tokenizer/special_tokens.h"

namespace spatten::tokenizer {
namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Cuts every occurrence of `needle` out of the raw fragment [offset, offset + length).
void SplitFragment(std::string_view text, size_t offset, size_t length, TokenId token,
                   std::string_view needle, uint32_t attr, std::vector<TextFragment>* out) {
  for (;;) {
    const size_t end = offset + length;
    const size_t match = text.substr(0, end).find(needle, offset);
    if (match == std::string_view::npos) {
      if (length > 0) out->push_back({kNoToken, offset, length});
      return;
    }
    size_t left_len = match - offset;
    if (attr & kAttrLstrip) {
      while (left_len > 0 && IsAsciiSpace(text[offset + left_len - 1])) --left_len;
    }
    if (left_len > 0) out->push_back({kNoToken, offset, left_len});
    out->push_back({token, 0, 0});

    size_t right = match + needle.size();
    if (right >= end) return;  // the token ends the fragment
    if (attr & kAttrRstrip) {
      while (right < end && IsAsciiSpace(text[right])) ++right;
    }
    offset = right;
    length = end - right;
  }
}

}  // namespace

std::vector<TextFragment> SplitOnSpecialTokens(std::string_view text, const Vocab& vocab,
                                               bool parse_special) {
  std::vector<TextFragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({kNoToken, 0, text.size()});

  std::vector<TextFragment> next;
  for (TokenId id : vocab.special_tokens_by_length()) {
    const uint32_t attr = vocab.attr(id);
    if (!parse_special && (attr & (kAttrControl | kAttrUnknown))) continue;
    const std::string_view needle = vocab.text(id);
    next.clear();
    next.reserve(fragments.size() + 2);
    for (const TextFragment& f : fragments) {
      if (f.is_token()) {
        next.push_back(f);
      } else {
        SplitFragment(text, f.offset, f.length, id, needle, attr, &next);
      }
    }
    fragments.swap(next);
  }
  return fragments;
}

}  // namespace spatten::tokenizer
