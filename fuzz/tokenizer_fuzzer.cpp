// libFuzzer target: the tokenizer (engine/tokenizer/bpe_tokenizer.h) and StreamingDecoder.
//
// Tokenizers are built once: from the real model when SPATTEN_MODEL names a GGUF file, plus
// small in-memory byte-level vocabularies (one per pre-tokenizer family) so the fuzzer runs
// without a model. Each input is: byte 0 = flags (which tokenizer, parse_special, add_special,
// render_special, replace_invalid), the rest = text to encode AND, read as little-endian int32s,
// an arbitrary id list to decode and stream. Checked properties:
// - Encode / Decode / Piece / StreamingDecoder never crash (any input; errors are Statuses);
// - every encoded id is in the vocabulary, and Decode of it succeeds;
// - valid UTF-8 round-trips exactly (Decode(Encode(text)) == text) when specials are not parsed
//   and every byte has a token;
// - StreamingDecoder with replace_invalid emits only valid UTF-8 and holds back <= 3 bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/streaming_decoder.h"
#include "engine/tokenizer/unicode.h"

namespace {

using spatten::tokenizer::TokenId;
using spatten::tokenizer::Tokenizer;
using spatten::tokenizer::TokenType;
using spatten::tokenizer::VocabSpec;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "tokenizer_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

Tokenizer TinyTokenizer(const char* pre) {
  VocabSpec spec;
  spec.model = "gpt2";
  spec.pre = pre;
  for (int b = 0; b < 256; ++b) {
    spec.tokens.emplace_back(spatten::tokenizer::ByteToUtf8(static_cast<uint8_t>(b)));
    spec.token_types.push_back(static_cast<int32_t>(TokenType::kNormal));
  }
  const std::pair<const char*, TokenType> extra[] = {
      {"he", TokenType::kNormal},          {"ll", TokenType::kNormal},
      {"hell", TokenType::kNormal},        {"hello", TokenType::kNormal},
      {"\xC4\xA0t", TokenType::kNormal},   {"\xC4\xA0th", TokenType::kNormal},
      {"\xC4\xA0the", TokenType::kNormal}, {"12", TokenType::kNormal},
      {"\xC3\xA3\xC2\x81", TokenType::kNormal},  // a byte-level piece of a CJK character
      {"<|endoftext|>", TokenType::kControl},   {"<|im_start|>", TokenType::kControl},
      {"<|im_end|>", TokenType::kControl},      {"<tool>", TokenType::kUserDefined},
      {"<unk>", TokenType::kUnknown},           {"<unused0>", TokenType::kUnused},
  };
  for (const auto& [text, type] : extra) {
    spec.tokens.emplace_back(text);
    spec.token_types.push_back(static_cast<int32_t>(type));
  }
  spec.merges = {"h e", "l l", "he ll", "hell o", "\xC4\xA0 t", "\xC4\xA0t h", "\xC4\xA0th e", "1 2",
                 "\xC3\xA3 \xC2\x81"};
  spec.special_ids = {{"bos_token_id", 256 + 9}, {"eos_token_id", 256 + 11}, {"unknown_token_id", 256 + 13}};
  spec.add_bos = true;
  spec.add_eos = false;
  auto t = Tokenizer::FromSpec(std::move(spec));
  if (!t.ok()) {
    std::fprintf(stderr, "tokenizer_fuzzer: tiny vocabulary (%s) rejected: %s\n", pre,
                 t.status().ToString().c_str());
    std::abort();
  }
  return std::move(t).value();
}

std::vector<Tokenizer> BuildTokenizers() {
  std::vector<Tokenizer> out;
  if (const char* model = std::getenv("SPATTEN_MODEL"); model != nullptr && *model != '\0') {
    auto t = Tokenizer::Open(model);
    if (!t.ok()) {
      std::fprintf(stderr, "tokenizer_fuzzer: SPATTEN_MODEL=%s: %s\n", model, t.status().ToString().c_str());
      std::abort();
    }
    std::fprintf(stderr, "tokenizer_fuzzer: using the vocabulary of %s (%zu tokens)\n", model, t->vocab_size());
    out.push_back(std::move(t).value());
  }
  for (const char* pre : {"gpt-2", "smollm", "llama3", "qwen2", "default"}) out.push_back(TinyTokenizer(pre));
  return out;
}

const std::vector<Tokenizer>& Tokenizers() {
  static const std::vector<Tokenizer> tokenizers = BuildTokenizers();
  return tokenizers;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)Tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& tokenizers = Tokenizers();
  const uint8_t flags = data[0];
  const Tokenizer& tok = tokenizers[(flags & 0x7u) % tokenizers.size()];
  const bool parse_special = (flags & 0x08) != 0;
  const bool add_special = (flags & 0x10) != 0;
  const bool render_special = (flags & 0x20) != 0;
  const bool replace_invalid = (flags & 0x40) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto vocab_size = static_cast<int64_t>(tok.vocab_size());

