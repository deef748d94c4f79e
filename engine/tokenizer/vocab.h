// vocab.h: the vocabulary of a byte-level BPE tokenizer: token texts and attributes, merge ranks,
// special-token ids and flags, built from a GGUF file's tokenizer.* metadata (or from the same
// data assembled in memory, for tests). Applies the same attribute corrections llama.cpp applies
// at load time (end-of-generation detection, control-looking tokens), so that special-token
// matching and decoding agree with it.
//
// Contract: a Vocab is immutable once Build() returns; all const methods are safe to call from
// many threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/tokenizer/pretokenizer.h"

namespace spatten::gguf {
class GgufFile;
}

namespace spatten::tokenizer {

using TokenId = int32_t;
constexpr TokenId kNoToken = -1;

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Token attribute bits (llama.cpp's llama_token_attr values).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrNormalized = 1u << 6,
  kAttrLstrip = 1u << 7,   // special-token match swallows whitespace on its left
  kAttrRstrip = 1u << 8,   // ... and on its right
  kAttrSingleWord = 1u << 9,
};

// The raw tokenizer data, as stored under the GGUF tokenizer.* keys.
struct VocabSpec {
  std::string model = "gpt2";          // tokenizer.ggml.model; only "gpt2" is supported
  std::string pre;                     // tokenizer.ggml.pre; empty when absent
  std::vector<std::string> tokens;     // tokenizer.ggml.tokens; index = id
  std::vector<int32_t> token_types;    // tokenizer.ggml.token_type; empty = all normal
  std::vector<std::string> merges;     // tokenizer.ggml.merges, "LEFT RIGHT"; index = rank
  // Special token ids by key name without the "tokenizer.ggml." prefix, e.g. "bos_token_id",
  // "eos_token_id", "eot_token_id", "unknown_token_id", "padding_token_id", "fim_pre_token_id".
  std::map<std::string, int64_t> special_ids;
  std::optional<bool> add_bos;         // tokenizer.ggml.add_bos_token
  std::optional<bool> add_eos;         // tokenizer.ggml.add_eos_token
  std::string chat_template;           // tokenizer.chat_template; empty when absent
  // Attribute bits OR-ed into tokens after loading, e.g. kAttrLstrip / kAttrRstrip. GGUF files
  // carry none (llama.cpp sets them for a few models by name); for tests and such fixes.
  std::vector<std::pair<TokenId, uint32_t>> extra_attrs;
};

// Reads the tokenizer.* keys of a GGUF file. Errors name the offending key.
Result<VocabSpec> ReadVocabSpec(const gguf::GgufFile& file);

// Ids of the special tokens; kNoToken when the model has none.
struct SpecialTokenIds {
  TokenId bos = kNoToken, eos = kNoToken, eot = kNoToken, eom = kNoToken, unk = kNoToken;
  TokenId sep = kNoToken, pad = kNoToken, mask = kNoToken;
  TokenId fim_pre = kNoToken, fim_suf = kNoToken, fim_mid = kNoToken;
  TokenId fim_pad = kNoToken, fim_rep = kNoToken, fim_sep = kNoToken;
};

class Vocab {
 public:
  // Validates the spec and builds lookup structures. InvalidArgument on malformed data (empty
  // vocabulary, short token_type array, duplicate token texts), Unimplemented for tokenizer
  // models or pre-tokenizers this project does not support.
  static Result<Vocab> Build(VocabSpec spec);

  size_t size() const { return texts_.size(); }
  bool valid(TokenId id) const { return id >= 0 && static_cast<size_t>(id) < texts_.size(); }
  // Precondition for the accessors taking an id: valid(id).
  const std::string& text(TokenId id) const { return texts_[static_cast<size_t>(id)]; }
  uint32_t attr(TokenId id) const { return attrs_[static_cast<size_t>(id)]; }
  // The token whose text is exactly `text`, or kNoToken.
  TokenId Find(std::string_view text) const;
  // Merge rank of the pair (lower merges first), or -1 when the pair does not merge.
  int32_t MergeRank(std::string_view left, std::string_view right) const;

  const SpecialTokenIds& special() const { return special_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  bool ignore_merges() const { return pre_config_.ignore_merges; }
  PreTokenizerType pre_type() const { return pre_config_.type; }
  const std::string& pre_name() const { return pre_name_; }
  const std::string& chat_template() const { return chat_template_; }
  // End-of-generation tokens (EOS, EOT, EOM, <|im_end|>, <|endoftext|>, ...), ascending.
  const std::vector<TokenId>& eog_ids() const { return eog_ids_; }
  bool IsEog(TokenId id) const;
  // Tokens matched in raw text before BPE (control, user-defined and unknown ones), longest
  // text first; the order in which special-token splitting tries them.
  const std::vector<TokenId>& special_tokens_by_length() const { return specials_by_length_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

  static void AppendMergeKey(std::string_view left, std::string_view right, std::string* key);
  void ApplyAttributeFixups();

  std::vector<std::string> texts_;
  std::vector<uint32_t> attrs_;
  StringMap ids_by_text_;
  StringMap merge_ranks_;  // key: AppendMergeKey(left, right)
  SpecialTokenIds special_;
  bool add_bos_ = false;
  bool add_eos_ = false;
  PreTokenizerConfig pre_config_;
  std::string pre_name_;
  std::string chat_template_;
  std::vector<TokenId> eog_ids_;
  std::vector<TokenId> specials_by_length_;
};

}  // namespace spatten::tokenizer
