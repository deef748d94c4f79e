// vocab.cpp: reading tokenizer metadata from GGUF, validating it, and deriving the lookup tables
// and token attributes the BPE tokenizer needs.

#include "engine/tokenizer/vocab.h"

#include <algorithm>
#include <climits>
#include <initializer_list>
#include <utility>

#include "engine/gguf/gguf.h"

namespace spatten::tokenizer {
namespace {

constexpr std::string_view kKeyPrefix = "tokenizer.ggml.";

// Special-id keys in the order their values are applied; later keys may overwrite earlier ones
// (the deprecated prefix/suffix/middle keys overwrite the fim_* ones, as in llama.cpp).
enum class SpecialSlot { kBos, kEos, kEot, kEom, kUnk, kSep, kPad, kMask, kFimPre, kFimSuf,
                         kFimMid, kFimPad, kFimRep, kFimSep };
constexpr std::pair<std::string_view, SpecialSlot> kSpecialKeys[] = {
    {"bos_token_id", SpecialSlot::kBos},         {"eos_token_id", SpecialSlot::kEos},
    {"eot_token_id", SpecialSlot::kEot},         {"eom_token_id", SpecialSlot::kEom},
    {"unknown_token_id", SpecialSlot::kUnk},     {"seperator_token_id", SpecialSlot::kSep},
    {"padding_token_id", SpecialSlot::kPad},     {"mask_token_id", SpecialSlot::kMask},
    {"fim_pre_token_id", SpecialSlot::kFimPre},  {"fim_suf_token_id", SpecialSlot::kFimSuf},
    {"fim_mid_token_id", SpecialSlot::kFimMid},  {"fim_pad_token_id", SpecialSlot::kFimPad},
    {"fim_rep_token_id", SpecialSlot::kFimRep},  {"fim_sep_token_id", SpecialSlot::kFimSep},
    {"prefix_token_id", SpecialSlot::kFimPre},   {"suffix_token_id", SpecialSlot::kFimSuf},
    {"middle_token_id", SpecialSlot::kFimMid},
};

TokenId& SlotRef(SpecialTokenIds& ids, SpecialSlot slot) {
  switch (slot) {
    case SpecialSlot::kBos: return ids.bos;
    case SpecialSlot::kEos: return ids.eos;
    case SpecialSlot::kEot: return ids.eot;
    case SpecialSlot::kEom: return ids.eom;
    case SpecialSlot::kUnk: return ids.unk;
    case SpecialSlot::kSep: return ids.sep;
    case SpecialSlot::kPad: return ids.pad;
    case SpecialSlot::kMask: return ids.mask;
    case SpecialSlot::kFimPre: return ids.fim_pre;
    case SpecialSlot::kFimSuf: return ids.fim_suf;
    case SpecialSlot::kFimMid: return ids.fim_mid;
    case SpecialSlot::kFimPad: return ids.fim_pad;
    case SpecialSlot::kFimRep: return ids.fim_rep;
    case SpecialSlot::kFimSep: return ids.fim_sep;
  }
  return ids.bos;
}

uint32_t AttrFromType(int64_t type) {
  switch (static_cast<TokenType>(type)) {
    case TokenType::kNormal: return kAttrNormal;
    case TokenType::kUnknown: return kAttrUnknown;
    case TokenType::kControl: return kAttrControl;
    case TokenType::kUserDefined: return kAttrUserDefined;
    case TokenType::kUnused: return kAttrUnused;
    case TokenType::kByte: return kAttrByte;
    case TokenType::kUndefined: break;
  }
  return kAttrUndefined;
}

// Texts that mark a token as end-of-turn etc. when the file names no id for that role; such a
// token is also forced to be a control token. Lists as in llama.cpp's loader.
using TextList = std::initializer_list<std::string_view>;
const TextList kEotTexts = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                            "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
                            "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "<end_of_utterance>"};
const TextList kEomTexts = {"<|eom_id|>"};
const TextList kFimPreTexts = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
                               "<\uFF5Cfim\u2581begin\uFF5C>", "<PRE>", "\u2581<PRE>",
                               "<|code_prefix|>", "<|prefix|>"};
const TextList kFimSufTexts = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
                               "<\uFF5Cfim\u2581hole\uFF5C>", "<SUF>", "\u2581<SUF>",
                               "<|code_suffix|>", "<|suffix|>"};
