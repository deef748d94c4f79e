// AVX-512 (F, BW, VL, VNNI) quantized dot products (see dispatch.h and
// kernels/ref/quant_dot.h for the formats and the arithmetic they must reproduce).
//
// Compiled with AVX-512 target flags; only reached through the table filled by
// FillAvx512Kernels, which dispatch.cpp calls after checking the CPU. Everything here except
// that function has internal linkage, and only headers without inline functions are included
// (see dispatch.h). Entries not set here (the activation quantizers) keep their AVX2 versions.
//
// Integer core: a 64-byte register holds two consecutive 32-value blocks, and vpdpbusd
// multiplies unsigned by signed bytes and adds each group of four products into an int32 lane
// exactly (no int16 stage, no saturation). Lanes 0..7 then belong to the first block and
// 8..15 to the second, so one FMA with [scale0 x 8, scale1 x 8] accumulates both.
// AVX-512 has no vpsignb: signed weights are made unsigned with vpabsb and their signs are
// moved onto the activation bytes with a masked subtract (the mask is shared by all columns).
// Activation quants are never -128 (see quant_dot.h), so negating them is exact.
#if defined(__x86_64__) || defined(_M_X64)

// GCC 12's AVX-512 intrinsics seed masked operations with deliberately uninitialized
// vectors, which its own -Wuninitialized then reports at every use (GCC PR 105593, fixed in
// GCC 13). The values never reach a result; silence the two warnings for the header only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/dispatch.h"

