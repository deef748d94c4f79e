// tokenizer_test.cpp: unit tests of engine/tokenizer. Most build a tiny vocabulary in memory;
// the tests at the end use the real model named by SPATTEN_MODEL and skip when it is unset.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/special_tokens.h"
#include "engine/tokenizer/streaming_decoder.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/vocab.h"

namespace spatten::tokenizer {
namespace {

using Ids = std::vector<TokenId>;

// A byte-level vocabulary: ids 0..255 are the 256 GPT-2 byte characters (id == byte value),
// followed by `extra` tokens (normal unless given a type), with the given merges.
struct TinyVocab {
  VocabSpec spec;
  TinyVocab(std::vector<std::string> merges, std::vector<std::pair<std::string, TokenType>> extra = {},
            std::string pre = "gpt-2") {
    spec.model = "gpt2";
    spec.pre = std::move(pre);
    for (int b = 0; b < 256; ++b) {
      spec.tokens.emplace_back(ByteToUtf8(static_cast<uint8_t>(b)));
      spec.token_types.push_back(static_cast<int32_t>(TokenType::kNormal));
    }
    for (auto& [text, type] : extra) {
      spec.tokens.push_back(text);
      spec.token_types.push_back(static_cast<int32_t>(type));
    }
    spec.merges = std::move(merges);
  }
  Tokenizer Build() const {
    auto t = Tokenizer::FromSpec(spec);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(t).value();
  }
};

TokenId Id(const Tokenizer& t, std::string_view text) { return t.vocab().Find(text); }

Ids Encode(const Tokenizer& t, std::string_view text, bool parse_special = false) {
  auto ids = t.Encode(text, {.add_special = true, .parse_special = parse_special});
  EXPECT_TRUE(ids.ok()) << ids.status().ToString();
  return ids.ok() ? *ids : Ids{};
}

std::vector<std::string> Split(PreTokenizerType type, std::string_view text) {
  auto words = PreTokenize(type, text);
  EXPECT_TRUE(words.ok()) << words.status().ToString();
  return words.ok() ? *words : std::vector<std::string>{};
}

// ---- GPT-2 byte <-> unicode mapping ---------------------------------------------------------

TEST(ByteMapping, PrintableBytesMapToThemselves) {
  for (int b = 0x21; b <= 0x7E; ++b) EXPECT_EQ(ByteToCodepoint(static_cast<uint8_t>(b)), static_cast<uint32_t>(b));
  for (int b = 0xA1; b <= 0xAC; ++b) EXPECT_EQ(ByteToCodepoint(static_cast<uint8_t>(b)), static_cast<uint32_t>(b));
  for (int b = 0xAE; b <= 0xFF; ++b) EXPECT_EQ(ByteToCodepoint(static_cast<uint8_t>(b)), static_cast<uint32_t>(b));
}

TEST(ByteMapping, OtherBytesMapInOrderFromU0100) {
  EXPECT_EQ(ByteToCodepoint(0x00), 0x100u);
  EXPECT_EQ(ByteToCodepoint('\n'), 0x10Au);  // "Ċ"
  EXPECT_EQ(ByteToCodepoint(' '), 0x120u);   // "Ġ"
  EXPECT_EQ(ByteToCodepoint(0x7F), 0x121u);
  EXPECT_EQ(ByteToCodepoint(0xA0), 0x142u);
  EXPECT_EQ(ByteToCodepoint(0xAD), 0x143u);
  EXPECT_EQ(ByteToUtf8(' '), "\xC4\xA0");
}

TEST(ByteMapping, IsABijection) {
  std::vector<bool> seen(0x144, false);
  for (int b = 0; b < 256; ++b) {
    const uint32_t cp = ByteToCodepoint(static_cast<uint8_t>(b));
    ASSERT_LT(cp, 0x144u);
    EXPECT_FALSE(seen[cp]) << "code point " << cp << " used twice";
    seen[cp] = true;
    EXPECT_EQ(CodepointToByte(cp), b);
  }
  EXPECT_EQ(CodepointToByte(0x20), -1);   // space itself is not an image
  EXPECT_EQ(CodepointToByte(0x144), -1);
  EXPECT_EQ(CodepointToByte(0x1F600), -1);
  EXPECT_EQ(ByteEncode("hi there\n"), "hi\xC4\xA0there\xC4\x8A");
}

// ---- Unicode classes and UTF-8 ---------------------------------------------------------------

TEST(Unicode, CodepointClasses) {
  EXPECT_STREQ(UnicodeTableVersion(), "15.1.0");
  EXPECT_EQ(CodepointFlags('a'), kLetter);
  EXPECT_EQ(CodepointFlags('7'), kNumber);
  EXPECT_EQ(CodepointFlags(' '), kSeparator | kWhitespace);
  EXPECT_EQ(CodepointFlags('\n'), kOther | kWhitespace);
  EXPECT_EQ(CodepointFlags(0x85), kOther | kWhitespace);     // NEL
  EXPECT_EQ(CodepointFlags(0xA0), kSeparator | kWhitespace); // NBSP
  EXPECT_EQ(CodepointFlags(0x3000), kSeparator | kWhitespace);
  EXPECT_EQ(CodepointFlags(0x2028), kSeparator | kWhitespace);
  EXPECT_EQ(CodepointFlags(0x200B), kOther);                 // zero width space: Cf, not \s
  EXPECT_EQ(CodepointFlags(0x1C), kOther);                   // not White_Space
  EXPECT_EQ(CodepointFlags('!'), kPunctuation);
  EXPECT_EQ(CodepointFlags('$'), kSymbol);
  EXPECT_EQ(CodepointFlags(0x0301), kMark);
  EXPECT_EQ(CodepointFlags(0x0661), kNumber);   // Arabic-Indic one
  EXPECT_EQ(CodepointFlags(0x2167), kNumber);   // Roman numeral eight (Nl)
  EXPECT_EQ(CodepointFlags(0x00BD), kNumber);   // one half (No)
  EXPECT_EQ(CodepointFlags(0x4E00), kLetter);
  EXPECT_EQ(CodepointFlags(0x1F600), kSymbol);
  EXPECT_EQ(CodepointFlags(0x31350), kLetter);  // CJK extension H (Unicode 15.0)
  EXPECT_EQ(CodepointFlags(0x2EBF0), kLetter);  // CJK extension I (Unicode 15.1)
  EXPECT_EQ(CodepointFlags(0x10FFFF), kUnassigned);
  EXPECT_EQ(CodepointFlags(0x110000), kUnassigned);
  EXPECT_EQ(CodepointFlags(0xE000), kOther);    // private use
}

TEST(Unicode, LenientDecodingMatchesReference) {
  // Each byte that cannot start a sequence becomes one U+FFFD.
  EXPECT_EQ(DecodeUtf8Lenient(std::string_view("a\xFF" "b")), (std::vector<uint32_t>{'a', 0xFFFD, 'b'}));
  EXPECT_EQ(DecodeUtf8Lenient(std::string_view("\xE2\x82" "a")), (std::vector<uint32_t>{0xFFFD, 0xFFFD, 'a'}));
  EXPECT_EQ(DecodeUtf8Lenient(std::string_view("\x80")), (std::vector<uint32_t>{0xFFFD}));
  // Overlong forms and surrogates are decoded, not rejected.
  EXPECT_EQ(DecodeUtf8Lenient(std::string_view("\xC0\x80", 2)), (std::vector<uint32_t>{0}));
  EXPECT_EQ(DecodeUtf8Lenient(std::string_view("\xED\xA0\x80")), (std::vector<uint32_t>{0xD800}));
  EXPECT_EQ(DecodeUtf8Lenient(std::string_view("\xF5\x80\x80\x80")), (std::vector<uint32_t>{0x140000}));
  EXPECT_EQ(DecodeUtf8Lenient(std::string_view("\xF8\x80")), (std::vector<uint32_t>{0xFFFD, 0xFFFD}));
  EXPECT_EQ(DecodeUtf8Lenient(std::string_view("\xF0\x9F\x98\x80")), (std::vector<uint32_t>{0x1F600}));
}

TEST(Unicode, StrictScanAndSanitize) {
  EXPECT_TRUE(IsValidUtf8("plain \xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));
  // Same results as Python's bytes.decode("utf-8", "replace").
  EXPECT_EQ(SanitizeUtf8("\xE2\x82" "a"), "\xEF\xBF\xBD" "a");
  EXPECT_EQ(SanitizeUtf8("\xF0\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeUtf8("a\xFF\xC3\xA9"), "a\xEF\xBF\xBD\xC3\xA9");
  const Utf8Scan tail = ScanUtf8("x\xF0\x9F\x98", 1);
  EXPECT_EQ(tail.kind, Utf8Scan::kIncomplete);
  EXPECT_EQ(tail.length, 3u);
}

// ---- pre-tokenizers ------------------------------------------------------------------------

TEST(PreTokenizer, Gpt2Pattern) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Split(PreTokenizerType::kGpt2, "Hello world! 123"), (V{"Hello", " world", "!", " 123"}));
  EXPECT_EQ(Split(PreTokenizerType::kGpt2, "don't they're"), (V{"don", "'t", " they", "'re"}));
  EXPECT_EQ(Split(PreTokenizerType::kGpt2, "DON'T"), (V{"DON", "'", "T"}));  // case-sensitive
  // \s+(?!\S): a run of spaces before a word leaves its last space to the word.
  EXPECT_EQ(Split(PreTokenizerType::kGpt2, "a   b"), (V{"a", "  ", " b"}));
  EXPECT_EQ(Split(PreTokenizerType::kGpt2, "a   "), (V{"a", "   "}));
  EXPECT_EQ(Split(PreTokenizerType::kGpt2, "a\n\nb"), (V{"a", "\n", "\n", "b"}));
  EXPECT_EQ(Split(PreTokenizerType::kGpt2, " ??x"), (V{" ??", "x"}));
  EXPECT_EQ(Split(PreTokenizerType::kGpt2, ""), V{});
}

TEST(PreTokenizer, SmolLmSplitsEveryDigit) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Split(PreTokenizerType::kDigitsThenGpt2, "Hello world! 123"),
            (V{"Hello", " world", "!", " ", "1", "2", "3"}));
  EXPECT_EQ(Split(PreTokenizerType::kDigitsThenGpt2, "a1b\xD9\xA1"),  // U+0661 is \p{N}
            (V{"a", "1", "b", "\xD9\xA1"}));
  // The digit split comes first: spaces before a digit end their piece, so none joins the digit.
  EXPECT_EQ(Split(PreTokenizerType::kDigitsThenGpt2, "x  42"), (V{"x", "  ", "4", "2"}));
}

TEST(PreTokenizer, Llama3AndQwen2Patterns) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Split(PreTokenizerType::kLlama3, "HE'S 1234567"), (V{"HE", "'S", " ", "123", "456", "7"}));
  EXPECT_EQ(Split(PreTokenizerType::kQwen2, "x 123"), (V{"x", " ", "1", "2", "3"}));
  EXPECT_EQ(Split(PreTokenizerType::kLlama3, "hi.\n\n  there"), (V{"hi", ".\n\n", " ", " there"}));
  EXPECT_EQ(Split(PreTokenizerType::kLlama3, "a \n b"), (V{"a", " \n", " b"}));
  EXPECT_EQ(Split(PreTokenizerType::kLlama3, "(hello)"), (V{"(hello", ")"}));
}