const TextList kFimMidTexts = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
                               "<\uFF5Cfim\u2581end\uFF5C>", "<MID>", "\u2581<MID>",
                               "<|code_middle|>", "<|middle|>"};
const TextList kFimPadTexts = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
const TextList kFimRepTexts = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                               "<reponame>"};
const TextList kFimSepTexts = {"<|file_sep|>"};
// Every token with one of these texts ends generation.
const TextList kEogTexts = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
                            "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>",
                            "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
                            "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                            "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "[e~["};
// Channel markers of the harmony format: always rendered, treated as user-defined.
const TextList kAlwaysRenderedTexts = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};

bool InList(const TextList& list, std::string_view text) {
  return std::find(list.begin(), list.end(), text) != list.end();
}

Status KeyError(std::string_view key, const Status& s) {
  return s.WithContext("tokenizer key '" + std::string(key) + "'");
}

Result<std::vector<std::string>> ReadStringArray(const gguf::GgufFile& file, std::string_view key) {
  auto arr = file.GetArray(key);
  if (!arr.ok()) return KeyError(key, arr.status());
  const gguf::Array& a = **arr;
  if (a.element_type != gguf::ValueType::kString) {
    return InvalidArgument("tokenizer key '" + std::string(key) + "' must be an array of strings, not of " +
                           std::string(gguf::ValueTypeName(a.element_type)));
  }
  return a.strings;
}

Result<std::vector<int32_t>> ReadIntArray(const gguf::GgufFile& file, std::string_view key) {
  auto arr = file.GetArray(key);
  if (!arr.ok()) return KeyError(key, arr.status());
  const gguf::Array& a = **arr;
  std::vector<int32_t> out;
  switch (a.element_type) {
    case gguf::ValueType::kU8: case gguf::ValueType::kI8: case gguf::ValueType::kU16:
    case gguf::ValueType::kI16: case gguf::ValueType::kU32: case gguf::ValueType::kI32:
    case gguf::ValueType::kI64:
      out.reserve(a.ints.size());
      for (int64_t v : a.ints) {
        out.push_back(v < INT32_MIN || v > INT32_MAX ? static_cast<int32_t>(TokenType::kUndefined)
                                                     : static_cast<int32_t>(v));
      }
      return out;
    default:
      return InvalidArgument("tokenizer key '" + std::string(key) + "' must be an integer array, not of " +
                             std::string(gguf::ValueTypeName(a.element_type)));
  }
}

}  // namespace

Result<VocabSpec> ReadVocabSpec(const gguf::GgufFile& file) {
  VocabSpec spec;
  const std::string prefix(kKeyPrefix);
  {
    auto model = file.GetString(prefix + "model");
    if (!model.ok()) return KeyError(prefix + "model", model.status());
    spec.model = *model;
  }
  if (file.Find(prefix + "pre") != nullptr) {
    auto pre = file.GetString(prefix + "pre");
    if (!pre.ok()) return KeyError(prefix + "pre", pre.status());
    spec.pre = *pre;
  }
  SPATTEN_ASSIGN_OR_RETURN(spec.tokens, ReadStringArray(file, prefix + "tokens"));
  if (file.Find(prefix + "token_type") != nullptr) {
    SPATTEN_ASSIGN_OR_RETURN(spec.token_types, ReadIntArray(file, prefix + "token_type"));
  }
  if (spec.model == "gpt2") {
    if (file.Find(prefix + "merges") == nullptr) {
      return InvalidArgument("tokenizer key '" + prefix + "merges' is missing (required for gpt2 BPE)");
    }
    SPATTEN_ASSIGN_OR_RETURN(spec.merges, ReadStringArray(file, prefix + "merges"));
  }
  for (const auto& [name, slot] : kSpecialKeys) {
    (void)slot;
    const std::string key = prefix + std::string(name);
    if (file.Find(key) == nullptr) continue;
    auto v = file.GetInt(key);
    if (!v.ok()) return KeyError(key, v.status());
    spec.special_ids[std::string(name)] = *v;
  }
  for (auto [name, field] : {std::pair{"add_bos_token", &spec.add_bos},
                             std::pair{"add_eos_token", &spec.add_eos}}) {
    const std::string key = prefix + name;
    if (file.Find(key) == nullptr) continue;
    auto v = file.GetInt(key);
    if (!v.ok()) return KeyError(key, v.status());
    *field = *v != 0;
  }
  if (file.Find("tokenizer.chat_template") != nullptr) {
    auto t = file.GetString("tokenizer.chat_template");
    if (!t.ok()) return KeyError("tokenizer.chat_template", t.status());
    spec.chat_template = *t;
  }
  return spec;
}

