// pretokenizer.cpp: the pre-tokenizer passes. Each pass refines a list of pieces (runs of code
// points) into smaller pieces; a pre-tokenizer type is a fixed sequence of passes. The passes
// are hand-written scanners equivalent to the regexes they stand for, including the reference
// implementation's own reading of them (e.g. which look-ahead applies at a piece boundary).

#include "engine/tokenizer/pretokenizer.h"

#include <algorithm>
#include <cstdint>

#include "engine/tokenizer/unicode.h"

namespace spatten::tokenizer {
namespace {

// The code points of the text being split, with their class flags.
struct CodepointText {
  std::vector<uint32_t> cps;
  std::vector<uint16_t> flags;
};

// Pieces as lengths in code points; they tile the text in order.
using Pieces = std::vector<size_t>;

constexpr uint32_t kNoCodepoint = 0xFFFFFFFFu;
constexpr uint16_t kWordClasses = kWhitespace | kLetter | kNumber;

bool IsNewline(uint32_t cp) { return cp == '\r' || cp == '\n'; }

uint32_t AsciiLower(uint32_t cp) { return (cp >= 'A' && cp <= 'Z') ? cp + ('a' - 'A') : cp; }

// Splits one piece [begin, end) with a scanner that, at each position, returns where the token
// starting there ends. Helpers give "nothing" (no code point, no flags) outside the piece, so
// scanners never look across a piece boundary.
class PieceScanner {
 public:
  PieceScanner(const CodepointText& text, size_t begin, size_t end)
      : text_(text), end_(end), pos_(begin) {}

  bool done() const { return pos_ >= end_; }
  size_t pos() const { return pos_; }
  uint32_t cp(size_t i) const { return i < end_ ? text_.cps[i] : kNoCodepoint; }
  uint16_t flags(size_t i) const { return i < end_ ? text_.flags[i] : 0; }
  bool in_piece(size_t i) const { return i < end_; }

  // Ends the current token at `token_end` (> pos) and records it.
  void Emit(size_t token_end, Pieces* out) {
    out->push_back(token_end - pos_);
    pos_ = token_end;
  }