namespace spatten::kernels::cpu {
namespace {

#include "kernels/cpu/quant_dot_common.inc"  // block sizes, LoadU16/U32/F32, HalfAt
inline __m128i Load16B(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
inline __m256i Load32B(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
inline __m512i Load64B(const uint8_t* p) {
  return _mm512_loadu_si512(reinterpret_cast<const void*>(p));
}
// Two 32-byte pieces from anywhere -> one register (p0 in bytes 0..31).
inline __m512i LoadTwo32B(const uint8_t* p0, const uint8_t* p1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(Load32B(p0)), Load32B(p1), 1);
}

// Two 16-byte nibble arrays (blocks 0 and 1) -> 64 bytes in [0, 15] ordered as the values of
// the two blocks: [b0 low nibbles | b0 high | b1 low | b1 high] in 16-byte lanes.
inline __m512i UnpackNibblePair(const uint8_t* p0, const uint8_t* p1) {
  const __m256i packed =
      _mm256_inserti128_si256(_mm256_castsi128_si256(Load16B(p0)), Load16B(p1), 1);
  // lanes: [b0 low, b1 low, b0 high, b1 high] before the lane shuffle
  const __m512i t =
      _mm512_inserti64x4(_mm512_castsi256_si512(packed), _mm256_srli_epi16(packed, 4), 1);
  const __m512i ordered = _mm512_shuffle_i64x2(t, t, _MM_SHUFFLE(3, 1, 2, 0));
  return _mm512_and_si512(ordered, _mm512_set1_epi8(0x0F));
}

// Same for one block, in a 256-bit register (used for an odd last block).
inline __m256i UnpackNibbles(const uint8_t* p) {
  const __m128i packed = Load16B(p);
  const __m256i both =
      _mm256_inserti128_si256(_mm256_castsi128_si256(packed), _mm_srli_epi16(packed, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// fp16 values at p0 and p1 as floats in lanes 0 and 1.
inline __m128 HalfPair(const uint8_t* p0, const uint8_t* p1) {
  const uint32_t bits =
      static_cast<uint32_t>(LoadU16(p0)) | (static_cast<uint32_t>(LoadU16(p1)) << 16);
  return _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(bits)));
}
// The two leading fp16 fields of two blocks (d0, x0 at p0; d1, x1 at p1) -> [d0, x0, d1, x1].
inline __m128 HalfQuad(const uint8_t* p0, const uint8_t* p1) {
  const uint64_t bits =
      static_cast<uint64_t>(LoadU32(p0)) | (static_cast<uint64_t>(LoadU32(p1)) << 32);
  return _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(bits)));
}

// Lane 0 of v to floats 0..7 and lane `second` to floats 8..15.
template <int kSecond>
inline __m512 SpreadTwo(__m128 v) {
  const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, kSecond, kSecond, kSecond, kSecond,
                                        kSecond, kSecond, kSecond, kSecond);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(v));
}

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float HorizontalSum(__m512 v) {
  return HorizontalSum(_mm256_add_ps(
      _mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

// ---- 32-value block dot products: tiles of NR weight rows x NC activation rows -------------
//
// Blocks go in pairs (one 64-byte register). Per pair, each weight row's quants and scales are
// decoded once for all NC activations and each activation's once for all NR rows. A 1 x 1
// tile alternates two accumulators so that consecutive FMAs do not wait on each other. An odd
// last block goes through 256-bit registers. out is [NR][NC].

template <int kCount>
struct Accumulators {
  static constexpr int kSlots = kCount == 1 ? 2 : 1;
  __m512 acc[kCount][kSlots];
  __m256 tail[kCount];  // the odd last block, if any
  Accumulators() {
    for (auto& slots : acc) {
      for (auto& a : slots) a = _mm512_setzero_ps();
    }
    for (auto& t : tail) t = _mm256_setzero_ps();
  }
  float Sum(int i) const {
    __m512 s = acc[i][0];
    for (int k = 1; k < kSlots; ++k) s = _mm512_add_ps(s, acc[i][k]);
    return HorizontalSum(s) + HorizontalSum(tail[i]);
  }
};

// Q4_1 x Q8_1: dw*da*sum(q*qa) + mw*sa per block. Weight quants are unsigned: no sign work.
struct Q4_1Op {
  template <int NR, int NC>
  static void Run(size_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
                  float* out) {
    Accumulators<NR * NC> acc;
    __m128 mins[NR * NC];
    for (auto& m : mins) m = _mm_setzero_ps();
    const size_t nb = n / kQk;
    size_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      const int slot = static_cast<int>((b / 2) % Accumulators<NR * NC>::kSlots);
      __m512i qa[NC];
      __m128 a_ds[NC];  // da0, sa0, da1, sa1
      for (int c = 0; c < NC; ++c) {
        const uint8_t* ab = a + static_cast<size_t>(c) * a_stride + b * kQ8_1Bytes;
        qa[c] = LoadTwo32B(ab + 4, ab + kQ8_1Bytes + 4);
        a_ds[c] = HalfQuad(ab, ab + kQ8_1Bytes);
      }
      for (int r = 0; r < NR; ++r) {
        const uint8_t* wb = w + static_cast<size_t>(r) * w_stride + b * kQ4_1Bytes;
        const __m512i q = UnpackNibblePair(wb + 4, wb + kQ4_1Bytes + 4);
        const __m128 w_dm = HalfQuad(wb, wb + kQ4_1Bytes);  // dw0, mw0, dw1, mw1
        for (int c = 0; c < NC; ++c) {
          const int i = r * NC + c;
          const __m128 prod = _mm_mul_ps(w_dm, a_ds[c]);
          mins[i] = _mm_add_ps(mins[i], prod);  // lanes 1 and 3: mw*sa
          const __m512 dots =
              _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), q, qa[c]));
          acc.acc[i][slot] = _mm512_fmadd_ps(SpreadTwo<2>(prod), dots, acc.acc[i][slot]);
        }
      }
    }
    if (b < nb) {
      for (int r = 0; r < NR; ++r) {
        const uint8_t* wb = w + static_cast<size_t>(r) * w_stride + b * kQ4_1Bytes;
        const __m256i q = UnpackNibbles(wb + 4);
        for (int c = 0; c < NC; ++c) {
          const uint8_t* ab = a + static_cast<size_t>(c) * a_stride + b * kQ8_1Bytes;
          const __m256i dots = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, Load32B(ab + 4));
          const __m256 scaled =
              _mm256_mul_ps(_mm256_set1_ps(HalfAt(wb) * HalfAt(ab)), _mm256_cvtepi32_ps(dots));
          acc.tail[r * NC + c] = _mm256_add_ps(
              scaled, _mm256_setr_ps(HalfAt(wb + 2) * HalfAt(ab + 2), 0, 0, 0, 0, 0, 0, 0));
        }
      }
    }
    for (int i = 0; i < NR * NC; ++i) {
      const __m128 m = _mm_add_ps(mins[i], _mm_movehl_ps(mins[i], mins[i]));  // lane 1: both
      out[i] = acc.Sum(i) + _mm_cvtss_f32(_mm_movehdup_ps(m));
    }
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
    const __m512i zero = _mm512_setzero_si512();
    const size_t nb = n / kQk;
    size_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      const int slot = static_cast<int>((b / 2) % Accumulators<NR * NC>::kSlots);
      __m512i qa[NC];
      __m128 da[NC];  // da0, da1
      for (int c = 0; c < NC; ++c) {
        const uint8_t* ab = a + static_cast<size_t>(c) * a_stride + b * kQ8_0Bytes;
        qa[c] = LoadTwo32B(ab + 2, ab + kQ8_0Bytes + 2);
        da[c] = HalfPair(ab, ab + kQ8_0Bytes);
      }
      for (int r = 0; r < NR; ++r) {
        const uint8_t* wb = w + static_cast<size_t>(r) * w_stride + b * kWBytes;
        __m512i q;
        if constexpr (kNibbles) {
          q = _mm512_sub_epi8(UnpackNibblePair(wb + 2, wb + kWBytes + 2), _mm512_set1_epi8(8));
        } else {
          q = LoadTwo32B(wb + 2, wb + kWBytes + 2);
        }
        const __m512i q_abs = _mm512_abs_epi8(q);  // -128 becomes 0x80 = 128 unsigned: fine
        const __mmask64 negative = _mm512_movepi8_mask(q);
        const __m128 dw = HalfPair(wb, wb + kWBytes);
        for (int c = 0; c < NC; ++c) {
          const int i = r * NC + c;
          const __m512i qa_signed = _mm512_mask_sub_epi8(qa[c], negative, zero, qa[c]);
          const __m512 dots = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, q_abs, qa_signed));
          acc.acc[i][slot] =
              _mm512_fmadd_ps(SpreadTwo<1>(_mm_mul_ps(dw, da[c])), dots, acc.acc[i][slot]);
        }
      }
    }
    if (b < nb) {
      for (int r = 0; r < NR; ++r) {
        const uint8_t* wb = w + static_cast<size_t>(r) * w_stride + b * kWBytes;
        __m256i q;
        if constexpr (kNibbles) {
          q = _mm256_sub_epi8(UnpackNibbles(wb + 2), _mm256_set1_epi8(8));
        } else {
          q = Load32B(wb + 2);
        }
        const __m256i q_abs = _mm256_sign_epi8(q, q);
        for (int c = 0; c < NC; ++c) {
          const uint8_t* ab = a + static_cast<size_t>(c) * a_stride + b * kQ8_0Bytes;
          const __m256i qa_signed = _mm256_sign_epi8(Load32B(ab + 2), q);
          const __m256i dots = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q_abs, qa_signed);
          acc.tail[r * NC + c] =
              _mm256_mul_ps(_mm256_set1_ps(HalfAt(wb) * HalfAt(ab)), _mm256_cvtepi32_ps(dots));
        }
      }
    }
    for (int i = 0; i < NR * NC; ++i) out[i] = acc.Sum(i);
  }
};

