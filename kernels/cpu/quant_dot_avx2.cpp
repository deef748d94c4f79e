// AVX2 + FMA + F16C quantized dot products and activation quantizers (see dispatch.h and
// kernels/ref/quant_dot.h for the formats and the arithmetic they must reproduce).
//
// Compiled with -mavx2 -mfma -mf16c; only reached through the table filled by
// FillAvx2Kernels, which dispatch.cpp calls after checking the CPU. Everything here except
// that function has internal linkage, and only headers without inline functions are included
// (see dispatch.h), so no AVX2 code can leak into the baseline build.
//
// Integer core: one 32-byte vector holds one 32-value block. vpmaddubsw multiplies unsigned
// by signed bytes and adds adjacent pairs into int16 (it saturates, but never here: the
// unsigned side is at most 128 and the activation side at most 127 in magnitude, so a pair is
// at most 2 * 128 * 127 = 32512); vpmaddwd with ones (or with scales) widens to int32.
// Signed x signed products use the sign trick: |w| * (a with w's sign moved onto it).
#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/dispatch.h"

namespace spatten::kernels::cpu {
namespace {

#include "kernels/cpu/quant_dot_common.inc"  // block sizes, LoadU16/U32/F32, HalfAt
// f32 -> fp16 bits, round to nearest even (as ref::Fp32ToFp16).
inline uint16_t ToHalfBits(float f) {
  const __m128i h = _mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT);
  return static_cast<uint16_t>(_mm_cvtsi128_si32(h) & 0xFFFF);
}
inline __m256i Load32B(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
inline __m128i Load16B(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// Both fp16 fields that open a Q4_1 / Q8_1 block (d and m, or d and s) as floats in lanes 0, 1.
inline __m128 HalfPairAt(const uint8_t* p) {
  return _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(LoadU32(p))));
}

// 16 bytes of packed nibbles -> 32 bytes in [0, 15]: low nibbles in bytes 0..15 and high
// nibbles in bytes 16..31, which is the value order of Q4_0 / Q4_1 blocks.
inline __m256i UnpackNibbles(const uint8_t* p) {
  const __m128i packed = Load16B(p);
  const __m256i both =
      _mm256_inserti128_si256(_mm256_castsi128_si256(packed), _mm_srli_epi16(packed, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Sum of u[i] * s[i] (u unsigned, s signed bytes) over each group of 4 bytes -> 8 x int32.
inline __m256i DotGroupsU8S8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int HorizontalSumI32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// ---- activation quantizers (bit-exact with ref::QuantizeRowQ8_0 / Q8_1) -------------------

// Quantizes 32 floats into qs; stores fp16 d at d_out; returns the f32 scale and writes the
// sum of the quants to *sum.
inline float QuantizeBlock32(const float* x, uint8_t* d_out, uint8_t* qs, int* sum) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 v[4];
  __m256 amax8 = _mm256_setzero_ps();
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_loadu_ps(x + 8 * i);
    amax8 = _mm256_max_ps(amax8, _mm256_andnot_ps(sign, v[i]));
  }
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax8), _mm256_extractf128_ps(amax8, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const float amax = _mm_cvtss_f32(m4);
  const float d = amax / 127.0f;
  const uint16_t d16 = ToHalfBits(d);
  std::memcpy(d_out, &d16, sizeof(d16));
  if ((d16 & 0x7FFF) == 0) {
    std::memset(qs, 0, kQk);
    *sum = 0;
    return d;
  }
  const __m256 id = _mm256_set1_ps(127.0f / amax);
  __m256i q[4];
  for (int i = 0; i < 4; ++i) {
    const __m256 r =
        _mm256_round_ps(_mm256_mul_ps(v[i], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q[i] = _mm256_cvtps_epi32(r);
  }
  *sum = HorizontalSumI32(
      _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
  // Packing works per 128-bit lane; the dword permute puts the 32 bytes back in order.
  const __m256i w01 = _mm256_packs_epi32(q[0], q[1]);
  const __m256i w23 = _mm256_packs_epi32(q[2], q[3]);
  const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23),
                                                    _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), bytes);
  return d;
}

void QuantizeRowQ8_0(const float* x, void* y, size_t n) {
  auto* block = static_cast<uint8_t*>(y);
  int sum;
  for (size_t b = 0; b < n / kQk; ++b, x += kQk, block += kQ8_0Bytes) {
    QuantizeBlock32(x, block, block + 2, &sum);
  }
}

void QuantizeRowQ8_1(const float* x, void* y, size_t n) {
  auto* block = static_cast<uint8_t*>(y);
  int sum;
  for (size_t b = 0; b < n / kQk; ++b, x += kQk, block += kQ8_1Bytes) {
    const float d = QuantizeBlock32(x, block, block + 4, &sum);
    const uint16_t s16 = ToHalfBits(d * static_cast<float>(sum));
    std::memcpy(block + 2, &s16, sizeof(s16));
  }
}

// ---- 32-value block dot products: tiles of NR weight rows x NC activation rows -------------
//
// Per block, each weight row's quants and scales are decoded once for all NC activations and
// each activation's once for all NR rows. With a 1 x 1 tile, two accumulators alternate so
// that consecutive blocks' FMAs do not wait on each other. out is [NR][NC].

template <int kCount>
struct Accumulators {
  static constexpr int kSlots = kCount == 1 ? 2 : 1;
  __m256 acc[kCount][kSlots];
  Accumulators() {
    for (auto& slots : acc) {
      for (auto& a : slots) a = _mm256_setzero_ps();
    }
  }
  float Sum(int i) const {
    __m256 s = acc[i][0];
    for (int k = 1; k < kSlots; ++k) s = _mm256_add_ps(s, acc[i][k]);
    return HorizontalSum(s);
  }
};

// Q4_1 x Q8_1: dw*da*sum(q*qa) + mw*sa per block.
struct Q4_1Op {
  template <int NR, int NC>
  static void Run(size_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
                  float* out) {
    Accumulators<NR * NC> acc;
    __m128 mins[NR * NC];
    for (auto& m : mins) m = _mm_setzero_ps();
    const size_t nb = n / kQk;
    for (size_t b = 0; b < nb; ++b) {
      const int slot = static_cast<int>(b % Accumulators<NR * NC>::kSlots);
      __m256i qa[NC];
      __m128 a_ds[NC];  // da, sa
      for (int c = 0; c < NC; ++c) {
        const uint8_t* ab = a + static_cast<size_t>(c) * a_stride + b * kQ8_1Bytes;
        qa[c] = Load32B(ab + 4);
        a_ds[c] = HalfPairAt(ab);
      }
      for (int r = 0; r < NR; ++r) {
        const uint8_t* wb = w + static_cast<size_t>(r) * w_stride + b * kQ4_1Bytes;
        const __m256i q = UnpackNibbles(wb + 4);
        const __m128 w_dm = HalfPairAt(wb);  // dw, mw
        for (int c = 0; c < NC; ++c) {
          const int i = r * NC + c;
          const __m128 prod = _mm_mul_ps(w_dm, a_ds[c]);  // dw*da, mw*sa
          mins[i] = _mm_add_ps(mins[i], prod);
          const __m256 dots = _mm256_cvtepi32_ps(DotGroupsU8S8(q, qa[c]));
          acc.acc[i][slot] = _mm256_fmadd_ps(_mm256_broadcastss_ps(prod), dots, acc.acc[i][slot]);
        }
      }
    }
    for (int i = 0; i < NR * NC; ++i) out[i] = acc.Sum(i) + _mm_cvtss_f32(_mm_movehdup_ps(mins[i]));
  }
};

// Signed weight bytes (q8_0, or q4_0 re-centred to [-8, 7]) x Q8_0 activations.
template <bool kNibbles>
struct SignedOp {
  template <int NR, int NC>
  static void Run(size_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
                  float* out) {
    constexpr size_t kWBytes = kNibbles ? kQ4_0Bytes : kQ8_0Bytes;
    Accumulators<NR * NC> acc;
    const size_t nb = n / kQk;
    for (size_t b = 0; b < nb; ++b) {
      const int slot = static_cast<int>(b % Accumulators<NR * NC>::kSlots);
      __m256i qa[NC];
      float da[NC];
      for (int c = 0; c < NC; ++c) {
        const uint8_t* ab = a + static_cast<size_t>(c) * a_stride + b * kQ8_0Bytes;
        qa[c] = Load32B(ab + 2);
        da[c] = HalfAt(ab);
      }
      for (int r = 0; r < NR; ++r) {
        const uint8_t* wb = w + static_cast<size_t>(r) * w_stride + b * kWBytes;
        __m256i q;
        if constexpr (kNibbles) {
          q = _mm256_sub_epi8(UnpackNibbles(wb + 2), _mm256_set1_epi8(8));
        } else {
          q = Load32B(wb + 2);
        }
        const __m256i q_abs = _mm256_sign_epi8(q, q);  // -128 becomes 0x80 = 128 unsigned: fine
        const float dw = HalfAt(wb);
        for (int c = 0; c < NC; ++c) {
          const int i = r * NC + c;
          const __m256i a_signed = _mm256_sign_epi8(qa[c], q);
          const __m256 dots = _mm256_cvtepi32_ps(DotGroupsU8S8(q_abs, a_signed));
          acc.acc[i][slot] = _mm256_fmadd_ps(_mm256_set1_ps(dw * da[c]), dots, acc.acc[i][slot]);
        }
      }
    }
    for (int i = 0; i < NR * NC; ++i) out[i] = acc.Sum(i);
  }
};

// ---- K-quants (one column; more columns loop) ----------------------------------------------

// Q4_K's 12 packed bytes -> eight 6-bit scales (bytes 0..7) and eight 6-bit mins (bytes
// 8..15). Layout (see kernels/ref/dequant.cpp): bytes 0..3 / 4..7 hold scales / mins 0..3 in
// their low 6 bits and bits 4..5 of scales / mins 4..7 in their top 2 bits; bytes 8..11 hold
// bits 0..3 of scales 4..7 (low nibbles) and of mins 4..7 (high nibbles). Worked on 4 bytes at
// once in 32-bit words.
inline __m128i UnpackQ4KScalesMins(const uint8_t* packed) {
  const uint32_t lo_sc = LoadU32(packed);
  const uint32_t lo_mn = LoadU32(packed + 4);
  const uint32_t nibbles = LoadU32(packed + 8);
  const uint32_t scales_0_3 = lo_sc & 0x3F3F3F3Fu;
  const uint32_t mins_0_3 = lo_mn & 0x3F3F3F3Fu;
  const uint32_t scales_4_7 = (nibbles & 0x0F0F0F0Fu) | (((lo_sc >> 6) & 0x03030303u) << 4);
  const uint32_t mins_4_7 = ((nibbles >> 4) & 0x0F0F0F0Fu) | (((lo_mn >> 6) & 0x03030303u) << 4);
  return _mm_setr_epi32(static_cast<int>(scales_0_3), static_cast<int>(scales_4_7),
                        static_cast<int>(mins_0_3), static_cast<int>(mins_4_7));
}

// sum over the eight sub-blocks of min_s * (bsum[2s] + bsum[2s+1]), as 4 int32 partial sums.
inline __m128i Q4KMinTerms(__m128i mins16, const uint8_t* bsums) {
  const __m128i pair_sums = _mm_hadd_epi16(Load16B(bsums), Load16B(bsums + 16));  // <= 4064
  return _mm_madd_epi16(mins16, pair_sums);
}

// Q4_K x Q8_K. Each 32-byte slice of qs holds two 32-value sub-blocks (low / high nibbles).
float DotQ4_K(size_t n, const uint8_t* w, const uint8_t* a) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  __m128 min_acc = _mm_setzero_ps();
  for (size_t b = 0; b < n / kQkK; ++b, w += kQ4_KBytes, a += kQ8_KBytes) {
    const __m256i sm16 = _mm256_cvtepu8_epi16(UnpackQ4KScalesMins(w + 4));  // 8 scales, 8 mins
    const __m128i min_terms = Q4KMinTerms(_mm256_extracti128_si256(sm16, 1), a + 4 + kQkK);
    // The 8 scales in both 128-bit lanes, for per-sub-block broadcasts with vpshufb.
    const __m256i scales = _mm256_permute4x64_epi64(sm16, 0x44);
    const uint8_t* qs = w + 16;
    const uint8_t* aq = a + 4;
    __m256i isum = _mm256_setzero_si256();
    for (int g = 0; g < 4; ++g) {
      const __m256i bits = Load32B(qs + 32 * g);
      const __m256i lo = _mm256_and_si256(bits, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), low4);
      const __m256i p_lo = _mm256_maddubs_epi16(lo, Load32B(aq + 64 * g));
      const __m256i p_hi = _mm256_maddubs_epi16(hi, Load32B(aq + 64 * g + 32));
      // pshufb control selecting int16 number s: bytes 2s, 2s + 1 repeated.
      const __m256i pick_lo = _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * g)));
      const __m256i pick_hi =
          _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * g + 1)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p_lo, _mm256_shuffle_epi8(scales, pick_lo)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p_hi, _mm256_shuffle_epi8(scales, pick_hi)));
    }
    const float da = LoadF32(a);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(da * HalfAt(w)), _mm256_cvtepi32_ps(isum), acc);
    min_acc = _mm_fmadd_ps(_mm_set1_ps(da * HalfAt(w + 2)), _mm_cvtepi32_ps(min_terms), min_acc);
  }
  min_acc = _mm_add_ps(min_acc, _mm_movehl_ps(min_acc, min_acc));
  min_acc = _mm_add_ss(min_acc, _mm_movehdup_ps(min_acc));
  return HorizontalSum(acc) - _mm_cvtss_f32(min_acc);
}

