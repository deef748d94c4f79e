// Scalar reference ops. Written for clarity first; loops are simple enough for the compiler to
// vectorise at -O2/-O3 without target-specific flags. Reductions that decide numerics (RMSNorm,
// softmax sums) accumulate in double.
#include "kernels/ref/ops.h"

#include <algorithm>
#include <cmath>

#include "kernels/ref/dequant.h"

namespace spatten::kernels::ref {

void RmsNorm(const float* x, const float* weight, float* out, size_t n, float eps) {
  double sum_sq = 0.0;
  for (size_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const double mean = n == 0 ? 0.0 : sum_sq / static_cast<double>(n);
  const float scale = static_cast<float>(1.0 / std::sqrt(mean + static_cast<double>(eps)));
  for (size_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void RopeCosSin(int64_t pos, size_t rot_dims, float freq_base, float* cos_sin) {
  for (size_t i = 0; i < rot_dims / 2; ++i) {
    const double inv_freq =
        std::pow(static_cast<double>(freq_base),
                 -2.0 * static_cast<double>(i) / static_cast<double>(rot_dims));
    const double angle = static_cast<double>(pos) * inv_freq;
    cos_sin[2 * i] = static_cast<float>(std::cos(angle));
    cos_sin[2 * i + 1] = static_cast<float>(std::sin(angle));
  }
}

void RopeApply(float* x, size_t n_heads, size_t head_dim, size_t rot_dims, const float* cos_sin) {
  const size_t n_pairs = std::min(rot_dims, head_dim) / 2;
  for (size_t h = 0; h < n_heads; ++h) {
    float* p = x + h * head_dim;
    for (size_t i = 0; i < n_pairs; ++i) {
      const float c = cos_sin[2 * i];
      const float s = cos_sin[2 * i + 1];
      const float x0 = p[2 * i];
      const float x1 = p[2 * i + 1];
      p[2 * i] = x0 * c - x1 * s;
      p[2 * i + 1] = x0 * s + x1 * c;
    }
  }
}

void RopeAdjacent(float* x, size_t n_heads, size_t head_dim, size_t rot_dims, int64_t pos,
                  float freq_base) {
  const size_t n_pairs = std::min(rot_dims, head_dim) / 2;
  for (size_t i = 0; i < n_pairs; ++i) {
    const double inv_freq =
        std::pow(static_cast<double>(freq_base),
                 -2.0 * static_cast<double>(i) / static_cast<double>(rot_dims));
    const double angle = static_cast<double>(pos) * inv_freq;
    const float c = static_cast<float>(std::cos(angle));
    const float s = static_cast<float>(std::sin(angle));
    for (size_t h = 0; h < n_heads; ++h) {
      float* p = x + h * head_dim + 2 * i;
      const float x0 = p[0];
      const float x1 = p[1];
      p[0] = x0 * c - x1 * s;
      p[1] = x0 * s + x1 * c;
    }
  }
}

void Softmax(float* x, size_t n) {
  if (n == 0) return;
  const float max = *std::max_element(x, x + n);
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (size_t i = 0; i < n; ++i) x[i] *= inv;
}

void SiluMul(const float* gate, const float* up, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

float Dot(const float* a, const float* b, size_t n) {
  // Eight independent partial sums: lets the compiler vectorise without -ffast-math.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  }
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) +
         tail;
}

bool IsWeightTypeSupported(QuantType type) {
  switch (type) {
    case QuantType::kF32:
    case QuantType::kF16:
    case QuantType::kBF16:
    case QuantType::kQ4_0:
    case QuantType::kQ4_1:
    case QuantType::kQ8_0:
    case QuantType::kQ4_K:
    case QuantType::kQ6_K:
      return true;
    case QuantType::kQ8_1:
      return false;
  }
  return false;
}

bool DequantizeRow(QuantType type, const void* w, size_t row_bytes, size_t cols, size_t row,
                   float* dst) {
  if (!IsWeightTypeSupported(type)) return false;
  const auto* src = static_cast<const uint8_t*>(w) + row * row_bytes;
  return Dequantize(type, src, dst, cols);
}

bool MatMulRows(QuantType type, const void* w, size_t row_bytes, size_t cols, size_t row_begin,
                size_t row_end, const float* x, size_t n_vec, float* out, size_t out_stride,
                float* row_scratch) {
  if (!IsWeightTypeSupported(type)) return false;
  const auto* base = static_cast<const uint8_t*>(w);
  const bool f32_in_place =
      type == QuantType::kF32 && reinterpret_cast<uintptr_t>(base) % alignof(float) == 0 &&
      row_bytes % sizeof(float) == 0;
  for (size_t r = row_begin; r < row_end; ++r) {
    const float* row = nullptr;
    if (f32_in_place) {
      row = reinterpret_cast<const float*>(base + r * row_bytes);
    } else {
      if (!Dequantize(type, base + r * row_bytes, row_scratch, cols)) return false;
      row = row_scratch;
    }
    for (size_t t = 0; t < n_vec; ++t) out[t * out_stride + r] = Dot(row, x + t * cols, cols);
  }
  return true;
}

bool MatVec(QuantType type, const void* w, size_t row_bytes, size_t rows, size_t cols,
            const float* x, float* out, float* row_scratch) {
  return MatMulRows(type, w, row_bytes, cols, 0, rows, x, 1, out, rows, row_scratch);
}

void AttentionSingleQuery(const float* q, const float* k, const float* v, size_t n_ctx,
                          size_t head_dim, size_t kv_stride, float scale, float* scores,
                          float* out) {
  for (size_t j = 0; j < n_ctx; ++j) scores[j] = scale * Dot(q, k + j * kv_stride, head_dim);
  Softmax(scores, n_ctx);
  std::fill(out, out + head_dim, 0.0f);
  for (size_t j = 0; j < n_ctx; ++j) {
    const float p = scores[j];
    const float* vj = v + j * kv_stride;
    for (size_t d = 0; d < head_dim; ++d) out[d] += p * vj[d];
  }
}

void AttentionMultiQuery(const AttentionBatch& b) {
  for (size_t i = 0; i < b.nq; ++i) {
    AttentionSingleQuery(b.q[i], b.k, b.v, b.n_ctx[i], b.head_dim, b.kv_stride, b.scale,
                         b.scores + i * b.score_stride, b.out[i]);
  }
}

}  // namespace spatten::kernels::ref
