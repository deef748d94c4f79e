// AVX2 + FMA versions of the f32 transformer ops (contracts in kernels/ref/ops.h, table in
// kernels/cpu/dispatch.h). Compiled with -mavx2 -mfma; only reached through FillAvx2Ops, which
// dispatch.cpp calls after checking the CPU. Everything else here has internal linkage and
// only headers without inline functions are included, so no AVX2 code leaks into the
// baseline build.
//
// Numerics differ from the scalar references by float rounding only: sums run in 8-wide
// partial sums (the references use double for RMSNorm and softmax), products fuse into FMA,
// and exp is a polynomial (relative error ~2e-7, see Exp8). Tails shorter than a vector go
// through the same formulas in scalar code.
#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>

#include <cstddef>

#include "kernels/cpu/dispatch.h"

namespace spatten::kernels::cpu {
namespace {

// Local helpers instead of the standard min / fill / exp: an inline library function
// instantiated here would be compiled with AVX2 flags, and the linker may keep that copy for
// callers in baseline code (see dispatch.h).
inline size_t MinSize(size_t a, size_t b) { return a < b ? a : b; }
inline size_t MaxSize(size_t a, size_t b) { return a > b ? a : b; }
inline float ScalarExp(float x) { return __builtin_expf(x); }

inline float HorizontalSum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

inline float HorizontalMax(__m256 v) {
  const __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s2, _mm_movehdup_ps(s2)));
}

// e^x for 8 floats. Write x = n ln2 + r with n = round(x / ln2), |r| <= ln2 / 2; then
// e^x = 2^n e^r, with e^r from its Taylor series to r^7 (truncation error below 3e-9
// relative on that interval, so the result is within a couple of float ulps) and 2^n built in
// the exponent field. ln2 is split in a high part exact in float and a low correction, so
// that r keeps full precision for large |x|. Inputs below -87.3 (where 2^n would leave the
// normal range) give 0, inputs above 88.7 are clamped (e^88.7 ~ FLT_MAX).
inline __m256 Exp8(__m256 x) {
  const __m256 lo_limit = _mm256_set1_ps(-87.3f);
  const __m256 underflow = _mm256_cmp_ps(x, lo_limit, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo_limit), _mm256_set1_ps(88.7f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // 2^n: n in [-126, 128]; 128 only for x near the top clamp, where splitting the scaling in
  // two halves keeps each factor representable.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(ni, 1);
  const __m256i rest = _mm256_sub_epi32(ni, half);
  const __m256 s1 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
  const __m256 s2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(rest, _mm256_set1_epi32(127)), 23));
  const __m256 result = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  return _mm256_andnot_ps(underflow, result);
}

// ---- element-wise ops ----------------------------------------------------------------------