// pshufb controls that spread int16 scale k (bytes 2k, 2k+1 of a 128-bit lane) over a lane:
// entry m puts scale 2m of the lane's 8 in the low lane and scale 2m + 1 in the high lane.
alignas(32) constexpr uint8_t kScalePairShuffle[4][32] = {
    {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
     2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3},
    {4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5,
     6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7},
    {8,  9,  8,  9,  8,  9,  8,  9,  8,  9,  8,  9,  8,  9,  8,  9,
     10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11},
    {12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13,
     14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15},
};

// Q6_K x Q8_K. The 6-bit quants are used unsigned (0..63) and the -32 offset is applied once
// per super-block through the activation group sums: sum(sc * (q - 32) * a) =
// sum(sc * q * a) - 32 * sum_g(sc_g * bsum_g).
float DotQ6_K(size_t n, const uint8_t* w, const uint8_t* a) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i bits45 = _mm256_set1_epi8(0x30);
  __m256 acc = _mm256_setzero_ps();
  for (size_t b = 0; b < n / kQkK; ++b, w += kQ6_KBytes, a += kQ8_KBytes) {
    const uint8_t* ql = w;
    const uint8_t* qh = w + kQkK / 2;
    const __m128i sc8 = Load16B(w + kQkK / 2 + kQkK / 4);
    const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);  // 16 int16 scales
    const uint8_t* aq = a + 4;
    const __m256i bsums = Load32B(a + 4 + kQkK);
    // 32 * sum_g sc_g * bsum_g, spread over 8 lanes.
    __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(),
                                    _mm256_slli_epi32(_mm256_madd_epi16(bsums, sc16), 5));
    // Scales of each half (8 of them), copied into both 128-bit lanes.
    const __m256i sc_halves[2] = {_mm256_permute4x64_epi64(sc16, 0x44),
                                  _mm256_permute4x64_epi64(sc16, 0xEE)};
    for (int half = 0; half < 2; ++half) {
      const __m256i sc_half = sc_halves[half];
      const __m256i l0 = Load32B(ql + 64 * half);
      const __m256i l1 = Load32B(ql + 64 * half + 32);
      const __m256i h = Load32B(qh + 32 * half);
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(l0, low4),
                             _mm256_and_si256(_mm256_slli_epi16(h, 4), bits45));
      q[1] = _mm256_or_si256(_mm256_and_si256(l1, low4),
                             _mm256_and_si256(_mm256_slli_epi16(h, 2), bits45));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                             _mm256_and_si256(h, bits45));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                             _mm256_and_si256(_mm256_srli_epi16(h, 2), bits45));
      for (int k = 0; k < 4; ++k) {
        // Values 128*half + 32k .. +31: scale groups 8*half + 2k (low lane) and + 1 (high).
        const __m256i p = _mm256_maddubs_epi16(q[k], Load32B(aq + 128 * half + 32 * k));
        const __m256i sc = _mm256_shuffle_epi8(sc_half, Load32B(kScalePairShuffle[k]));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, sc));
      }
    }
    const float d = LoadF32(a) * HalfAt(w + kQkK / 2 + kQkK / 4 + kQkK / 16);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
  }
  return HorizontalSum(acc);
}