 private:
  const CodepointText& text_;
  size_t end_;
  size_t pos_;
};

// Contractions 's 't 're 've 'm 'll 'd at `p`; returns the end or 0 when none matches.
size_t MatchContraction(const PieceScanner& s, size_t p, bool ignore_case) {
  if (s.cp(p) != '\'' || !s.in_piece(p + 1)) return 0;
  const auto fold = [&](uint32_t c) { return ignore_case ? AsciiLower(c) : c; };
  const uint32_t a = fold(s.cp(p + 1));
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return p + 2;
  if (!s.in_piece(p + 2)) return 0;
  const uint32_t b = fold(s.cp(p + 2));
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return p + 3;
  return 0;
}

// End of the longest run from `p` of code points having any flag in `mask`.
size_t RunWith(const PieceScanner& s, size_t p, uint16_t mask) {
  while (s.flags(p) & mask) ++p;
  return p;
}

// End of the longest run from `p` of assigned-or-not code points outside \s, \p{L} and \p{N}.
size_t RunOfOthers(const PieceScanner& s, size_t p) {
  for (;;) {
    const uint16_t f = s.flags(p);
    if (f == 0 || (f & kWordClasses)) return p;
    ++p;
  }
}

// Whitespace handling shared by both families: \s+(?!\S) then \s+. A run of two or more that is
// followed by something else in the piece gives up its last code point to the next token.
size_t WhitespaceEnd(const PieceScanner& s, size_t p) {
  const size_t run_end = RunWith(s, p, kWhitespace);
  const size_t n = run_end - p;
  if (n > 1 && s.in_piece(run_end)) return run_end - 1;
  if (n > 0) return run_end;
  return p + 1;  // nothing matched: the code point stands alone
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void SplitGpt2(const CodepointText& text, size_t begin, size_t end, Pieces* out) {
  PieceScanner s(text, begin, end);
  while (!s.done()) {
    const size_t p = s.pos();
    if (const size_t e = MatchContraction(s, p, /*ignore_case=*/false)) {
      s.Emit(e, out);
      continue;
    }
    const bool space = s.cp(p) == ' ';
    // The class is decided by the code point after an optional leading space.
    const size_t body = p + (space ? 1 : 0);
    const uint16_t f = s.flags(body);
    if (f & kLetter) {
      s.Emit(RunWith(s, body, kLetter), out);
    } else if (f & kNumber) {
      s.Emit(RunWith(s, body, kNumber), out);
    } else if (f != 0 && !(f & kWordClasses)) {
      s.Emit(RunOfOthers(s, body), out);
    } else {
      s.Emit(WhitespaceEnd(s, p), out);
    }
  }
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}| ?[^\s\p{L}\p{N}]+[\r\n]*|
// \s*[\r\n]+|\s+(?!\S)|\s+      with K = 3 (Llama-3) or 1 (Qwen2).
void SplitLlama3(const CodepointText& text, size_t begin, size_t end, size_t max_digits,
                 Pieces* out) {
  PieceScanner s(text, begin, end);
  while (!s.done()) {
    const size_t p = s.pos();
    const uint32_t c = s.cp(p);
    const uint16_t f = s.flags(p);
    if (const size_t e = MatchContraction(s, p, /*ignore_case=*/true)) {
      s.Emit(e, out);
      continue;
    }
    // One optional leading code point that is not CR, LF or a number, then letters.
    if (!IsNewline(c) && !(f & kNumber) && ((f & kLetter) || (s.flags(p + 1) & kLetter))) {
      s.Emit(RunWith(s, p + 1, kLetter), out);
      continue;
    }
    if (f & kNumber) {
      // Digits in groups of at most max_digits, left to right.
      size_t q = p;
      while ((s.flags(q) & kNumber) && q - p < max_digits) ++q;
      s.Emit(q, out);
      continue;
    }
    // Optional space, a run of "other" code points, then any CR/LF. As in the reference, the
    // class test looks past the space but the "is there a code point at all" test does not.
    const bool space = c == ' ';
    const uint16_t f2 = s.flags(p + (space ? 1 : 0));
    if (!(f2 & kWordClasses) && f != 0) {
      size_t q = RunOfOthers(s, p + (space ? 1 : 0));
      while (IsNewline(s.cp(q))) ++q;
      s.Emit(q, out);
      continue;
    }
    // \s*[\r\n]+ : whitespace up to and including the last CR/LF of the whitespace run.
    size_t last_newline_end = 0;
    for (size_t q = p; s.flags(q) & kWhitespace; ++q) {
      if (IsNewline(s.cp(q))) last_newline_end = q + 1;
    }
    if (last_newline_end != 0) {
      s.Emit(last_newline_end, out);
      continue;
    }
    s.Emit(WhitespaceEnd(s, p), out);
  }
}

// Isolates every match of a one-code-point class repeated min..max times (greedy, leftmost, as
// a regex iterator finds them); the text between matches stays one piece.
template <typename Pred>
void IsolateRuns(size_t begin, size_t end, size_t min_len, size_t max_len, Pred in_class,
                 Pieces* out) {
  size_t gap_start = begin;
  size_t p = begin;
  while (p < end) {
    if (!in_class(p)) {
      ++p;
      continue;
    }
    size_t q = p;
    while (q < end && q - p < max_len && in_class(q)) ++q;
    if (q - p < min_len) {
      ++p;
      continue;
    }
    if (p > gap_start) out->push_back(p - gap_start);
    out->push_back(q - p);
    p = q;
    gap_start = q;
  }
  if (end > gap_start) out->push_back(end - gap_start);
}

enum class Pass {
  kGpt2,
  kLlama3,
  kQwen2,
  kEachNumber,         // \p{N}
  kNumberRuns,         // \p{N}+
  kAsciiDigitTriples,  // [0-9][0-9][0-9]
  kPunctuationRuns,    // [\p{P}\$\+<=>\^~\|]+
};

Pieces ApplyPass(Pass pass, const CodepointText& text, const Pieces& pieces) {
  Pieces out;
  out.reserve(pieces.size() * 2);
  const auto is_number = [&](size_t i) { return (text.flags[i] & kNumber) != 0; };
  const auto is_ascii_digit = [&](size_t i) { return text.cps[i] >= '0' && text.cps[i] <= '9'; };
  const auto is_punct_like = [&](size_t i) {
    const uint32_t c = text.cps[i];
    return (text.flags[i] & kPunctuation) != 0 || c == '$' || c == '+' || c == '<' || c == '=' ||
           c == '>' || c == '^' || c == '~' || c == '|';
  };
  constexpr size_t kUnbounded = static_cast<size_t>(-1);
  size_t begin = 0;
  for (size_t len : pieces) {
    const size_t end = begin + len;
    switch (pass) {
      case Pass::kGpt2: SplitGpt2(text, begin, end, &out); break;
      case Pass::kLlama3: SplitLlama3(text, begin, end, 3, &out); break;
      case Pass::kQwen2: SplitLlama3(text, begin, end, 1, &out); break;
      case Pass::kEachNumber: IsolateRuns(begin, end, 1, 1, is_number, &out); break;
      case Pass::kNumberRuns: IsolateRuns(begin, end, 1, kUnbounded, is_number, &out); break;
      case Pass::kAsciiDigitTriples: IsolateRuns(begin, end, 3, 3, is_ascii_digit, &out); break;
      case Pass::kPunctuationRuns:
        IsolateRuns(begin, end, 1, kUnbounded, is_punct_like, &out);
        break;
    }
    begin = end;
  }
  return out;
}

std::vector<Pass> PassesFor(PreTokenizerType type) {
  switch (type) {
    case PreTokenizerType::kDefault:
      return {Pass::kPunctuationRuns, Pass::kGpt2, Pass::kNumberRuns, Pass::kAsciiDigitTriples};
    case PreTokenizerType::kGpt2: return {Pass::kGpt2};
    case PreTokenizerType::kDigitsThenGpt2: return {Pass::kEachNumber, Pass::kGpt2};
    case PreTokenizerType::kLlama3: return {Pass::kLlama3};
    case PreTokenizerType::kQwen2: return {Pass::kQwen2};
  }
  return {};
}

struct NamedConfig {
  std::string_view name;
  PreTokenizerConfig config;
};

constexpr PreTokenizerConfig kDefaultCfg{PreTokenizerType::kDefault, false, false};
constexpr PreTokenizerConfig kGpt2Cfg{PreTokenizerType::kGpt2, false, false};
constexpr PreTokenizerConfig kDigitsCfg{PreTokenizerType::kDigitsThenGpt2, false, false};
constexpr PreTokenizerConfig kLlama3Cfg{PreTokenizerType::kLlama3, true, true};
constexpr PreTokenizerConfig kQwen2Cfg{PreTokenizerType::kQwen2, false, false};

// GGUF pre-tokenizer names implemented here, grouped as llama.cpp groups them. Names whose
// llama.cpp handling involves more than the split pattern (separator tokens, per-token
// attributes set by model name, SentencePiece-style spaces) are deliberately left out.
constexpr NamedConfig kSupported[] = {
    {"default", kDefaultCfg},
    {"gpt-2", kGpt2Cfg}, {"phi-2", kGpt2Cfg}, {"mpt", kGpt2Cfg}, {"olmo", kGpt2Cfg},
    {"jais", kGpt2Cfg}, {"mellum", kGpt2Cfg}, {"gigachat", kGpt2Cfg}, {"a.x-4.0", kGpt2Cfg},
    {"exaone4", kGpt2Cfg}, {"trillion", kGpt2Cfg},
    {"smollm", kDigitsCfg}, {"starcoder", kDigitsCfg}, {"refact", kDigitsCfg},
    {"command-r", kDigitsCfg}, {"codeshell", kDigitsCfg}, {"exaone", kDigitsCfg},
    {"minerva-7b", kDigitsCfg}, {"mellum2", kDigitsCfg},
    {"llama3", kLlama3Cfg}, {"llama-v3", kLlama3Cfg}, {"llama-bpe", kLlama3Cfg},
    {"falcon3", kLlama3Cfg}, {"falcon-h1", kLlama3Cfg}, {"pixtral", kLlama3Cfg},
    {"midm-2.0", kLlama3Cfg}, {"lfm2", kLlama3Cfg}, {"jina-v5-nano", kLlama3Cfg},
    {"qwen2", kQwen2Cfg}, {"deepseek-r1-qwen", kQwen2Cfg}, {"kormo", kQwen2Cfg},
    {"f2llmv2", kQwen2Cfg}, {"megrez", kQwen2Cfg}, {"stablelm2", kQwen2Cfg},
    {"hunyuan", kQwen2Cfg}, {"solar-open", kQwen2Cfg},
};

// Other names llama.cpp (the version the golden data comes from) accepts.
constexpr std::string_view kKnownElsewhere[] = {
    "minicpm5", "deepseek-llm", "deepseek-coder", "deepseek-v3", "spark2_5", "youtu", "falcon",
    "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "modern-bert", "jais-2", "gemma4",
    "granite-embed-multi-311m", "sarvam-moe", "jina-v1-en", "jina-v2-code", "roberta-bpe",
    "whitespace", "qwen35", "dbrx", "smaug-bpe", "poro-chat", "chatglm-bpe", "glm4", "glm5",
    "viking", "tekken", "bloom", "gpt3-finnish", "exaone-moe", "chameleon", "gpt-4o", "llama4",
    "kanana2", "talkie", "granite-embed-multi-97m", "tiny_aya", "cohere2moe", "superbpe",
    "granite-docling", "bailingmoe", "bailingmoe2", "llada-moe", "seed-coder", "hunyuan-dense",
    "hy_v4", "joyai-llm", "kimi-k2", "ufakzeka", "grok-2", "afmoe", "laguna", "minimax-m2",
};

}  // namespace

Result<PreTokenizerConfig> ResolvePreTokenizer(std::string_view name) {
  if (name.empty()) return kDefaultCfg;
  for (const NamedConfig& entry : kSupported) {
    if (entry.name == name) return entry.config;
  }
  for (std::string_view known : kKnownElsewhere) {
    if (known == name) {
      return Unimplemented("pre-tokenizer '" + std::string(name) +
                           "' is not implemented (supported: smollm/starcoder family, gpt-2 "
                           "family, llama3/llama-bpe family, qwen2 family, default)");
    }
  }
  return InvalidArgument("unknown pre-tokenizer type '" + std::string(name) +
                         "' (tokenizer.ggml.pre); llama.cpp rejects it as well");
}

std::string_view PreTokenizerTypeName(PreTokenizerType type) {
  switch (type) {
    case PreTokenizerType::kDefault: return "default";
    case PreTokenizerType::kGpt2: return "gpt2";
    case PreTokenizerType::kDigitsThenGpt2: return "digits+gpt2";
    case PreTokenizerType::kLlama3: return "llama3";
    case PreTokenizerType::kQwen2: return "qwen2";
  }
  return "?";
}

Result<std::vector<std::string>> PreTokenize(PreTokenizerType type, std::string_view text) {
  CodepointText ct;
  ct.cps.reserve(text.size());
  size_t offset = 0;
  while (offset < text.size()) {
    const size_t at = offset;
    const uint32_t cp = DecodeUtf8Lenient(text, &offset);
    if (cp > kMaxCodepoint) {
      return InvalidArgument("text has a byte sequence at offset " + std::to_string(at) +
                             " that decodes above U+10FFFF; it cannot be tokenized");
    }
    ct.cps.push_back(cp);
  }
  ct.flags.resize(ct.cps.size());
  std::transform(ct.cps.begin(), ct.cps.end(), ct.flags.begin(), CodepointFlags);

  Pieces pieces;
  if (!ct.cps.empty()) pieces.push_back(ct.cps.size());
  for (Pass pass : PassesFor(type)) pieces = ApplyPass(pass, ct, pieces);

  std::vector<std::string> words;
  words.reserve(pieces.size());
  size_t begin = 0;
  for (size_t len : pieces) {
    std::string word;
    word.reserve(len);
    for (size_t i = begin; i < begin + len; ++i) AppendUtf8(ct.cps[i], &word);
    words.push_back(std::move(word));
    begin += len;
  }
  return words;
}

}  // namespace spatten::tokenizer
