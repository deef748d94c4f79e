// unicode_tables.h: declarations of the generated code point class table (unicode_tables.cpp,
// written by tools/gen_unicode_tables.py). Internal to the tokenizer: use unicode.h instead.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spatten::tokenizer::unicode_tables {

// One run of code points sharing the same flags: [first, next entry's first).
struct CodepointRange {
  uint32_t first;
  uint16_t flags;  // the CodepointFlag bits of unicode.h
};

extern const char kUnicodeVersion[];
// Sorted by `first`; the first entry starts at U+0000, the last range ends at U+10FFFF.
extern const CodepointRange kCodepointRanges[];
extern const size_t kCodepointRangeCount;

}  // namespace spatten::tokenizer::unicode_tables
