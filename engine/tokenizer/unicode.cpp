// unicode.cpp: code point class lookup over the generated range table, the lenient UTF-8
// decoder the reference tokenizer uses, strict UTF-8 validation and the GPT-2 byte mapping.

#include "engine/tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <memory>

#include "engine/tokenizer/unicode_tables.h"

namespace spatten::tokenizer {
namespace {

namespace ut = unicode_tables;

constexpr uint32_t kBmpSize = 0x10000;

uint16_t LookupInRanges(uint32_t cp) {
  const ut::CodepointRange* begin = ut::kCodepointRanges;
  const ut::CodepointRange* end = ut::kCodepointRanges + ut::kCodepointRangeCount;
  // First range starting after cp; the one before it contains cp.
  const ut::CodepointRange* it = std::upper_bound(
      begin, end, cp, [](uint32_t value, const ut::CodepointRange& r) { return value < r.first; });
  if (it == begin) return kUnassigned;  // unreachable: the table starts at U+0000
  return (it - 1)->flags;
}

// Direct lookup for the Basic Multilingual Plane, where nearly all text lives.
const std::array<uint16_t, kBmpSize>& BmpFlags() {
  static const std::unique_ptr<std::array<uint16_t, kBmpSize>> table = [] {
    auto t = std::make_unique<std::array<uint16_t, kBmpSize>>();
    for (size_t i = 0; i < ut::kCodepointRangeCount; ++i) {
      const uint32_t first = ut::kCodepointRanges[i].first;
      if (first >= kBmpSize) break;
      const uint32_t next = i + 1 < ut::kCodepointRangeCount ? ut::kCodepointRanges[i + 1].first
                                                             : kMaxCodepoint + 1;
      std::fill(t->begin() + first, t->begin() + std::min(next, kBmpSize),
                ut::kCodepointRanges[i].flags);
    }
    return t;
  }();
  return *table;
}

struct ByteMap {
  std::array<uint32_t, 256> codepoint{};
  std::array<std::string, 256> utf8;
  std::array<int16_t, 0x144> byte_of{};  // indexed by code point; -1 when not an image
};

const ByteMap& GetByteMap() {
  static const ByteMap map = [] {
    ByteMap m;
    m.byte_of.fill(-1);
    auto printable = [](int b) {
      return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    uint32_t next_extra = 0x100;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cp = printable(b) ? static_cast<uint32_t>(b) : next_extra++;
      m.codepoint[b] = cp;
      AppendUtf8(cp, &m.utf8[b]);
      m.byte_of[cp] = static_cast<int16_t>(b);
    }
    return m;
  }();
  return map;
}

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

uint16_t CodepointFlags(uint32_t cp) {
  if (cp < kBmpSize) return BmpFlags()[cp];
  if (cp > kMaxCodepoint) return kUnassigned;
  return LookupInRanges(cp);
}

const char* UnicodeTableVersion() { return ut::kUnicodeVersion; }

size_t Utf8LengthFromLeadByte(uint8_t lead) {
  static constexpr uint8_t kByHighNibble[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kByHighNibble[lead >> 4];
}

uint32_t DecodeUtf8Lenient(std::string_view s, size_t* offset) {
  const size_t pos = *offset;
  const size_t left = s.size() - pos;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[pos + i]); };
  const uint8_t lead = byte(0);
  size_t need = 0;
  uint32_t cp = 0;
  if (lead < 0x80) {
    *offset = pos + 1;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    need = 2;
    cp = lead & 0x1Fu;
  } else if ((lead & 0xF0) == 0xE0) {
    need = 3;
    cp = lead & 0x0Fu;
  } else if ((lead & 0xF8) == 0xF0) {
    need = 4;
    cp = lead & 0x07u;
  }
  bool ok = need != 0 && left >= need;
  for (size_t i = 1; ok && i < need; ++i) {
    if (!IsContinuation(byte(i))) {
      ok = false;
    } else {
      cp = (cp << 6) | (byte(i) & 0x3Fu);
    }
  }
  if (!ok) {
    *offset = pos + 1;
    return kReplacementCodepoint;
  }
  *offset = pos + need;
  return cp;
}

std::vector<uint32_t> DecodeUtf8Lenient(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t offset = 0;
  while (offset < s.size()) out.push_back(DecodeUtf8Lenient(s, &offset));
  return out;
}

bool AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= kMaxCodepoint) {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    return false;
  }
  return true;
}

Utf8Scan ScanUtf8(std::string_view s, size_t offset) {
  const auto at = [&](size_t i) { return static_cast<uint8_t>(s[offset + i]); };
  const uint8_t lead = at(0);
  if (lead < 0x80) return {Utf8Scan::kValid, 1};
  size_t need = 0;
  // Allowed range of the second byte; later bytes are always 0x80-0xBF.
  uint8_t lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) lo = 0xA0;  // no overlongs
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) lo = 0x90;  // no overlongs
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {Utf8Scan::kInvalid, 1};  // 0x80-0xC1, 0xF5-0xFF
  }
  size_t i = 1;
  for (; i < need; ++i) {
    if (offset + i >= s.size()) return {Utf8Scan::kIncomplete, i};
    const uint8_t b = at(i);
    const bool fits = i == 1 ? (b >= lo && b <= hi) : IsContinuation(b);
    if (!fits) return {Utf8Scan::kInvalid, i};
  }
  return {Utf8Scan::kValid, need};
}

bool IsValidUtf8(std::string_view s) {
  size_t offset = 0;
  while (offset < s.size()) {
    const Utf8Scan scan = ScanUtf8(s, offset);
    if (scan.kind != Utf8Scan::kValid) return false;
    offset += scan.length;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t offset = 0;
  while (offset < s.size()) {
    const Utf8Scan scan = ScanUtf8(s, offset);
    if (scan.kind == Utf8Scan::kValid) {
      out.append(s.substr(offset, scan.length));
    } else {
      AppendUtf8(kReplacementCodepoint, &out);
    }
    offset += scan.length;
  }
  return out;
}

uint32_t ByteToCodepoint(uint8_t byte) { return GetByteMap().codepoint[byte]; }

std::string_view ByteToUtf8(uint8_t byte) { return GetByteMap().utf8[byte]; }

int CodepointToByte(uint32_t cp) {
  const ByteMap& m = GetByteMap();
  return cp < m.byte_of.size() ? m.byte_of[cp] : -1;
}

std::string ByteEncode(std::string_view bytes) {
  const ByteMap& m = GetByteMap();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out.append(m.utf8[static_cast<uint8_t>(c)]);
  return out;
}

}  // namespace spatten::tokenizer
