// bpe_tokenizer.h: the engine's tokenizer. Byte-level BPE over a GGUF vocabulary that reproduces
// llama.cpp's tokenization id for id: special-token splitting, regex pre-tokenization, GPT-2
// byte mapping, then merges applied lowest rank first (leftmost first among equal ranks). Also
// token -> bytes decoding.
//
// Contract:
// - A Tokenizer is immutable after construction. Every method is const and safe to call from
//   any number of threads at once; copies share the (read-only) vocabulary.
// - Errors are returned as Status values; nothing throws.
// - Encode never fails on any byte string except when a byte sequence decodes (in the reference
//   tokenizer's lenient reading) to a value above U+10FFFF; bytes that are not valid UTF-8 are
//   otherwise tokenized as U+FFFD, one per offending byte, exactly as llama.cpp does.
// - Decoding returns raw bytes, which need not be valid UTF-8 when tokens split a character;
//   use StreamingDecoder (streaming_decoder.h) or SanitizeUtf8 (unicode.h) for display text.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/tokenizer/vocab.h"

namespace spatten::gguf {
class GgufFile;
}

namespace spatten::tokenizer {

struct EncodeOptions {
  // Add BOS / EOS as the model asks (tokenizer.ggml.add_bos_token / add_eos_token), like
  // llama.cpp's add_special. SmolLM2 asks for neither.
  bool add_special = true;
  // Match control tokens (e.g. "<|im_start|>") in the text. When false they are tokenized as
  // plain text; user-defined tokens are matched either way.
  bool parse_special = false;
};

struct DecodeOptions {
  // Render control and unknown tokens as their text; when false they decode to nothing.
  bool render_special = false;
};

class Tokenizer {
 public:
  static Result<Tokenizer> FromSpec(VocabSpec spec);
  static Result<Tokenizer> FromGguf(const gguf::GgufFile& file);
  // Opens the GGUF file, reads its tokenizer and closes it again.
  static Result<Tokenizer> Open(const std::string& gguf_path);

  Result<std::vector<TokenId>> Encode(std::string_view text, const EncodeOptions& options = {}) const;

  // The bytes one token decodes to (a view into the tokenizer's storage). OutOfRange for an id
  // outside the vocabulary.
  Result<std::string_view> Piece(TokenId id, const DecodeOptions& options = {}) const;
  // Concatenated pieces.
  Result<std::string> Decode(std::span<const TokenId> ids, const DecodeOptions& options = {}) const;

  const Vocab& vocab() const { return *vocab_; }
  size_t vocab_size() const { return vocab_->size(); }
  TokenId bos() const { return vocab_->special().bos; }
  TokenId eos() const { return vocab_->special().eos; }
  bool IsEog(TokenId id) const { return vocab_->IsEog(id); }
  // tokenizer.chat_template from the file; empty when it has none.
  const std::string& chat_template() const { return vocab_->chat_template(); }

 private:
  struct Pieces;
  Tokenizer(std::shared_ptr<const Vocab> vocab, std::shared_ptr<const Pieces> pieces)
      : vocab_(std::move(vocab)), pieces_(std::move(pieces)) {}

  void EncodeWord(std::string_view word, std::vector<TokenId>* out) const;

  std::shared_ptr<const Vocab> vocab_;
  std::shared_ptr<const Pieces> pieces_;  // decoded bytes of every token
};

}  // namespace spatten::tokenizer
