// streaming_decoder.cpp: the hold-back logic of StreamingDecoder.

#include "engine/tokenizer/streaming_decoder.h"

#include "engine/tokenizer/unicode.h"

namespace spatten::tokenizer {

Result<std::string> StreamingDecoder::Push(TokenId id) {
  auto piece = tokenizer_.Piece(id, DecodeOptions{options_.render_special});
  if (!piece.ok()) return piece.status();
  return PushBytes(*piece);
}

std::string StreamingDecoder::PushBytes(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  size_t offset = 0;
  while (offset < pending_.size()) {
    const Utf8Scan scan = ScanUtf8(pending_, offset);
    if (scan.kind == Utf8Scan::kIncomplete) break;  // wait for the rest of the character
    if (scan.kind == Utf8Scan::kValid || !options_.replace_invalid) {
      out.append(pending_, offset, scan.length);
    } else {
      AppendUtf8(kReplacementCodepoint, &out);
    }
    offset += scan.length;
  }
  pending_.erase(0, offset);
  return out;
}

std::string StreamingDecoder::Flush() {
  std::string out;
  if (!pending_.empty()) {
    if (options_.replace_invalid) {
      AppendUtf8(kReplacementCodepoint, &out);
    } else {
      out = pending_;
    }
  }
  pending_.clear();
  return out;
}

}  // namespace spatten::tokenizer