float DotAvx2(const float* a, const float* b, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  float sum = HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void RmsNormAvx2(const float* x, const float* weight, float* out, size_t n, float eps) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = _mm256_loadu_ps(x + i);
    const __m256 b = _mm256_loadu_ps(x + i + 8);
    acc0 = _mm256_fmadd_ps(a, a, acc0);
    acc1 = _mm256_fmadd_ps(b, b, acc1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 a = _mm256_loadu_ps(x + i);
    acc0 = _mm256_fmadd_ps(a, a, acc0);
  }
  double sum_sq = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const double mean = n == 0 ? 0.0 : sum_sq / static_cast<double>(n);
  const float scale = static_cast<float>(1.0 / __builtin_sqrt(mean + static_cast<double>(eps)));
  const __m256 vs = _mm256_set1_ps(scale);
  i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vs);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(v, _mm256_loadu_ps(weight + i)));
  }
  for (; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void RopeApplyAvx2(float* x, size_t n_heads, size_t head_dim, size_t rot_dims,
                   const float* cos_sin) {
  const size_t rot = MinSize(rot_dims, head_dim) & ~size_t{1};
  for (size_t h = 0; h < n_heads; ++h) {
    float* p = x + h * head_dim;
    size_t i = 0;
    for (; i + 8 <= rot; i += 8) {
      // cos_sin = [c0 s0 c1 s1 ..]: cc = [c0 c0 c1 c1 ..], ss = [s0 s0 s1 s1 ..];
      // x = [x0 x1 ..], swapped = [x1 x0 ..]; addsub gives (x0 c - x1 s, x1 c + x0 s).
      const __m256 cs = _mm256_loadu_ps(cos_sin + i);
      const __m256 cc = _mm256_moveldup_ps(cs);
      const __m256 ss = _mm256_movehdup_ps(cs);
      const __m256 v = _mm256_loadu_ps(p + i);
      const __m256 swapped = _mm256_permute_ps(v, 0xB1);
      _mm256_storeu_ps(p + i, _mm256_addsub_ps(_mm256_mul_ps(v, cc), _mm256_mul_ps(swapped, ss)));
    }
    for (; i < rot; i += 2) {
      const float c = cos_sin[i], s = cos_sin[i + 1];
      const float x0 = p[i], x1 = p[i + 1];
      p[i] = x0 * c - x1 * s;
      p[i + 1] = x0 * s + x1 * c;
    }
  }
}

// Softmax of x[0, n) in place. Max, then exp and sum in one pass, then one scaling pass.
void SoftmaxAvx2(float* x, size_t n) {
  if (n == 0) return;
  size_t i = 0;
  float max = x[0];
  if (n >= 8) {
    __m256 vmax = _mm256_loadu_ps(x);
    for (i = 8; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    max = HorizontalMax(vmax);
  }
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 vsum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(x + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  double sum = HorizontalSum(vsum);
  for (; i < n; ++i) {
    x[i] = ScalarExp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  const __m256 vinv = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
  for (; i < n; ++i) x[i] *= inv;
}

void SiluMulAvx2(const float* gate, const float* up, float* out, size_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = Exp8(_mm256_xor_ps(g, sign));  // exp(-g)
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + ScalarExp(-g)) * up[i];
  }
}

// ---- attention -----------------------------------------------------------------------------

// Keys per block: a block's K (or V) rows (32 x head_dim floats, 8 KiB at head_dim 64) stay in
// L1 while every query of the batch passes over them, so each cached row is fetched from L2 /
// memory once per batch instead of once per query.
constexpr size_t kKeyBlock = 32;

// q . k for head_dim a multiple of 8: one 8-lane accumulator, reduced pairwise exactly as
// Dot4Queries reduces each of its lanes, so a score does not depend on how queries were
// grouped (batched prefill and token-by-token decoding give the same bits).
inline float DotMul8(const float* a, const float* b, size_t d) {
  __m256 acc = _mm256_setzero_ps();
  for (size_t i = 0; i < d; i += 8) {
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  }
  const __m256 h = _mm256_hadd_ps(acc, acc);
  const __m256 h2 = _mm256_hadd_ps(h, h);
  return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(h2), _mm256_extractf128_ps(h2, 1)));
}

// Four dot products of one key with four queries, reduced together (one transposing reduction
// instead of four horizontal sums). Returns [q0.k, q1.k, q2.k, q3.k].
inline __m128 Dot4Queries(const float* const* q, const float* k, size_t d) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  for (size_t i = 0; i < d; i += 8) {
    const __m256 kv = _mm256_loadu_ps(k + i);
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q[0] + i), kv, a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q[1] + i), kv, a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q[2] + i), kv, a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q[3] + i), kv, a3);
  }
  const __m256 h01 = _mm256_hadd_ps(a0, a1);  // [a0 a0 a1 a1 | a0 a0 a1 a1] partial sums
  const __m256 h23 = _mm256_hadd_ps(a2, a3);
  const __m256 h = _mm256_hadd_ps(h01, h23);  // [a0 a1 a2 a3 | a0 a1 a2 a3]
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// Dot4Queries for two keys at once (8 independent accumulators instead of 4): out0 gets the
// four queries' dots with k0, out1 with k1, each reduced exactly like Dot4Queries.
inline void Dot4QueriesTwoKeys(const float* const* q, const float* k0, const float* k1,
                               size_t d, __m128* out0, __m128* out1) {
  __m256 a[4], bb[4];
  for (int r = 0; r < 4; ++r) a[r] = bb[r] = _mm256_setzero_ps();
  for (size_t i = 0; i < d; i += 8) {
    const __m256 kv0 = _mm256_loadu_ps(k0 + i);
    const __m256 kv1 = _mm256_loadu_ps(k1 + i);
    for (int r = 0; r < 4; ++r) {
      const __m256 qv = _mm256_loadu_ps(q[r] + i);
      a[r] = _mm256_fmadd_ps(qv, kv0, a[r]);
      bb[r] = _mm256_fmadd_ps(qv, kv1, bb[r]);
    }
  }
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
  const __m256 h2 = _mm256_hadd_ps(_mm256_hadd_ps(bb[0], bb[1]), _mm256_hadd_ps(bb[2], bb[3]));
  *out0 = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  *out1 = _mm_add_ps(_mm256_castps256_ps128(h2), _mm256_extractf128_ps(h2, 1));
}

