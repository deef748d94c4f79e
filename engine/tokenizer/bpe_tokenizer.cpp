// bpe_tokenizer.cpp: encoding (special-token split -> pre-tokenize -> byte-map -> BPE merges ->
// ids) and per-token decoding tables.

#include "engine/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <queue>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/special_tokens.h"
#include "engine/tokenizer/unicode.h"

namespace spatten::tokenizer {

struct Tokenizer::Pieces {
  std::vector<std::string> bytes;  // what each token decodes to when specials are rendered
};

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "<0xAB>" -> 0xAB. Like the reference, reads the two characters after "<0x" and keeps the
// leading hex digits among them (no digits: 0).
char ByteTokenValue(std::string_view text) {
  const std::string_view digits = text.size() > 3 ? text.substr(3, 2) : std::string_view();
  int value = 0;
  for (char c : digits) {
    const int d = HexDigit(c);
    if (d < 0) break;
    value = value * 16 + d;
  }
  return static_cast<char>(value);
}

// A normal token's text maps back to bytes through the GPT-2 table. Code points outside the
// table are spelled out the way llama.cpp spells them, so the two decoders agree byte for byte.
std::string DecodeNormalToken(std::string_view text) {
  std::string out;
  size_t offset = 0;
  while (offset < text.size()) {
    const uint32_t cp = DecodeUtf8Lenient(text, &offset);
    const int byte = CodepointToByte(cp);
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
      continue;
    }
    std::string utf8;
    if (!AppendUtf8(cp, &utf8)) AppendUtf8(kReplacementCodepoint, &utf8);
    static constexpr char kHex[] = "0123456789abcdef";
    out += "[UNK_BYTE_0x";
    for (char c : utf8) {
      out.push_back(kHex[static_cast<uint8_t>(c) >> 4]);
      out.push_back(kHex[static_cast<uint8_t>(c) & 0xF]);
    }
    out.append(text);
    out += "]";
  }
  return out;
}

std::string TokenBytes(const Vocab& vocab, TokenId id) {
  const uint32_t attr = vocab.attr(id);
  const std::string& text = vocab.text(id);
  if (attr & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return text;
  if (attr & kAttrNormal) return DecodeNormalToken(text);
  if (attr & kAttrByte) return std::string(1, ByteTokenValue(text));
  return std::string();  // unused / undefined tokens decode to nothing
}

// One symbol of a word during merging: a byte range of the byte-encoded word, linked to its
// neighbours. A symbol merged into its left neighbour keeps length 0.
struct Symbol {
  uint32_t begin;
  uint32_t length;
  int32_t prev;
  int32_t next;
};

// A possible merge of two adjacent symbols, valid while neither has changed since.
struct Candidate {
  int32_t rank;
  int32_t left;
  int32_t right;
  uint32_t left_length;
  uint32_t right_length;
};

struct CandidateAfter {
  // priority_queue pops the "largest": make that the lowest rank, then the leftmost.
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  }
};

}  // namespace

Result<Tokenizer> Tokenizer::FromSpec(VocabSpec spec) {
  auto vocab = Vocab::Build(std::move(spec));
  if (!vocab.ok()) return vocab.status();
  auto shared_vocab = std::make_shared<const Vocab>(std::move(vocab).value());
  auto pieces = std::make_shared<Pieces>();
  pieces->bytes.reserve(shared_vocab->size());
  for (size_t i = 0; i < shared_vocab->size(); ++i) {
    pieces->bytes.push_back(TokenBytes(*shared_vocab, static_cast<TokenId>(i)));
  }
  return Tokenizer(std::move(shared_vocab), std::move(pieces));
}

Result<Tokenizer> Tokenizer::FromGguf(const gguf::GgufFile& file) {
  auto spec = ReadVocabSpec(file);
  if (!spec.ok()) return spec.status();
  return FromSpec(std::move(spec).value());
}

Result<Tokenizer> Tokenizer::Open(const std::string& gguf_path) {
  auto file = gguf::GgufFile::Open(gguf_path);
  if (!file.ok()) return file.status().WithContext("loading tokenizer from '" + gguf_path + "'");
  auto tok = FromGguf(*file);
  if (!tok.ok()) return tok.status().WithContext("loading tokenizer from '" + gguf_path + "'");
  return tok;
}

