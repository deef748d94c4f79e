// LlamaModel loading: config, tensor validation, weight views (or one-time f32 dequantization).
// The forward pass lives in llama_forward.cpp.
#include "engine/model/llama_model.h"

#include <atomic>
#include <string>
#include <utility>

#include "common/log.h"
#include "kernels/ref/dequant.h"
#include "kernels/ref/ops.h"

namespace spatten::model {
namespace {

const gguf::TensorInfo& Tensor(const gguf::GgufFile& file, const std::string& name) {
  // ValidateModelTensors() has checked presence; FindTensor cannot fail here.
  return *file.FindTensor(name);
}

WeightMatrix ViewMatrix(const gguf::TensorInfo& t) {
  WeightMatrix w;
  w.type = t.type.type;
  w.data = t.data;
  w.rows = static_cast<size_t>(t.rows());
  w.cols = static_cast<size_t>(t.row_elems());
  w.row_bytes = static_cast<size_t>(t.row_bytes());
  return w;
}

Result<std::vector<float>> LoadVector(const gguf::TensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements));
  if (!kernels::ref::Dequantize(t.type.type, t.data, v.data(), v.size())) {
    return InvalidArgument("model tensor '" + t.name + "': cannot read type " +
                           std::string(t.type.name) + " as floats");
  }
  return v;
}

// Replaces `w` by an f32 copy held in `owned`.
Status ConvertToF32(WeightMatrix& w, std::vector<std::vector<float>>& owned, ThreadPool* pool) {
  std::vector<float> buf(w.rows * w.cols);
  std::atomic<bool> ok{true};
  auto convert = [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      if (!kernels::ref::DequantizeRow(w.type, w.data, w.row_bytes, w.cols, r,
                                       buf.data() + r * w.cols)) {
        ok.store(false, std::memory_order_relaxed);
      }
    }
  };
  if (pool != nullptr) {
    pool->ParallelFor(w.rows, convert, 64);
  } else {
    convert(0, w.rows);
  }
  if (!ok) return Internal("dequantizing a validated weight matrix failed");
  w.type = kernels::QuantType::kF32;
  w.data = reinterpret_cast<const uint8_t*>(buf.data());
  w.row_bytes = w.cols * sizeof(float);
  owned.push_back(std::move(buf));  // moving a vector keeps its buffer: w.data stays valid
  return Status::Ok();
}

}  // namespace

Result<LlamaModel> LlamaModel::Load(std::shared_ptr<const gguf::GgufFile> file,
                                    const LoadOptions& options) {
  if (file == nullptr) return InvalidArgument("LlamaModel::Load: no GGUF file given");
  SPATTEN_ASSIGN_OR_RETURN(ModelConfig config, ReadModelConfig(*file));
  SPATTEN_RETURN_IF_ERROR(ValidateModelTensors(config, *file));

  LlamaModel m;
  m.config_ = config;
  m.weight_format_ = options.weight_format;
  const kernels::cpu::Isa isa = options.isa.value_or(kernels::cpu::ActiveIsa());
  m.quant_kernels_ = &kernels::cpu::KernelsFor(isa);
  m.ops_ = &kernels::cpu::OpsFor(isa);
  const gguf::GgufFile& f = *file;
  m.token_embd_ = ViewMatrix(Tensor(f, "token_embd.weight"));
  m.output_ = config.tied_embeddings ? m.token_embd_ : ViewMatrix(Tensor(f, "output.weight"));
  SPATTEN_ASSIGN_OR_RETURN(m.output_norm_, LoadVector(Tensor(f, "output_norm.weight")));
  m.layers_.resize(static_cast<size_t>(config.n_layer));
  for (int64_t l = 0; l < config.n_layer; ++l) {
    LayerWeights& lw = m.layers_[static_cast<size_t>(l)];
    SPATTEN_ASSIGN_OR_RETURN(lw.attn_norm, LoadVector(Tensor(f, LayerTensorName(l, "attn_norm"))));
    SPATTEN_ASSIGN_OR_RETURN(lw.ffn_norm, LoadVector(Tensor(f, LayerTensorName(l, "ffn_norm"))));
    lw.wq = ViewMatrix(Tensor(f, LayerTensorName(l, "attn_q")));
    lw.wk = ViewMatrix(Tensor(f, LayerTensorName(l, "attn_k")));
    lw.wv = ViewMatrix(Tensor(f, LayerTensorName(l, "attn_v")));
    lw.wo = ViewMatrix(Tensor(f, LayerTensorName(l, "attn_output")));
    lw.w_gate = ViewMatrix(Tensor(f, LayerTensorName(l, "ffn_gate")));
    lw.w_up = ViewMatrix(Tensor(f, LayerTensorName(l, "ffn_up")));
    lw.w_down = ViewMatrix(Tensor(f, LayerTensorName(l, "ffn_down")));
  }

  if (options.weight_format == WeightFormat::kF32) {
    SPATTEN_RETURN_IF_ERROR(ConvertToF32(m.token_embd_, m.owned_f32_, options.pool));
    if (config.tied_embeddings) {
      m.output_ = m.token_embd_;
    } else {
      SPATTEN_RETURN_IF_ERROR(ConvertToF32(m.output_, m.owned_f32_, options.pool));
    }
    for (LayerWeights& lw : m.layers_) {
      for (WeightMatrix* w : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down}) {
        SPATTEN_RETURN_IF_ERROR(ConvertToF32(*w, m.owned_f32_, options.pool));
      }
    }
    size_t bytes = 0;
    for (const auto& b : m.owned_f32_) bytes += b.size() * sizeof(float);
    SPATTEN_LOG_INFO("model weights dequantized to f32 at load: " +
                     std::to_string(bytes >> 20) + " MiB");
  }
  m.file_ = std::move(file);
  SPATTEN_LOG_INFO("model: " + config.ToString() + ", kernels: " +
                   kernels::cpu::IsaName(m.quant_kernels_->isa));
  return m;
}

SequenceKvCache LlamaModel::NewCache(size_t max_slots) const {
  if (max_slots == 0) max_slots = static_cast<size_t>(config_.n_ctx_train);
  return SequenceKvCache(static_cast<size_t>(config_.n_layer),
                         static_cast<size_t>(config_.kv_dim()), max_slots);
}

Status LlamaModel::ForwardNext(std::span<const int32_t> tokens, SequenceKvCache& cache,
                               ThreadPool* pool, std::vector<float>* logits,
                               const ForwardOptions& options) const {
  std::vector<int64_t> positions(tokens.size());
  const int64_t start = cache.next_position();
  for (size_t i = 0; i < positions.size(); ++i) positions[i] = start + static_cast<int64_t>(i);
  return Forward(tokens, positions, cache, pool, logits, options);
}

}  // namespace spatten::model