// out += sum_{j in [j0, j1)} p[j] * V[j], for head_dim a multiple of 8, 32 columns at a time
// held in registers across the keys.
inline void AccumulateValues(const float* p, const float* v, size_t kv_stride, size_t j0,
                             size_t j1, size_t d, float* out) {
  size_t c = 0;
  for (; c + 64 <= d; c += 64) {  // 8 accumulators: covers the FMA latency
    __m256 o[8];
    for (int r = 0; r < 8; ++r) o[r] = _mm256_loadu_ps(out + c + 8 * r);
    for (size_t j = j0; j < j1; ++j) {
      const __m256 pj = _mm256_set1_ps(p[j]);
      const float* vj = v + j * kv_stride + c;
      for (int r = 0; r < 8; ++r) o[r] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8 * r), o[r]);
    }
    for (int r = 0; r < 8; ++r) _mm256_storeu_ps(out + c + 8 * r, o[r]);
  }
  for (; c + 32 <= d; c += 32) {
    __m256 o0 = _mm256_loadu_ps(out + c), o1 = _mm256_loadu_ps(out + c + 8);
    __m256 o2 = _mm256_loadu_ps(out + c + 16), o3 = _mm256_loadu_ps(out + c + 24);
    for (size_t j = j0; j < j1; ++j) {
      const __m256 pj = _mm256_set1_ps(p[j]);
      const float* vj = v + j * kv_stride + c;
      o0 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj), o0);
      o1 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8), o1);
      o2 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 16), o2);
      o3 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 24), o3);
    }
    _mm256_storeu_ps(out + c, o0);
    _mm256_storeu_ps(out + c + 8, o1);
    _mm256_storeu_ps(out + c + 16, o2);
    _mm256_storeu_ps(out + c + 24, o3);
  }
  for (; c < d; c += 8) {
    __m256 o = _mm256_loadu_ps(out + c);
    for (size_t j = j0; j < j1; ++j) {
      o = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), _mm256_loadu_ps(v + j * kv_stride + c), o);
    }
    _mm256_storeu_ps(out + c, o);
  }
}

// AccumulateValues for two queries at once: each value load feeds two FMAs (the single-query
// loop is bound by loads, one per FMA). Per output element the sum runs over j in the same
// order as AccumulateValues, so results do not depend on the pairing.
inline void AccumulateValuesPair(const float* p, const float* p2, const float* v,
                                 size_t kv_stride, size_t j0, size_t j1, size_t d, float* out,
                                 float* out2) {
  size_t c = 0;
  // 32 columns x 2 queries: 8 independent accumulators, enough to cover the FMA latency.
  for (; c + 32 <= d; c += 32) {
    __m256 a[4], bb[4];
    for (int r = 0; r < 4; ++r) {
      a[r] = _mm256_loadu_ps(out + c + 8 * r);
      bb[r] = _mm256_loadu_ps(out2 + c + 8 * r);
    }
    for (size_t j = j0; j < j1; ++j) {
      const __m256 pa = _mm256_set1_ps(p[j]);
      const __m256 pb = _mm256_set1_ps(p2[j]);
      const float* vj = v + j * kv_stride + c;
      for (int r = 0; r < 4; ++r) {
        const __m256 vr = _mm256_loadu_ps(vj + 8 * r);
        a[r] = _mm256_fmadd_ps(pa, vr, a[r]);
        bb[r] = _mm256_fmadd_ps(pb, vr, bb[r]);
      }
    }
    for (int r = 0; r < 4; ++r) {
      _mm256_storeu_ps(out + c + 8 * r, a[r]);
      _mm256_storeu_ps(out2 + c + 8 * r, bb[r]);
    }
  }
  for (; c < d; c += 8) {
    __m256 a = _mm256_loadu_ps(out + c), bb = _mm256_loadu_ps(out2 + c);
    for (size_t j = j0; j < j1; ++j) {
      const __m256 vj = _mm256_loadu_ps(v + j * kv_stride + c);
      a = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), vj, a);
      bb = _mm256_fmadd_ps(_mm256_set1_ps(p2[j]), vj, bb);
    }
    _mm256_storeu_ps(out + c, a);
    _mm256_storeu_ps(out2 + c, bb);
  }
}

