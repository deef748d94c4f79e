// pretokenizer.h: splits text into the "words" that byte-level BPE then encodes one by one,
// reproducing the regex-based pre-tokenizers of llama.cpp for the GGUF `tokenizer.ggml.pre`
// names this project supports (GPT-2 style, SmolLM / StarCoder style, Llama-3 and Qwen2 style,
// and llama.cpp's "default").
//
// Contract: stateless; safe to call from many threads at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace spatten::tokenizer {

enum class PreTokenizerType {
  // llama.cpp's fallback: runs of punctuation, then the GPT-2 pattern, then digit runs, then
  // groups of three ASCII digits.
  kDefault,
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2,
  // Every \p{N} code point on its own, then the GPT-2 pattern (SmolLM, StarCoder, ...).
  kDigitsThenGpt2,
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
  // \s*[\r\n]+|\s+(?!\S)|\s+
  kLlama3,
  // As kLlama3 but with single digits (\p{N} instead of \p{N}{1,3}).
  kQwen2,
};

// How a `tokenizer.ggml.pre` name configures a BPE vocabulary, as llama.cpp maps it.
struct PreTokenizerConfig {
  PreTokenizerType type = PreTokenizerType::kDefault;
  // A whole pre-token that is itself in the vocabulary is emitted without running merges.
  bool ignore_merges = false;
  // The add-BOS default when the file has no tokenizer.ggml.add_bos_token.
  bool add_bos_default = false;
};

// Resolves a GGUF pre-tokenizer name; the empty string (key absent) gives kDefault, as in
// llama.cpp. Names llama.cpp knows but this project does not implement give Unimplemented;
// names llama.cpp does not know give InvalidArgument (llama.cpp refuses those models too).
Result<PreTokenizerConfig> ResolvePreTokenizer(std::string_view name);
std::string_view PreTokenizerTypeName(PreTokenizerType type);

// Splits `text` into pre-tokens. The text is decoded the lenient way llama.cpp does (each byte
// that does not start a well-formed sequence becomes U+FFFD; overlong and surrogate forms are
// decoded as-is) and every pre-token is returned as the UTF-8 re-encoding of its code points.
// InvalidArgument when a sequence decodes to a value above U+10FFFF (llama.cpp aborts there).
Result<std::vector<std::string>> PreTokenize(PreTokenizerType type, std::string_view text);

}  // namespace spatten::tokenizer