  // --- Encode, then decode what it produced.
  auto ids = tok.Encode(text, {.add_special = add_special, .parse_special = parse_special});
  if (ids.ok()) {
    for (TokenId id : *ids) Check(id >= 0 && id < vocab_size, "Encode returned an id outside the vocabulary");
    auto decoded = tok.Decode(*ids, {.render_special = true});
    Check(decoded.ok(), "Decode of Encode's own output failed");
    // Like llama.cpp, Encode drops a byte whose GPT-2 character is not in the vocabulary (the
    // real SmolLM2 vocabulary lacks a few control bytes, e.g. 0x04), so the round trip is only
    // promised when every byte has a token.
    bool all_bytes_in_vocab = true;
    for (char c : text)
      all_bytes_in_vocab = all_bytes_in_vocab &&
          tok.vocab().Find(spatten::tokenizer::ByteToUtf8(static_cast<uint8_t>(c))) != spatten::tokenizer::kNoToken;
    if (!parse_special && !add_special && all_bytes_in_vocab && spatten::tokenizer::IsValidUtf8(text))
      Check(*decoded == text, "valid UTF-8 did not round-trip through Encode/Decode");
  }

  // --- Decode and stream an arbitrary id list (raw int32s: negative and huge ids included).
  std::vector<TokenId> raw;
  for (size_t i = 0; i + 4 <= text.size() && raw.size() < 512; i += 4) {
    int32_t v = 0;
    std::memcpy(&v, text.data() + i, 4);
    // Mostly in-range ids (so decoding gets past the range check), some raw.
    if ((v & 0x40000000) == 0 && vocab_size > 0) v = static_cast<int32_t>((v & 0x3FFFFFFF) % vocab_size);
    raw.push_back(v);
  }
  const spatten::tokenizer::DecodeOptions dopts{.render_special = render_special};
  auto decoded = tok.Decode(raw, dopts);
  bool all_valid = true;
  for (TokenId id : raw) {
    auto piece = tok.Piece(id, dopts);
    all_valid = all_valid && piece.ok();
    Check(piece.ok() == (id >= 0 && id < vocab_size), "Piece accepted an invalid id or rejected a valid one");
  }
  Check(decoded.ok() == all_valid, "Decode and Piece disagree on validity");

  spatten::tokenizer::StreamingDecoder stream(
      tok, {.render_special = render_special, .replace_invalid = replace_invalid});
  std::string streamed;
  for (TokenId id : raw) {
    auto out = stream.Push(id);
    Check(stream.pending_bytes() <= 3, "StreamingDecoder holds back more than 3 bytes");
    if (!out.ok()) continue;
    if (replace_invalid) Check(spatten::tokenizer::IsValidUtf8(*out), "StreamingDecoder emitted invalid UTF-8");
    streamed += *out;
  }
  const std::string tail = stream.Flush();
  if (replace_invalid) Check(spatten::tokenizer::IsValidUtf8(tail), "StreamingDecoder::Flush emitted invalid UTF-8");
  streamed += tail;
  Check(stream.pending_bytes() == 0, "Flush did not reset the decoder");
  if (!replace_invalid && decoded.ok()) Check(streamed == *decoded, "streamed bytes differ from Decode");
  (void)stream.PushBytes(text);
  (void)stream.Flush();
  return 0;
}