// Two passes over the keys, both blocked by kKeyBlock: scores for every query (softmax per
// query in between), then the probability-weighted sum of the values.
void AttentionAvx2(const ref::AttentionBatch& b) {
  const size_t d = b.head_dim;
  if (d % 8 != 0 || d == 0) {
    ref::AttentionMultiQuery(b);
    return;
  }
  size_t max_ctx = 0;
  for (size_t i = 0; i < b.nq; ++i) max_ctx = MaxSize(max_ctx, b.n_ctx[i]);

  for (size_t j0 = 0; j0 < max_ctx; j0 += kKeyBlock) {
    const size_t j1 = MinSize(max_ctx, j0 + kKeyBlock);
    size_t i = 0;
    // Groups of four queries that all see the whole block share each key load.
    for (; i + 4 <= b.nq; i += 4) {
      const size_t limit = MinSize(MinSize(b.n_ctx[i], b.n_ctx[i + 1]),
                                   MinSize(b.n_ctx[i + 2], b.n_ctx[i + 3]));
      if (limit < j1) break;
      float* s0 = b.scores + i * b.score_stride;
      const size_t ss = b.score_stride;
      const __m128 vscale = _mm_set1_ps(b.scale);
      auto store = [&](size_t j, __m128 dots4) {
        alignas(16) float dots[4];
        _mm_store_ps(dots, _mm_mul_ps(dots4, vscale));
        s0[j] = dots[0];
        s0[ss + j] = dots[1];
        s0[2 * ss + j] = dots[2];
        s0[3 * ss + j] = dots[3];
      };
      size_t j = j0;
      for (; j + 2 <= j1; j += 2) {
        __m128 d0, d1;
        Dot4QueriesTwoKeys(b.q + i, b.k + j * b.kv_stride, b.k + (j + 1) * b.kv_stride, d, &d0,
                           &d1);
        store(j, d0);
        store(j + 1, d1);
      }
      if (j < j1) store(j, Dot4Queries(b.q + i, b.k + j * b.kv_stride, d));
    }
    for (; i < b.nq; ++i) {
      const size_t jend = MinSize(j1, b.n_ctx[i]);
      float* s = b.scores + i * b.score_stride;
      for (size_t j = j0; j < jend; ++j) s[j] = b.scale * DotMul8(b.q[i], b.k + j * b.kv_stride, d);
    }
  }

  for (size_t i = 0; i < b.nq; ++i) {
    SoftmaxAvx2(b.scores + i * b.score_stride, b.n_ctx[i]);
    for (size_t c = 0; c < d; c += 8) _mm256_storeu_ps(b.out[i] + c, _mm256_setzero_ps());
  }

  for (size_t j0 = 0; j0 < max_ctx; j0 += kKeyBlock) {
    const size_t j1 = MinSize(max_ctx, j0 + kKeyBlock);
    size_t i = 0;
    // Pairs of queries that both see the whole block share each value load.
    for (; i + 2 <= b.nq && MinSize(b.n_ctx[i], b.n_ctx[i + 1]) >= j1; i += 2) {
      AccumulateValuesPair(b.scores + i * b.score_stride, b.scores + (i + 1) * b.score_stride,
                           b.v, b.kv_stride, j0, j1, d, b.out[i], b.out[i + 1]);
    }
    for (; i < b.nq; ++i) {
      const size_t jend = MinSize(j1, b.n_ctx[i]);
      if (j0 < jend) {
        AccumulateValues(b.scores + i * b.score_stride, b.v, b.kv_stride, j0, jend, d, b.out[i]);
      }
    }
  }
}

}  // namespace

namespace detail {

void FillAvx2Ops(OpsKernels* k) {
  k->rms_norm = RmsNormAvx2;
  k->rope_apply = RopeApplyAvx2;
  k->softmax = SoftmaxAvx2;
  k->silu_mul = SiluMulAvx2;
  k->dot = DotAvx2;
  k->attention = AttentionAvx2;
}

}  // namespace detail
}  // namespace spatten::kernels::cpu

#endif  // x86-64