Result<std::vector<TokenId>> Tokenizer::Encode(std::string_view text,
                                               const EncodeOptions& options) const {
  const Vocab& v = *vocab_;
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  if (options.add_special && v.add_bos()) {
    if (v.special().bos == kNoToken) {
      return FailedPrecondition("the model asks for a BOS token but defines none");
    }
    out.push_back(v.special().bos);
  }
  for (const TextFragment& fragment : SplitOnSpecialTokens(text, v, options.parse_special)) {
    if (fragment.is_token()) {
      out.push_back(fragment.token);
      continue;
    }
    auto words = PreTokenize(v.pre_type(), text.substr(fragment.offset, fragment.length));
    if (!words.ok()) return words.status();
    for (const std::string& word : *words) EncodeWord(word, &out);
  }
  if (options.add_special && v.add_eos()) {
    if (v.special().eos == kNoToken) {
      return FailedPrecondition("the model asks for an EOS token but defines none");
    }
    out.push_back(v.special().eos);
  }
  return out;
}

void Tokenizer::EncodeWord(std::string_view word, std::vector<TokenId>* out) const {
  const Vocab& v = *vocab_;
  const std::string encoded = ByteEncode(word);
  const std::string_view enc(encoded);
  if (v.ignore_merges()) {
    const TokenId whole = v.Find(enc);
    if (whole != kNoToken) {
      out->push_back(whole);
      return;
    }
  }

  // One symbol per UTF-8 character of the byte-encoded word.
  std::vector<Symbol> symbols;
  symbols.reserve(enc.size());
  for (size_t pos = 0; pos < enc.size();) {
    const size_t len = std::min(enc.size() - pos, Utf8LengthFromLeadByte(static_cast<uint8_t>(enc[pos])));
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(len), index - 1,
                       pos + len < enc.size() ? index + 1 : -1});
    pos += len;
  }
  const auto text_of = [&](const Symbol& s) { return enc.substr(s.begin, s.length); };

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateAfter> queue;
  const auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[static_cast<size_t>(left)];
    const Symbol& r = symbols[static_cast<size_t>(right)];
    const int32_t rank = v.MergeRank(text_of(l), text_of(r));
    if (rank >= 0) queue.push({rank, left, right, l.length, r.length});
  };
  for (size_t i = 1; i < symbols.size(); ++i) {
    consider(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  }

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<size_t>(c.left)];
    Symbol& right = symbols[static_cast<size_t>(c.right)];
    if (left.length != c.left_length || right.length != c.right_length || left.length == 0 ||
        right.length == 0) {
      continue;  // one side has merged since: stale
    }
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = c.left;
    consider(left.prev, c.left);
    consider(c.left, left.next);
  }

  for (const Symbol& s : symbols) {
    if (s.length == 0) continue;
    const std::string_view piece = text_of(s);
    const TokenId id = v.Find(piece);
    if (id != kNoToken) {
      out->push_back(id);
      continue;
    }
    // Not a token: fall back to the token of each single byte, skipping bytes without one.
    for (char b : piece) {
      const TokenId byte_id = v.Find(std::string_view(&b, 1));
      if (byte_id != kNoToken) out->push_back(byte_id);
    }
  }
}

Result<std::string_view> Tokenizer::Piece(TokenId id, const DecodeOptions& options) const {
  if (!vocab_->valid(id)) {
    return OutOfRange("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                      std::to_string(vocab_->size()) + ")");
  }
  if (!options.render_special && (vocab_->attr(id) & (kAttrControl | kAttrUnknown))) {
    return std::string_view();
  }
  return std::string_view(pieces_->bytes[static_cast<size_t>(id)]);
}

Result<std::string> Tokenizer::Decode(std::span<const TokenId> ids, const DecodeOptions& options) const {
  std::string out;
  for (TokenId id : ids) {
    auto piece = Piece(id, options);
    if (!piece.ok()) return piece.status();
    out.append(*piece);
  }
  return out;
}

}  // namespace spatten::tokenizer