void Vocab::AppendMergeKey(std::string_view left, std::string_view right, std::string* key) {
  // Length-prefixed so that no two different pairs share a key, whatever bytes they contain.
  size_t n = left.size();
  do {
    key->push_back(static_cast<char>((n & 0x7F) | (n > 0x7F ? 0x80 : 0)));
    n >>= 7;
  } while (n != 0);
  key->append(left);
  key->append(right);
}

Result<Vocab> Vocab::Build(VocabSpec spec) {
  if (spec.model != "gpt2") {
    return Unimplemented("tokenizer model '" + spec.model +
                         "' is not supported (only byte-level BPE, tokenizer.ggml.model = gpt2)");
  }
  Vocab v;
  {
    auto pre = ResolvePreTokenizer(spec.pre);
    if (!pre.ok()) return pre.status();
    v.pre_config_ = *pre;
    v.pre_name_ = spec.pre.empty() ? "default" : spec.pre;
  }
  const size_t n = spec.tokens.size();
  if (n == 0) return InvalidArgument("the vocabulary (tokenizer.ggml.tokens) is empty");
  if (n > static_cast<size_t>(INT32_MAX)) return InvalidArgument("the vocabulary is too large");
  if (!spec.token_types.empty() && spec.token_types.size() < n) {
    return InvalidArgument("tokenizer.ggml.token_type has " + std::to_string(spec.token_types.size()) +
                           " entries for " + std::to_string(n) + " tokens");
  }

  v.texts_ = std::move(spec.tokens);
  v.attrs_.resize(n);
  v.ids_by_text_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string& text = v.texts_[i];
    if (text.empty()) text = "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp names them
    const auto [it, inserted] = v.ids_by_text_.emplace(text, static_cast<int32_t>(i));
    if (!inserted) {
      return InvalidArgument("token " + std::to_string(i) + " repeats the text of token " +
                             std::to_string(it->second) + " ('" + text + "')");
    }
    v.attrs_[i] = spec.token_types.empty() ? kAttrNormal : AttrFromType(spec.token_types[i]);
  }

  v.merge_ranks_.reserve(spec.merges.size());
  std::string key;
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const std::string& line = spec.merges[rank];
    // Split at the first space that is not the first byte; a line without one is the empty pair.
    const size_t space = line.find(' ', 1);
    std::string_view left, right;
    if (space != std::string::npos) {
      left = std::string_view(line).substr(0, space);
      right = std::string_view(line).substr(space + 1);
    }
    key.clear();
    AppendMergeKey(left, right, &key);
    v.merge_ranks_.emplace(key, static_cast<int32_t>(rank));  // the first rank of a pair wins
  }

  // Ids: BPE defaults, then the file's values where they are in range.
  v.special_.bos = 11;
  v.special_.eos = 11;
  for (TokenId* id : {&v.special_.bos, &v.special_.eos}) {
    if (!v.valid(*id)) *id = kNoToken;
  }
  for (const auto& [name, slot] : kSpecialKeys) {
    auto it = spec.special_ids.find(std::string(name));
    if (it == spec.special_ids.end()) continue;
    if (it->second >= 0 && static_cast<uint64_t>(it->second) < n) {
      SlotRef(v.special_, slot) = static_cast<TokenId>(it->second);
    }
  }
  v.add_bos_ = spec.add_bos.value_or(v.pre_config_.add_bos_default);
  v.add_eos_ = spec.add_eos.value_or(false);
  v.chat_template_ = std::move(spec.chat_template);

  v.ApplyAttributeFixups();
  for (const auto& [id, bits] : spec.extra_attrs) {
    if (!v.valid(id)) {
      return InvalidArgument("extra attributes for token " + std::to_string(id) +
                             ", which is outside the vocabulary");
    }
    v.attrs_[static_cast<size_t>(id)] |= bits;
  }

  for (size_t i = 0; i < n; ++i) {
    if (v.attrs_[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) {
      v.specials_by_length_.push_back(static_cast<TokenId>(i));
    }
  }
  // Longest first. Deliberately std::sort (not stable) on ascending ids, exactly as the
  // reference does, so equal-length tokens are tried in the same order.
  std::sort(v.specials_by_length_.begin(), v.specials_by_length_.end(),
            [&v](TokenId a, TokenId b) { return v.text(a).size() > v.text(b).size(); });
  return v;
}

