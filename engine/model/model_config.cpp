// Reading hyperparameters from GGUF metadata and checking tensors against them.
#include "engine/model/model_config.h"

#include <string_view>

#include "kernels/ref/ops.h"

namespace spatten::model {
namespace {

// Generous upper bounds: a model file is untrusted, and these keep every product of sizes
// (e.g. n_vocab * n_embd) far from overflowing.
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxDim = int64_t{1} << 20;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxContext = int64_t{1} << 24;

std::string Key(const std::string& arch, std::string_view suffix) {
  return arch + "." + std::string(suffix);
}

Result<int64_t> RequiredInt(const gguf::GgufFile& file, const std::string& key, int64_t min,
                            int64_t max) {
  auto v = file.GetInt(key);
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound) {
      return NotFound("missing required GGUF key '" + key + "'");
    }
    return v.status();
  }
  if (*v < min || *v > max) {
    return InvalidArgument("GGUF key '" + key + "' = " + std::to_string(*v) +
                           " is out of range [" + std::to_string(min) + ", " +
                           std::to_string(max) + "]");
  }
  return *v;
}

Result<int64_t> OptionalInt(const gguf::GgufFile& file, const std::string& key,
                            int64_t fallback, int64_t min, int64_t max) {
  if (file.Find(key) == nullptr) return fallback;
  return RequiredInt(file, key, min, max);
}

Result<float> RequiredPositiveFloat(const gguf::GgufFile& file, const std::string& key) {
  auto v = file.GetFloat(key);
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound) {
      return NotFound("missing required GGUF key '" + key + "'");
    }
    return v.status();
  }
  if (!(*v > 0.0) || *v > 1e30) {
    return InvalidArgument("GGUF key '" + key + "' = " + std::to_string(*v) +
                           " must be a positive finite number");
  }
  return static_cast<float>(*v);
}

// Strips trailing dimensions of size 1 so that [576] and [576, 1] compare equal.
std::vector<uint64_t> Squeeze(std::vector<uint64_t> shape) {
  while (shape.size() > 1 && shape.back() == 1) shape.pop_back();
  return shape;
}

std::string ShapeString(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Status CheckTensor(const gguf::GgufFile& file, const std::string& name,
                   std::vector<uint64_t> want, bool required = true) {
  const gguf::TensorInfo* t = file.FindTensor(name);
  if (t == nullptr) {
    if (!required) return Status::Ok();
    return InvalidArgument("model tensor '" + name + "' is missing (expected shape " +
                           ShapeString(want) + ")");
  }
  want = Squeeze(std::move(want));
  if (Squeeze(t->shape) != want) {
    return InvalidArgument("model tensor '" + name + "' has shape " + ShapeString(t->shape) +
                           ", expected " + ShapeString(want));
  }
  if (!kernels::ref::IsWeightTypeSupported(t->type.type)) {
    return InvalidArgument("model tensor '" + name + "' has type " +
                           std::string(t->type.name) + ", which is not a weight type");
  }
  if (t->row_elems() % t->type.block_elems != 0) {
    return InvalidArgument("model tensor '" + name + "': row of " +
                           std::to_string(t->row_elems()) + " elements is not a multiple of " +
                           std::string(t->type.name) + "'s block of " +
                           std::to_string(t->type.block_elems));
  }
  return Status::Ok();
}

Status RejectIfPresent(const gguf::GgufFile& file, const std::string& name,
                       std::string_view why) {
  if (file.FindTensor(name) != nullptr) {
    return Unimplemented("model tensor '" + name + "' is present: " + std::string(why) +
                         " is not implemented");
  }
  return Status::Ok();
}

}  // namespace

std::string ModelConfig::ToString() const {
  return arch + ": " + std::to_string(n_layer) + " layers, n_embd " + std::to_string(n_embd) +
         ", n_ff " + std::to_string(n_ff) + ", heads " + std::to_string(n_head) + " (kv " +
         std::to_string(n_head_kv) + ", dim " + std::to_string(head_dim) + ", rope dims " +
         std::to_string(n_rot) + ", base " + std::to_string(rope_freq_base) + "), vocab " +
         std::to_string(n_vocab) + ", context " + std::to_string(n_ctx_train) +
         ", rms eps " + std::to_string(rms_norm_eps) +
         (tied_embeddings ? ", tied embeddings" : "");
}

