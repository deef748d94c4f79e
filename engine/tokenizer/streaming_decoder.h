// streaming_decoder.h: incremental detokenization for streamed generation. Tokens arrive one at a
// time and may end in the middle of a multi-byte UTF-8 character (byte-level BPE splits
// characters freely); the decoder emits only complete characters and holds the unfinished tail
// back until the tokens that complete it arrive.
//
// Contract: one StreamingDecoder per stream; it is not safe to use one object from several
// threads at once (different decoders over the same Tokenizer are fine). It keeps its own
// reference to the tokenizer's shared vocabulary, so it may outlive the Tokenizer it came from.
#pragma once

#include <string>

#include "common/status.h"
#include "engine/tokenizer/bpe_tokenizer.h"

namespace spatten::tokenizer {

class StreamingDecoder {
 public:
  struct Options {
    bool render_special = false;  // as DecodeOptions::render_special
    // Replace ill-formed bytes with U+FFFD so that every emitted string is valid UTF-8. When
    // false, ill-formed bytes are passed through unchanged (only unfinished tails are held).
    bool replace_invalid = true;
  };

  explicit StreamingDecoder(Tokenizer tokenizer) : StreamingDecoder(std::move(tokenizer), Options{}) {}
  StreamingDecoder(Tokenizer tokenizer, Options options)
      : tokenizer_(std::move(tokenizer)), options_(options) {}

  // Adds one token; returns the text completed by it (possibly empty). OutOfRange for an id
  // outside the vocabulary (the decoder's state is then unchanged).
  Result<std::string> Push(TokenId id);
  // Adds raw bytes (e.g. an already decoded piece); returns the text completed by them.
  std::string PushBytes(std::string_view bytes);
  // Ends the stream: returns the held-back tail (as one U+FFFD when replace_invalid, since an
  // unfinished character is ill-formed) and resets the decoder for a new stream.
  std::string Flush();
  void Reset() { pending_.clear(); }
  // Bytes currently held back (0-3).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  Tokenizer tokenizer_;
  Options options_;
  std::string pending_;
};

}  // namespace spatten::tokenizer