// ---- K-quants (one column; more columns loop) ----------------------------------------------

// Index vectors for vpermw: spread int16 scales over 16-value (Q6_K) or 32-value (Q4_K)
// stretches of a 32 x int16 register.
alignas(64) constexpr int16_t kQ6Spread[4][32] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
     2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5,
     6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8,  8,  8,  8,  8,  8,  8,  8,  9,  9,  9,  9,  9,  9,  9,  9,
     10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13,
     14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};
// Q4_K: register j (j = 0..3) holds sub-blocks {0,2}, {1,3}, {4,6}, {5,7} in its two halves.
alignas(64) constexpr int16_t kQ4Spread[4][32] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
     2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
     3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
     6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6},
    {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
     7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7},
};

inline __m512i LoadIdx(const int16_t* p) {
  return _mm512_load_si512(reinterpret_cast<const void*>(p));
}

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

// Q4_K x Q8_K. vpmaddubsw (15 * 127 * 2 fits int16) then vpdpwssd with the sub-block scales.
float DotQ4_K(size_t n, const uint8_t* w, const uint8_t* a) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  __m512 acc = _mm512_setzero_ps();
  __m128 min_acc = _mm_setzero_ps();
  for (size_t b = 0; b < n / kQkK; ++b, w += kQ4_KBytes, a += kQ8_KBytes) {
    const __m256i sm16 = _mm256_cvtepu8_epi16(UnpackQ4KScalesMins(w + 4));  // 8 scales, 8 mins
    const __m128i min_terms = Q4KMinTerms(_mm256_extracti128_si256(sm16, 1), a + 4 + kQkK);
    const __m512i scales = _mm512_castsi256_si512(sm16);  // vpermw reads lanes 0..7 only
    const uint8_t* qs = w + 16;
    const uint8_t* aq = a + 4;
    __m512i isum = _mm512_setzero_si512();
    for (int j = 0; j < 2; ++j) {
      // qs[64j .. 64j+63]: low nibbles = sub-blocks 4j and 4j+2, high = 4j+1 and 4j+3.
      const __m512i bits = Load64B(qs + 64 * j);
      const __m512i lo = _mm512_and_si512(bits, low4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(bits, 4), low4);
      const uint8_t* a0 = aq + 128 * j;
      const __m512i p_lo = _mm512_maddubs_epi16(lo, LoadTwo32B(a0, a0 + 64));
      const __m512i p_hi = _mm512_maddubs_epi16(hi, LoadTwo32B(a0 + 32, a0 + 96));
      isum = _mm512_dpwssd_epi32(isum, p_lo,
                                 _mm512_permutexvar_epi16(LoadIdx(kQ4Spread[2 * j]), scales));
      isum = _mm512_dpwssd_epi32(isum, p_hi,
                                 _mm512_permutexvar_epi16(LoadIdx(kQ4Spread[2 * j + 1]), scales));
    }
    const float da = LoadF32(a);
    acc = _mm512_fmadd_ps(_mm512_set1_ps(da * HalfAt(w)), _mm512_cvtepi32_ps(isum), acc);
    min_acc = _mm_fmadd_ps(_mm_set1_ps(da * HalfAt(w + 2)), _mm_cvtepi32_ps(min_terms), min_acc);
  }
  min_acc = _mm_add_ps(min_acc, _mm_movehl_ps(min_acc, min_acc));
  min_acc = _mm_add_ss(min_acc, _mm_movehdup_ps(min_acc));
  return HorizontalSum(acc) - _mm_cvtss_f32(min_acc);
}

