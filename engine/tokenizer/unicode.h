// unicode.h: the Unicode and UTF-8 building blocks of the tokenizer: code point classes (for the
// pre-tokenizer regexes), the reference tokenizer's lenient UTF-8 decoding, strict UTF-8
// validation (for text handed to clients), and GPT-2's reversible byte <-> code point mapping.
//
// Contract: every function here is pure (no hidden mutable state once the lazily built lookup
// tables exist; their construction is thread-safe) and may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spatten::tokenizer {

constexpr uint32_t kMaxCodepoint = 0x10FFFF;
constexpr uint32_t kReplacementCodepoint = 0xFFFD;

// Class of a code point. Exactly one of the first eight bits is set for every code point;
// kWhitespace may be set in addition (the Unicode White_Space property, i.e. regex \s).
enum CodepointFlag : uint16_t {
  kUnassigned = 0x0001,   // Cn (and anything above U+10FFFF)
  kNumber = 0x0002,       // \p{N}
  kLetter = 0x0004,       // \p{L}
  kSeparator = 0x0008,    // \p{Z}
  kMark = 0x0010,         // \p{M}
  kPunctuation = 0x0020,  // \p{P}
  kSymbol = 0x0040,       // \p{S}
  kOther = 0x0080,        // \p{C} except Cn
  kWhitespace = 0x0100,   // \s
};

// Flags of `cp` (Unicode version: unicode_tables.cpp). Values above U+10FFFF give kUnassigned.
uint16_t CodepointFlags(uint32_t cp);
// The Unicode version the class table was generated from, e.g. "15.1.0".
const char* UnicodeTableVersion();

// ---- UTF-8 as the reference tokenizer (llama.cpp) reads it ---------------------------------

// Sequence length announced by a lead byte, judged by its top four bits only: 1 for 0x00-0xBF
// (so a stray continuation byte counts as one), 2 for 0xC0-0xDF, 3 for 0xE0-0xEF, 4 for 0xF0-0xFF.
size_t Utf8LengthFromLeadByte(uint8_t lead);

// Decodes one code point at *offset (< s.size()) and advances *offset. Lenient the way the
// reference is: the lead byte's bit pattern and the 10xxxxxx shape of the continuation bytes are
// checked, but overlong forms, surrogates and values up to 0x1FFFFF are accepted. A byte that
// cannot start such a sequence (continuation byte, 0xF8-0xFF, or a sequence cut short) yields
// U+FFFD and advances by exactly one byte.
uint32_t DecodeUtf8Lenient(std::string_view s, size_t* offset);
std::vector<uint32_t> DecodeUtf8Lenient(std::string_view s);

// Appends the UTF-8 form of `cp` (surrogate values are encoded like any other). Returns false,
// appending nothing, when cp > U+10FFFF.
bool AppendUtf8(uint32_t cp, std::string* out);

// ---- Strict UTF-8 (RFC 3629 / Unicode table 3-7) -------------------------------------------

struct Utf8Scan {
  enum Kind { kValid, kInvalid, kIncomplete };
  Kind kind;
  // kValid: the sequence length (1-4). kInvalid: the length of the maximal ill-formed subpart
  // (>= 1), to be replaced by one U+FFFD. kIncomplete: the bytes left (a valid but unfinished
  // sequence that runs into the end of the input).
  size_t length;
};
// Classifies the sequence starting at s[offset] (offset < s.size()).
Utf8Scan ScanUtf8(std::string_view s, size_t offset);
bool IsValidUtf8(std::string_view s);
// Replaces every ill-formed subpart (including an unfinished sequence at the end) with U+FFFD,
// as Python's bytes.decode("utf-8", "replace") and the WHATWG decoder do.
std::string SanitizeUtf8(std::string_view s);

// ---- GPT-2 byte-level mapping ----------------------------------------------------------------
// Bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF map to the code point of the same value; the other
// 68 bytes map, in increasing order, to U+0100, U+0101, ... U+0143.

uint32_t ByteToCodepoint(uint8_t byte);
// UTF-8 of ByteToCodepoint(byte); the view refers to static storage.
std::string_view ByteToUtf8(uint8_t byte);
// The byte whose image is `cp`, or -1 when `cp` is not the image of any byte.
int CodepointToByte(uint32_t cp);
// Maps every byte of `bytes` to the UTF-8 of its image and concatenates them.
std::string ByteEncode(std::string_view bytes);

}  // namespace spatten::tokenizer