void Vocab::ApplyAttributeFixups() {
  const size_t n = texts_.size();
  auto mark_control = [&](size_t i) { attrs_[i] |= kAttrControl; };

  // Roles the file did not name: the lowest-id token with a well-known text takes the role.
  // (llama.cpp picks the first one its hash map yields; the two differ only for vocabularies
  // holding several candidates for one role.)
  const std::pair<TokenId*, const TextList*> roles[] = {
      {&special_.eot, &kEotTexts},         {&special_.eom, &kEomTexts},
      {&special_.fim_pre, &kFimPreTexts},  {&special_.fim_suf, &kFimSufTexts},
      {&special_.fim_mid, &kFimMidTexts},  {&special_.fim_pad, &kFimPadTexts},
      {&special_.fim_rep, &kFimRepTexts},  {&special_.fim_sep, &kFimSepTexts},
  };
  for (const auto& [slot, texts] : roles) {
    if (*slot != kNoToken) continue;
    for (size_t i = 0; i < n; ++i) {
      if (InList(*texts, texts_[i])) {
        *slot = static_cast<TokenId>(i);
        mark_control(i);
        break;
      }
    }
  }

  std::vector<TokenId> eog;
  for (TokenId id : {special_.fim_pad, special_.fim_rep, special_.fim_sep}) {
    if (id != kNoToken) eog.push_back(id);
  }
  for (size_t i = 0; i < n; ++i) {
    if (InList(kEogTexts, texts_[i])) {
      eog.push_back(static_cast<TokenId>(i));
      mark_control(i);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (InList(kAlwaysRenderedTexts, texts_[i])) attrs_[i] = kAttrUserDefined;
  }
  for (TokenId id : {special_.eos, special_.eot, special_.eom}) {
    if (id != kNoToken) eog.push_back(id);
  }
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());

  auto eog_with_text = [&](std::string_view text) -> TokenId {
    for (TokenId id : eog) {
      if (texts_[static_cast<size_t>(id)] == text) return id;
    }
    return kNoToken;
  };
  auto drop_eog = [&](TokenId id, uint32_t new_attr) {
    eog.erase(std::remove(eog.begin(), eog.end(), id), eog.end());
    attrs_[static_cast<size_t>(id)] = new_attr;
  };
  // Harmony-style vocabularies: "<|end|>" ends a message, not the generation.
  {
    const bool has_return = eog_with_text("<|return|>") != kNoToken;
    const bool has_call = eog_with_text("<|call|>") != kNoToken || eog_with_text("<|calls|>") != kNoToken;
    const bool has_flush = eog_with_text("<|flush|>") != kNoToken;
    const TokenId end = eog_with_text("<|end|>");
    if (end != kNoToken && has_call && (has_return || has_flush)) drop_eog(end, kAttrUserDefined);
  }
  // Vocabularies where "</s>" is ordinary text next to their own end marker.
  {
    const TokenId s = eog_with_text("</s>");
    if (s != kNoToken && (eog_with_text("<|tool_response>") != kNoToken ||
                          eog_with_text("<|plamo:eos|>") != kNoToken)) {
      drop_eog(s, kAttrNormal);
    }
  }
  eog_ids_ = std::move(eog);
}

TokenId Vocab::Find(std::string_view text) const {
  auto it = ids_by_text_.find(text);
  return it == ids_by_text_.end() ? kNoToken : it->second;
}

int32_t Vocab::MergeRank(std::string_view left, std::string_view right) const {
  thread_local std::string key;
  key.clear();
  AppendMergeKey(left, right, &key);
  auto it = merge_ranks_.find(std::string_view(key));
  return it == merge_ranks_.end() ? -1 : it->second;
}

bool Vocab::IsEog(TokenId id) const {
  return std::binary_search(eog_ids_.begin(), eog_ids_.end(), id);
}

}  // namespace spatten::tokenizer