// Q6_K x Q8_K. Quants used unsigned (0..63); the -32 offset is applied through the group
// sums: sum(sc * (q - 32) * a) = sum(sc * q * a) - 32 * sum_g(sc_g * bsum_g).
float DotQ6_K(size_t n, const uint8_t* w, const uint8_t* a) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i bits45 = _mm512_set1_epi8(0x30);
  // Per 32-value half of a register: where bits 2k..2k+1 of qh must move to reach bits 4..5.
  const __m512i shl_lo = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
  const __m512i shr_hi = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
  __m512 acc = _mm512_setzero_ps();
  for (size_t b = 0; b < n / kQkK; ++b, w += kQ6_KBytes, a += kQ8_KBytes) {
    const uint8_t* ql = w;
    const uint8_t* qh = w + kQkK / 2;
    const __m256i sc16 = _mm256_cvtepi8_epi16(Load16B(w + kQkK / 2 + kQkK / 4));
    const __m512i scales = _mm512_castsi256_si512(sc16);
    const uint8_t* aq = a + 4;
    const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(Load32B(a + 4 + kQkK), sc16), 5);
    __m512i isum = _mm512_inserti64x4(_mm512_setzero_si512(),
                                      _mm256_sub_epi32(_mm256_setzero_si256(), corr), 0);
    for (int half = 0; half < 2; ++half) {
      // Low nibbles of ql[64h ..] are values 128h + 0..63, high nibbles 128h + 64..127.
      const __m512i l = Load64B(ql + 64 * half);
      const __m512i h = _mm512_broadcast_i64x4(Load32B(qh + 32 * half));
      const __m512i q_lo = _mm512_or_si512(_mm512_and_si512(l, low4),
                                           _mm512_and_si512(_mm512_sllv_epi16(h, shl_lo), bits45));
      const __m512i q_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4),
                                           _mm512_and_si512(_mm512_srlv_epi16(h, shr_hi), bits45));
      const __m512i p_lo = _mm512_maddubs_epi16(q_lo, Load64B(aq + 128 * half));
      const __m512i p_hi = _mm512_maddubs_epi16(q_hi, Load64B(aq + 128 * half + 64));
      isum = _mm512_dpwssd_epi32(isum, p_lo,
                                 _mm512_permutexvar_epi16(LoadIdx(kQ6Spread[2 * half]), scales));
      isum = _mm512_dpwssd_epi32(
          isum, p_hi, _mm512_permutexvar_epi16(LoadIdx(kQ6Spread[2 * half + 1]), scales));
    }
    const float d = LoadF32(a) * HalfAt(w + kQkK / 2 + kQkK / 4 + kQkK / 16);
    acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(isum), acc);
  }
  return HorizontalSum(acc);
}

// ---- entry points with the table's signatures ----------------------------------------------

#include "kernels/cpu/tile_kernels.inc"  // LoopOp, TileKernels (internal linkage here)

}  // namespace

namespace detail {

void FillAvx512Kernels(QuantDotKernels* k) {
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
