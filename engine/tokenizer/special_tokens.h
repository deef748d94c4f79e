// special_tokens.h: splitting raw text around special tokens before BPE, the way llama.cpp does
// it: each special token in turn (longest text first) cuts every occurrence out of the text
// fragments that are still raw. Control and unknown tokens are only matched when the caller asks
// for special-token parsing; user-defined tokens are always matched.
//
// Contract: pure function of its arguments; safe to call from many threads at once.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "engine/tokenizer/vocab.h"

namespace spatten::tokenizer {

struct TextFragment {
  TokenId token = kNoToken;  // a matched special token, or kNoToken for raw text
  size_t offset = 0;         // raw text: byte range in the input
  size_t length = 0;
  bool is_token() const { return token != kNoToken; }
};

// Fragments in text order. Raw fragments are never empty. A token with kAttrLstrip / kAttrRstrip
// also swallows the ASCII whitespace (space, \t, \n, \v, \f, \r) adjacent to it on that side.
std::vector<TextFragment> SplitOnSpecialTokens(std::string_view text, const Vocab& vocab,
                                               bool parse_special);

}  // namespace spatten::tokenizer