// ---- entry points with the table's signatures ----------------------------------------------

#include "kernels/cpu/tile_kernels.inc"  // LoopOp, TileKernels (internal linkage here)

}  // namespace

namespace detail {

void FillAvx2Kernels(QuantDotKernels* k) {
  k->quantize_q8_0 = QuantizeRowQ8_0;
  k->quantize_q8_1 = QuantizeRowQ8_1;
  // Q8_K stays scalar: it is O(n) per activation row and llama.cpp's x86 build uses the
  // scalar reference too.
  // Tile rows for the GEMV / GEMM helpers: see WeightDotKernels::tile_rows.
  k->q4_0 = TileKernels<SignedOp<true>>::Entry(ActFormat::kQ8_0, 2);
  k->q4_1 = TileKernels<Q4_1Op>::Entry(ActFormat::kQ8_1, 2);
  k->q8_0 = TileKernels<SignedOp<false>>::Entry(ActFormat::kQ8_0, 1);
  k->q4_K = TileKernels<LoopOp<DotQ4_K>>::Entry(ActFormat::kQ8_K, 1);
  k->q6_K = TileKernels<LoopOp<DotQ6_K>>::Entry(ActFormat::kQ8_K, 1);
}

}  // namespace detail
}  // namespace spatten::kernels::cpu

#endif  // x86