std::string LayerTensorName(int64_t layer, const char* base) {
  return "blk." + std::to_string(layer) + "." + base + ".weight";
}

Result<ModelConfig> ReadModelConfig(const gguf::GgufFile& file) {
  ModelConfig c;
  auto arch = file.GetString("general.architecture");
  if (!arch.ok()) {
    return arch.status().code() == StatusCode::kNotFound
               ? NotFound("missing required GGUF key 'general.architecture'")
               : arch.status();
  }
  c.arch = *arch;
  if (c.arch != "llama") {
    return Unimplemented("model architecture '" + c.arch +
                         "' is not supported (implemented: llama)");
  }
  const std::string& a = c.arch;
  SPATTEN_ASSIGN_OR_RETURN(c.n_layer, RequiredInt(file, Key(a, "block_count"), 1, kMaxLayers));
  SPATTEN_ASSIGN_OR_RETURN(c.n_embd, RequiredInt(file, Key(a, "embedding_length"), 1, kMaxDim));
  SPATTEN_ASSIGN_OR_RETURN(c.n_ff, RequiredInt(file, Key(a, "feed_forward_length"), 1, kMaxDim));
  SPATTEN_ASSIGN_OR_RETURN(c.n_head,
                           RequiredInt(file, Key(a, "attention.head_count"), 1, kMaxHeads));
  SPATTEN_ASSIGN_OR_RETURN(c.n_head_kv, OptionalInt(file, Key(a, "attention.head_count_kv"),
                                                    c.n_head, 1, kMaxHeads));
  SPATTEN_ASSIGN_OR_RETURN(c.n_ctx_train,
                           RequiredInt(file, Key(a, "context_length"), 1, kMaxContext));
  SPATTEN_ASSIGN_OR_RETURN(c.rms_norm_eps, RequiredPositiveFloat(
                                               file, Key(a, "attention.layer_norm_rms_epsilon")));
  if (file.Find(Key(a, "rope.freq_base")) != nullptr) {
    SPATTEN_ASSIGN_OR_RETURN(c.rope_freq_base,
                             RequiredPositiveFloat(file, Key(a, "rope.freq_base")));
  } else {
    c.rope_freq_base = 10000.0f;  // llama.cpp's default
  }

  if (c.n_head % c.n_head_kv != 0) {
    return InvalidArgument(Key(a, "attention.head_count") + " (" + std::to_string(c.n_head) +
                           ") is not a multiple of " + Key(a, "attention.head_count_kv") +
                           " (" + std::to_string(c.n_head_kv) + ")");
  }
  const int64_t default_head_dim = c.n_embd % c.n_head == 0 ? c.n_embd / c.n_head : 0;
  SPATTEN_ASSIGN_OR_RETURN(c.head_dim, OptionalInt(file, Key(a, "attention.key_length"),
                                                   default_head_dim, 0, kMaxDim));
  if (c.head_dim == 0) {
    return InvalidArgument(Key(a, "embedding_length") + " (" + std::to_string(c.n_embd) +
                           ") is not a multiple of the head count (" +
                           std::to_string(c.n_head) + ") and no " +
                           Key(a, "attention.key_length") + " is given");
  }
  SPATTEN_ASSIGN_OR_RETURN(const int64_t value_dim,
                           OptionalInt(file, Key(a, "attention.value_length"), c.head_dim, 1,
                                       kMaxDim));
  if (value_dim != c.head_dim) {
    return Unimplemented("value head size " + std::to_string(value_dim) +
                         " differs from key head size " + std::to_string(c.head_dim));
  }
  SPATTEN_ASSIGN_OR_RETURN(c.n_rot, OptionalInt(file, Key(a, "rope.dimension_count"),
                                                c.head_dim, 0, c.head_dim));
  if (c.n_rot % 2 != 0) {
    return InvalidArgument(Key(a, "rope.dimension_count") + " (" + std::to_string(c.n_rot) +
                           ") must be even");
  }
  if (c.q_dim() > kMaxDim) {
    return InvalidArgument("head_count * head size (" + std::to_string(c.q_dim()) +
                           ") is too large");
  }

  if (const gguf::Value* v = file.Find(Key(a, "rope.scaling.type")); v != nullptr) {
    const std::string* type = v->AsString();
    if (type == nullptr || *type != "none") {
      return Unimplemented("RoPE scaling ('" + Key(a, "rope.scaling.type") + "' = " +
                           v->ToString() + ") is not implemented");
    }
  }
  SPATTEN_ASSIGN_OR_RETURN(const int64_t n_expert,
                           OptionalInt(file, Key(a, "expert_count"), 0, 0, kMaxHeads));
  if (n_expert > 0) return Unimplemented("mixture-of-experts models are not implemented");

  // Vocabulary size: the explicit key, else the tokenizer's list, else the embedding table.
  if (file.Find(Key(a, "vocab_size")) != nullptr) {
    SPATTEN_ASSIGN_OR_RETURN(c.n_vocab, RequiredInt(file, Key(a, "vocab_size"), 1, kMaxVocab));
  } else if (const gguf::Value* tokens = file.Find("tokenizer.ggml.tokens");
             tokens != nullptr && tokens->AsArray() != nullptr) {
    c.n_vocab = static_cast<int64_t>(tokens->AsArray()->size());
  } else if (const gguf::TensorInfo* embd = file.FindTensor("token_embd.weight");
             embd != nullptr && embd->shape.size() >= 2) {
    c.n_vocab = static_cast<int64_t>(embd->shape[1]);
  }
  if (c.n_vocab < 1 || c.n_vocab > kMaxVocab) {
    return InvalidArgument("cannot determine a valid vocabulary size (got " +
                           std::to_string(c.n_vocab) + ")");
  }
  c.tied_embeddings = file.FindTensor("output.weight") == nullptr;
  return c;
}