TEST(PreTokenizer, DefaultPattern) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Split(PreTokenizerType::kDefault, "ab, 12345 x+=y"),
            (V{"ab", ",", " ", "123", "45", " x", "+=", "y"}));
}

TEST(PreTokenizer, RefusesValuesAboveUnicodeRange) {
  auto words = PreTokenize(PreTokenizerType::kGpt2, "a\xF5\x80\x80\x80");
  ASSERT_FALSE(words.ok());
  EXPECT_EQ(words.status().code(), StatusCode::kInvalidArgument);
}

TEST(PreTokenizer, ResolvesNames) {
  EXPECT_EQ(ResolvePreTokenizer("smollm")->type, PreTokenizerType::kDigitsThenGpt2);
  EXPECT_EQ(ResolvePreTokenizer("")->type, PreTokenizerType::kDefault);
  EXPECT_EQ(ResolvePreTokenizer("default")->type, PreTokenizerType::kDefault);
  EXPECT_EQ(ResolvePreTokenizer("gpt-2")->type, PreTokenizerType::kGpt2);
  auto llama3 = ResolvePreTokenizer("llama-bpe");
  ASSERT_TRUE(llama3.ok());
  EXPECT_EQ(llama3->type, PreTokenizerType::kLlama3);
  EXPECT_TRUE(llama3->ignore_merges);
  EXPECT_TRUE(llama3->add_bos_default);
  EXPECT_EQ(ResolvePreTokenizer("deepseek-v3").status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(ResolvePreTokenizer("no-such-pre").status().code(), StatusCode::kInvalidArgument);
}

// ---- BPE merging ---------------------------------------------------------------------------

TEST(Bpe, LowestRankMergesFirstWhereverItIs) {
  TinyVocab v({"b c", "a b"}, {{"bc", TokenType::kNormal}, {"ab", TokenType::kNormal}});
  const Tokenizer t = v.Build();
  EXPECT_EQ(Encode(t, "abc"), (Ids{'a', Id(t, "bc")}));
  TinyVocab w({"a b", "b c"}, {{"bc", TokenType::kNormal}, {"ab", TokenType::kNormal}});
  const Tokenizer u = w.Build();
  EXPECT_EQ(Encode(u, "abc"), (Ids{Id(u, "ab"), 'c'}));
}

TEST(Bpe, LeftmostWinsAmongEqualRanks) {
  TinyVocab v({"a a"}, {{"aa", TokenType::kNormal}});
  const Tokenizer t = v.Build();
  const TokenId aa = Id(t, "aa");
  EXPECT_EQ(Encode(t, "aaa"), (Ids{aa, 'a'}));
  EXPECT_EQ(Encode(t, "aaaaa"), (Ids{aa, aa, 'a'}));
}

TEST(Bpe, MergesChainIntoLongerTokens) {
  TinyVocab v({"\xC4\xA0 t", "h e", "\xC4\xA0t he"},
              {{"\xC4\xA0t", TokenType::kNormal}, {"he", TokenType::kNormal}, {"\xC4\xA0the", TokenType::kNormal}});
  const Tokenizer t = v.Build();
  EXPECT_EQ(Encode(t, "a the"), (Ids{'a', Id(t, "\xC4\xA0the")}));
  EXPECT_EQ(Encode(t, "athe"), (Ids{'a', 't', Id(t, "he")}));
}

TEST(Bpe, SymbolsMissingFromVocabFallBackToByteTokens) {
  // "x y" merges but "xy" is not a token: the symbol falls back to its single-byte tokens.
  TinyVocab v({"x y"});
  const Tokenizer t = v.Build();
  EXPECT_EQ(Encode(t, "xy"), (Ids{'x', 'y'}));

  // A multi-byte character whose byte characters are absent: like llama.cpp, the fallback looks
  // up each raw byte of the symbol as a one-byte token and skips those that do not exist.
  VocabSpec spec = v.spec;
  spec.tokens[0xC3] = "<gone-1>";
  spec.tokens[0xA9] = "<gone-2>";
  auto u = Tokenizer::FromSpec(spec);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(Encode(*u, "a\xC3\xA9z"), (Ids{'a', 'z'}));
}

TEST(Bpe, InvalidUtf8IsTokenizedAsReplacementCharacters) {
  TinyVocab v({});
  const Tokenizer t = v.Build();
  const Ids replacement = Encode(t, "\xEF\xBF\xBD");  // U+FFFD itself
  ASSERT_EQ(replacement.size(), 3u);
  Ids expected{'a'};
  expected.insert(expected.end(), replacement.begin(), replacement.end());
  expected.push_back('b');
  EXPECT_EQ(Encode(t, "a\xFF" "b"), expected);
  // A truncated sequence gives one U+FFFD per byte.
  Ids two = replacement;
  two.insert(two.end(), replacement.begin(), replacement.end());
  two.push_back('a');
  EXPECT_EQ(Encode(t, "\xE2\x82" "a"), two);
  // Overlong NUL is re-encoded as a real NUL byte.
  EXPECT_EQ(Encode(t, std::string_view("\xC0\x80", 2)), (Ids{0}));
  auto bad = t.Encode("\xF7\xBF\xBF\xBF");
  EXPECT_FALSE(bad.ok());
}

TEST(Bpe, IgnoreMergesUsesWholeWordTokens) {
  // With llama3, a pre-token that is itself a token wins even when the merges cannot reach it.
  TinyVocab v({}, {{"abc", TokenType::kNormal}}, "llama-bpe");
  v.spec.special_ids["bos_token_id"] = 'B';
  const Tokenizer t = v.Build();
  EXPECT_TRUE(t.vocab().add_bos());
  EXPECT_EQ(Encode(t, "abc"), (Ids{'B', Id(t, "abc")}));
  EXPECT_EQ(*t.Encode("abc", {.add_special = false}), (Ids{Id(t, "abc")}));
}

// ---- special tokens --------------------------------------------------------------------------

TinyVocab SpecialVocab() {
  return TinyVocab({"a b"}, {{"ab", TokenType::kNormal},
                             {"<|im", TokenType::kControl},
                             {"<|im_start|>", TokenType::kControl},
                             {"<|im_end|>", TokenType::kControl},
                             {"<user>", TokenType::kUserDefined}});
}

TEST(SpecialTokens, SplitLongestFirstWhenParsingSpecials) {
  const Tokenizer t = SpecialVocab().Build();
  const TokenId start = Id(t, "<|im_start|>");
  const TokenId end = Id(t, "<|im_end|>");
  const TokenId im = Id(t, "<|im");
  EXPECT_EQ(Encode(t, "ab<|im_start|>ab<|im_end|>", true), (Ids{Id(t, "ab"), start, Id(t, "ab"), end}));
  EXPECT_EQ(Encode(t, "<|im<|im_start|>", true), (Ids{im, start}));
  EXPECT_EQ(Encode(t, "<|im_st", true), (Ids{im, '_', 's', 't'}));
  // The vocabulary orders them longest first.
  const auto& order = t.vocab().special_tokens_by_length();
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(t.vocab().text(order.front()).size(), 12u);
  EXPECT_EQ(t.vocab().text(order.back()), "<|im");
}

TEST(SpecialTokens, ControlTokensAreTextWithoutParseSpecial) {
  const Tokenizer t = SpecialVocab().Build();
  const Ids ids = Encode(t, "<|im_end|>", false);
  EXPECT_EQ(ids.size(), 10u);
  EXPECT_EQ(ids.front(), static_cast<TokenId>('<'));
  // User-defined tokens are matched either way.
  EXPECT_EQ(Encode(t, "ab<user>", false), (Ids{Id(t, "ab"), Id(t, "<user>")}));
}

TEST(SpecialTokens, FragmentsCoverTheText) {
  const Tokenizer t = SpecialVocab().Build();
  const std::string text = "x<|im_end|><|im_end|>yz<|im_start|>";
  const auto fragments = SplitOnSpecialTokens(text, t.vocab(), true);
  ASSERT_EQ(fragments.size(), 5u);
  EXPECT_FALSE(fragments[0].is_token());
  EXPECT_EQ(fragments[0].length, 1u);
  EXPECT_EQ(fragments[1].token, Id(t, "<|im_end|>"));
  EXPECT_EQ(fragments[2].token, Id(t, "<|im_end|>"));
  EXPECT_EQ(text.substr(fragments[3].offset, fragments[3].length), "yz");
  EXPECT_EQ(fragments[4].token, Id(t, "<|im_start|>"));
  EXPECT_TRUE(SplitOnSpecialTokens("", t.vocab(), true).empty());
}

TEST(SpecialTokens, LstripAndRstripSwallowAdjacentWhitespace) {
  TinyVocab v = SpecialVocab();
  const Tokenizer plain = v.Build();
  const TokenId end = Id(plain, "<|im_end|>");
  const TokenId user = Id(plain, "<user>");
  v.spec.extra_attrs = {{end, kAttrLstrip | kAttrRstrip}, {user, kAttrRstrip}};
  const Tokenizer t = v.Build();
  const std::string text = "a \t<|im_end|> \n b<user>  ";
  EXPECT_EQ(Encode(t, text, true), (Ids{'a', end, 'b', user}));
  const Ids unstripped = Encode(plain, text, true);
  EXPECT_EQ(unstripped.front(), static_cast<TokenId>('a'));
  EXPECT_GT(unstripped.size(), 4u);
  v.spec.extra_attrs = {{99999, kAttrLstrip}};
  EXPECT_EQ(Tokenizer::FromSpec(v.spec).status().code(), StatusCode::kInvalidArgument);
}

TEST(SpecialTokens, EndOfGenerationDetection) {
  const Tokenizer t = SpecialVocab().Build();
  EXPECT_TRUE(t.IsEog(Id(t, "<|im_end|>")));
  EXPECT_FALSE(t.IsEog(Id(t, "<|im_start|>")));
  EXPECT_EQ(t.vocab().special().eot, Id(t, "<|im_end|>"));
}

// ---- vocabulary validation -------------------------------------------------------------------

TEST(TokenizerVocab, RejectsMalformedSpecs) {
  VocabSpec empty;
  EXPECT_EQ(Tokenizer::FromSpec(empty).status().code(), StatusCode::kInvalidArgument);
  TinyVocab dup({});
  dup.spec.tokens.push_back("a");
  dup.spec.token_types.push_back(1);
  EXPECT_EQ(Tokenizer::FromSpec(dup.spec).status().code(), StatusCode::kInvalidArgument);
  TinyVocab short_types({});
  short_types.spec.token_types.resize(10);
  EXPECT_EQ(Tokenizer::FromSpec(short_types.spec).status().code(), StatusCode::kInvalidArgument);
  TinyVocab spm({});
  spm.spec.model = "llama";
  EXPECT_EQ(Tokenizer::FromSpec(spm.spec).status().code(), StatusCode::kUnimplemented);
  TinyVocab pre({}, {}, "made-up");
  EXPECT_EQ(Tokenizer::FromSpec(pre.spec).status().code(), StatusCode::kInvalidArgument);
}

TEST(TokenizerVocab, SpecialIdsOutOfRangeAreIgnored) {
  TinyVocab v({});
  v.spec.special_ids["bos_token_id"] = 100000;
  v.spec.special_ids["eos_token_id"] = 7;
  v.spec.add_bos = true;
  const Tokenizer t = v.Build();
  EXPECT_EQ(t.bos(), 11);  // the BPE default survives a bad value
  EXPECT_EQ(t.eos(), 7);
  EXPECT_EQ(Encode(t, "a"), (Ids{11, 'a'}));
}

// ---- decoding --------------------------------------------------------------------------------

TEST(TokenizerDecode, PiecesAndSpecialRendering) {
  const Tokenizer t = SpecialVocab().Build();
  const Ids ids = Encode(t, "ab \xC3\xA9<|im_end|>", true);
  EXPECT_EQ(*t.Decode(ids), "ab \xC3\xA9");
  EXPECT_EQ(*t.Decode(ids, {.render_special = true}), "ab \xC3\xA9<|im_end|>");
  EXPECT_EQ(*t.Piece(' '), "\x20");
  EXPECT_EQ(*t.Piece(0xC3), "\xC3");
  EXPECT_EQ(t.Piece(-1).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(t.Piece(static_cast<TokenId>(t.vocab_size())).status().code(), StatusCode::kOutOfRange);
}

TEST(TokenizerDecode, RoundTripsArbitraryBytes) {
  TinyVocab v({"a b", "ab c"}, {{"ab", TokenType::kNormal}, {"abc", TokenType::kNormal}});
  const Tokenizer t = v.Build();
  const std::string text = "abc abcabc \t\n\xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80 !?";
  EXPECT_EQ(*t.Decode(Encode(t, text)), text);
}

TEST(StreamingDecoder, HoldsBackSplitCharacters) {
  TinyVocab v({});
  const Tokenizer t = v.Build();
  StreamingDecoder d(t);
  // "é" = C3 A9 arrives as two byte tokens.
  EXPECT_EQ(*d.Push(0xC3), "");
  EXPECT_EQ(d.pending_bytes(), 1u);
  EXPECT_EQ(*d.Push(0xA9), "\xC3\xA9");
  EXPECT_EQ(d.pending_bytes(), 0u);
  // A four-byte emoji split 1 + 1 + 2, with ASCII before it.
  EXPECT_EQ(*d.Push('x'), "x");
  EXPECT_EQ(*d.Push(0xF0), "");
  EXPECT_EQ(*d.Push(0x9F), "");
  EXPECT_EQ(d.PushBytes("\x98\x80!"), "\xF0\x9F\x98\x80!");
  EXPECT_EQ(d.Flush(), "");
}

TEST(StreamingDecoder, InvalidBytesAndFlush) {
  TinyVocab v({});
  const Tokenizer t = v.Build();
  StreamingDecoder d(t);
  EXPECT_EQ(*d.Push(0xFF), "\xEF\xBF\xBD");            // never valid: replaced at once
  EXPECT_EQ(*d.Push(0xE2), "");                        // could still become a character
  EXPECT_EQ(*d.Push('a'), "\xEF\xBF\xBD" "a");         // ... but did not
  EXPECT_EQ(*d.Push(0xE2), "");
  EXPECT_EQ(d.Flush(), "\xEF\xBF\xBD");                // unfinished at the end
  EXPECT_EQ(d.pending_bytes(), 0u);
  EXPECT_EQ(d.Push(-5).status().code(), StatusCode::kOutOfRange);

  StreamingDecoder raw(t, {.render_special = false, .replace_invalid = false});
  EXPECT_EQ(*raw.Push(0xFF), "\xFF");
  EXPECT_EQ(*raw.Push(0xC3), "");
  EXPECT_EQ(raw.Flush(), "\xC3");
}

TEST(StreamingDecoder, MatchesWholeDecodeOnEverySplit) {
  TinyVocab v({});
  const Tokenizer t = v.Build();
  const std::string text = "a\xC3\xA9\xE4\xB8\x96\xF0\x9F\x98\x80z";
  const Ids ids = Encode(t, text);
  StreamingDecoder d(t);
  std::string streamed;
  for (TokenId id : ids) {
    const std::string part = *d.Push(id);
    EXPECT_TRUE(IsValidUtf8(part));
    streamed += part;
  }
  streamed += d.Flush();
  EXPECT_EQ(streamed, text);
}

// ---- chat template ---------------------------------------------------------------------------

// SmolLM2-Instruct's template, as stored in its GGUF file.
const char kSmolTemplate[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\n' }}{% endif %}";

TEST(ChatTemplate, RendersSmolLm2) {
  auto tmpl = ChatTemplate::FromSource(kSmolTemplate);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().ToString();
  EXPECT_EQ(tmpl->default_system_message(),
            "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  const std::vector<ChatMessage> user_only = {{"user", "Hello!"}};
  EXPECT_EQ(*tmpl->Apply(user_only, true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n");
  const std::vector<ChatMessage> with_system = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hey"}};
  EXPECT_EQ(*tmpl->Apply(with_system, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHey<|im_end|>\n");
  EXPECT_EQ(*tmpl->Apply({}, true), "<|im_start|>assistant\n");
  const std::vector<ChatMessage> developer = {{"developer", "Rules."}};
  EXPECT_EQ(*tmpl->Apply(developer, false), "<|im_start|>system\nRules.<|im_end|>\n");
}

TEST(ChatTemplate, RejectsUnknownRolesAndTemplates) {
  auto tmpl = ChatTemplate::FromSource(kSmolTemplate);
  ASSERT_TRUE(tmpl.ok());
  const std::vector<ChatMessage> bad = {{"user", "x"}, {"wizard", "y"}};
  auto r = tmpl->Apply(bad, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("wizard"), std::string::npos);

  EXPECT_EQ(ChatTemplate::FromSource("").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ChatTemplate::FromSource("{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}")
                .status().code(),
            StatusCode::kUnimplemented);
  // ChatML with tool-call handling is not rendered natively.
  EXPECT_EQ(ChatTemplate::FromSource("{% for message in messages %}{% if message.tool_calls %}x{% endif %}"
                                     "{{'<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n'}}"
                                     "{% endfor %}{% if add_generation_prompt %}{{'<|im_start|>assistant\\n'}}{% endif %}")
                .status().code(),
            StatusCode::kUnimplemented);
}

TEST(ChatTemplate, AcceptsEscapedAndAttributeForms) {
  // Plain ChatML written with escapes, attribute access and no default system message.
  auto tmpl = ChatTemplate::FromSource(
      "{% for message in messages %}{{ \"<|im_start|>\" ~ message.role ~ \"\\n\" ~ message.content ~ "
      "\"<|im_end|>\\n\" }}{% endfor %}{% if add_generation_prompt %}{{ \"<|im_start|>assistant\\n\" }}{% endif %}");
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().ToString();
  EXPECT_FALSE(tmpl->injects_default_system());
  const std::vector<ChatMessage> msgs = {{"user", "q"}};
  EXPECT_EQ(*tmpl->Apply(msgs, true), "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n");
}

// ---- with the real model (SPATTEN_MODEL) -----------------------------------------------------

const char* ModelPath() { return std::getenv("SPATTEN_MODEL"); }

#define REQUIRE_MODEL()                                                                      \
  if (ModelPath() == nullptr || *ModelPath() == '\0') {                                      \
    GTEST_SKIP() << "SPATTEN_MODEL is not set (path of a GGUF model); skipping model test"; \
  }

const Tokenizer& ModelTokenizer() {
  static const Tokenizer* tokenizer = [] {
    auto t = Tokenizer::Open(ModelPath());
    if (!t.ok()) {
      ADD_FAILURE() << t.status().ToString();
      return static_cast<Tokenizer*>(nullptr);
    }
    return new Tokenizer(std::move(t).value());
  }();
  if (tokenizer == nullptr) std::abort();
  return *tokenizer;
}

TEST(TokenizerModel, KnownIds) {
  REQUIRE_MODEL();
  const Tokenizer& t = ModelTokenizer();
  EXPECT_EQ(Encode(t, "Hello world! 123"), (Ids{19556, 905, 17, 216, 33, 34, 35}));
  EXPECT_EQ(Encode(t, "The capital of France is"), (Ids{504, 3575, 282, 4649, 314}));
  EXPECT_FALSE(t.vocab().add_bos());
  EXPECT_EQ(t.vocab().pre_name(), "smollm");
  const Ids chat = Encode(t, "<|im_start|>user\nHi<|im_end|>\n", true);
  ASSERT_GE(chat.size(), 3u);
  EXPECT_EQ(chat.front(), 1);
  EXPECT_TRUE(t.IsEog(2));
  EXPECT_TRUE(t.IsEog(0));
}

TEST(TokenizerModel, DecodeRoundTripAndStreaming) {
  REQUIRE_MODEL();
  const Tokenizer& t = ModelTokenizer();
  const std::string text =
      "Grüße, 世界! 😀👨‍👩‍👧 naïve café — \t code(x) {return 42;}\n\n  done.";
  const Ids ids = Encode(t, text);
  EXPECT_EQ(*t.Decode(ids), text);
  StreamingDecoder d(t);
  std::string streamed;
  for (TokenId id : ids) streamed += *d.Push(id);
  streamed += d.Flush();
  EXPECT_EQ(streamed, text);
}

TEST(TokenizerModel, LongTextIsFastAndThreadSafe) {
  REQUIRE_MODEL();
  const Tokenizer& t = ModelTokenizer();
  std::string text;
  const std::string para =
      "The quick brown fox jumps over the lazy dog; 1234567890 times! Ünïcödé 世界 \n";
  while (text.size() < 100 * 1024) text += para;
  text += std::string(5000, 'a');  // one long word without merges to every length
  const auto start = std::chrono::steady_clock::now();
  const Ids ids = Encode(t, text);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_LT(seconds, 1.0) << "tokenizing " << text.size() << " bytes took " << seconds << " s";
#else
  std::cout << "[ timing   ] " << text.size() << " bytes in " << seconds << " s (not checked in this build)\n";
#endif
  EXPECT_EQ(*t.Decode(ids), text);

  std::vector<Ids> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&t, &text, &r] { r = *t.Encode(text); });
  for (auto& th : threads) th.join();
  for (const auto& r : results) EXPECT_EQ(r, ids);
}

TEST(TokenizerModel, ChatTemplateFromFile) {
  REQUIRE_MODEL();
  const Tokenizer& t = ModelTokenizer();
  auto tmpl = ChatTemplate::FromSource(t.chat_template());
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().ToString();
  EXPECT_EQ(t.chat_template(), kSmolTemplate);
}

}  // namespace
}  // namespace spatten::tokenizer