Status ValidateModelTensors(const ModelConfig& c, const gguf::GgufFile& file) {
  using U = uint64_t;
  const U embd = static_cast<U>(c.n_embd);
  SPATTEN_RETURN_IF_ERROR(
      CheckTensor(file, "token_embd.weight", {embd, static_cast<U>(c.n_vocab)}));
  SPATTEN_RETURN_IF_ERROR(CheckTensor(file, "output_norm.weight", {embd}));
  SPATTEN_RETURN_IF_ERROR(CheckTensor(file, "output.weight", {embd, static_cast<U>(c.n_vocab)},
                                      /*required=*/!c.tied_embeddings));
  SPATTEN_RETURN_IF_ERROR(RejectIfPresent(file, "rope_freqs.weight", "RoPE frequency factors"));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    SPATTEN_RETURN_IF_ERROR(CheckTensor(file, LayerTensorName(l, "attn_norm"), {embd}));
    SPATTEN_RETURN_IF_ERROR(
        CheckTensor(file, LayerTensorName(l, "attn_q"), {embd, static_cast<U>(c.q_dim())}));
    SPATTEN_RETURN_IF_ERROR(
        CheckTensor(file, LayerTensorName(l, "attn_k"), {embd, static_cast<U>(c.kv_dim())}));
    SPATTEN_RETURN_IF_ERROR(
        CheckTensor(file, LayerTensorName(l, "attn_v"), {embd, static_cast<U>(c.kv_dim())}));
    SPATTEN_RETURN_IF_ERROR(CheckTensor(file, LayerTensorName(l, "attn_output"),
                                        {static_cast<U>(c.q_dim()), embd}));
    SPATTEN_RETURN_IF_ERROR(CheckTensor(file, LayerTensorName(l, "ffn_norm"), {embd}));
    SPATTEN_RETURN_IF_ERROR(
        CheckTensor(file, LayerTensorName(l, "ffn_gate"), {embd, static_cast<U>(c.n_ff)}));
    SPATTEN_RETURN_IF_ERROR(
        CheckTensor(file, LayerTensorName(l, "ffn_up"), {embd, static_cast<U>(c.n_ff)}));
    SPATTEN_RETURN_IF_ERROR(
        CheckTensor(file, LayerTensorName(l, "ffn_down"), {static_cast<U>(c.n_ff), embd}));
    const std::string prefix = "blk." + std::to_string(l) + ".";
    for (const char* bias : {"attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_output.bias"}) {
      SPATTEN_RETURN_IF_ERROR(RejectIfPresent(file, prefix + bias, "attention bias"));
    }
  }
  return Status::Ok();
}

}  // namespace spatten::model
