// Scalar reference dequantizers (see dequant.h). Block layouts follow ggml/GGUF: every
// multi-byte field is little-endian, d/m/dmin are IEEE binary16. Fields are read with memcpy
// so that blocks may sit at any byte offset (18-, 20-, 34- and 210-byte blocks are never
// aligned in a packed tensor).
#include "kernels/ref/dequant.h"

#include <bit>
#include <cstring>

namespace spatten::kernels::ref {
namespace {

// ---- raw field access --------------------------------------------------------------------

uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) {
    v = static_cast<uint16_t>((v << 8) | (v >> 8));
  }
  return v;
}

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) {
    v = ((v & 0x000000FFu) << 24) | ((v & 0x0000FF00u) << 8) | ((v & 0x00FF0000u) >> 8) |
        ((v & 0xFF000000u) >> 24);
  }
  return v;
}

float LoadHalf(const uint8_t* p) { return Fp16ToFp32(LoadU16(p)); }

// ---- block geometry ----------------------------------------------------------------------

constexpr size_t kQk = 32;    // elements per Q4_0 / Q4_1 / Q8_0 block
constexpr size_t kQkK = 256;  // elements per K-quant super-block

constexpr size_t kQ4_0Bytes = 2 + kQk / 2;                     // d, qs[16]
constexpr size_t kQ4_1Bytes = 2 + 2 + kQk / 2;                 // d, m, qs[16]
constexpr size_t kQ8_0Bytes = 2 + kQk;                         // d, qs[32]
constexpr size_t kQ4_KBytes = 2 + 2 + 12 + kQkK / 2;           // d, dmin, scales, qs
constexpr size_t kQ6_KBytes = kQkK / 2 + kQkK / 4 + kQkK / 16 + 2;  // ql, qh, scales, d

static_assert(kQ4_0Bytes == 18 && kQ4_1Bytes == 20 && kQ8_0Bytes == 34);
static_assert(kQ4_KBytes == 144 && kQ6_KBytes == 210);

// Q4_K packs eight 6-bit (scale, min) pairs into 12 bytes:
//   bytes 0..3  : low 6 bits = scale of sub-block 0..3, top 2 bits = scale bits 4..5 of 4..7
//   bytes 4..7  : low 6 bits = min   of sub-block 0..3, top 2 bits = min   bits 4..5 of 4..7
//   bytes 8..11 : low nibble = scale bits 0..3 of 4..7, high nibble = min bits 0..3 of 4..7
struct ScaleMin {
  uint8_t scale;
  uint8_t min;
};

ScaleMin UnpackQ4KScaleMin(const uint8_t* packed, int sub) {
  if (sub < 4) {
    return {static_cast<uint8_t>(packed[sub] & 0x3F), static_cast<uint8_t>(packed[sub + 4] & 0x3F)};
  }
  const int k = sub - 4;
  const uint8_t low = packed[8 + k];
  const uint8_t scale = static_cast<uint8_t>((low & 0x0F) | ((packed[k] >> 6) << 4));
  const uint8_t min = static_cast<uint8_t>((low >> 4) | ((packed[k + 4] >> 6) << 4));
  return {scale, min};
}

}  // namespace

// ---- scalar conversions ------------------------------------------------------------------

float Fp16ToFp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    // Infinity (mant == 0) or NaN: keep the payload, quiet bit included, in the top bits.
    bits = sign | 0x7F800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;  // +0 / -0
  } else {
    // Subnormal half: mant * 2^-24. Shift the leading 1 up to the implicit-bit position
    // (bit 10); each shift lowers the exponent by one, starting from that of 2^-14.
    int e = 127 - 14;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    bits = sign | (static_cast<uint32_t>(e) << 23) | ((mant & 0x3FFu) << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t Fp32ToFp16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7FFFFFFFu;

  if (abs >= 0x7F800000u) {
    if (abs == 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u);  // infinity
    // NaN: keep the top 10 payload bits; if they are all zero, set the quiet bit so that the
    // result is still a NaN and not an infinity.
    uint16_t payload = static_cast<uint16_t>((abs >> 13) & 0x3FFu);
    if (payload == 0) payload = 0x200u;
    return static_cast<uint16_t>(sign | 0x7C00u | payload);
  }

  const int exp32 = static_cast<int>(abs >> 23);  // biased, 0..254
  const int exp16 = exp32 - 127 + 15;             // biased half exponent if normal
  if (exp16 >= 0x1F) return static_cast<uint16_t>(sign | 0x7C00u);  // |f| >= 65536

  if (exp16 >= 1) {
    // Normal range: drop 13 mantissa bits with round-to-nearest-even. A carry out of the
    // mantissa correctly bumps the exponent (and 65520.. rounds up to infinity).
    uint32_t r = (static_cast<uint32_t>(exp16) << 10) | ((abs >> 13) & 0x3FFu);
    const uint32_t rem = abs & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }

  // Result is subnormal or zero: count units of 2^-24. With the implicit bit restored the
  // value is sig * 2^(exp32 - 150), i.e. sig >> (126 - exp32) units.
  const int shift = 126 - exp32;  // >= 14 here
  if (shift > 24) return sign;    // below half the smallest subnormal (f32 subnormals too)
  const uint32_t sig = (abs & 0x7FFFFFu) | 0x800000u;
  uint32_t r = sig >> shift;
  const uint32_t rem = sig & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (r & 1u))) ++r;  // may carry into the smallest normal
  return static_cast<uint16_t>(sign | r);
}

float Bf16ToFp32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

uint16_t Fp32ToBf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) {
    uint16_t hi = static_cast<uint16_t>(x >> 16);
    if ((hi & 0x7Fu) == 0) hi = static_cast<uint16_t>(hi | 0x40u);  // payload lost: quiet it
    return hi;
  }
  // Round to nearest even on the 16 dropped bits; overflow carries into infinity.
  const uint32_t rounded = x + 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(rounded >> 16);
}

// ---- plain float types -------------------------------------------------------------------

void DequantizeF32(const void* src, float* dst, size_t n) {
  const auto* p = static_cast<const uint8_t*>(src);
  for (size_t i = 0; i < n; ++i) dst[i] = std::bit_cast<float>(LoadU32(p + 4 * i));
}

void DequantizeF16(const void* src, float* dst, size_t n) {
  const auto* p = static_cast<const uint8_t*>(src);
  for (size_t i = 0; i < n; ++i) dst[i] = Fp16ToFp32(LoadU16(p + 2 * i));
}

void DequantizeBF16(const void* src, float* dst, size_t n) {
  const auto* p = static_cast<const uint8_t*>(src);
  for (size_t i = 0; i < n; ++i) dst[i] = Bf16ToFp32(LoadU16(p + 2 * i));
}

// ---- 32-element blocks -------------------------------------------------------------------

void DequantizeQ4_0(const void* src, float* dst, size_t n) {
  const auto* block = static_cast<const uint8_t*>(src);
  for (size_t b = 0; b < n / kQk; ++b, block += kQ4_0Bytes, dst += kQk) {
    const float d = LoadHalf(block);
    const uint8_t* qs = block + 2;
    for (size_t j = 0; j < kQk / 2; ++j) {
      const int lo = (qs[j] & 0x0F) - 8;
      const int hi = (qs[j] >> 4) - 8;
      dst[j] = static_cast<float>(lo) * d;
      dst[j + kQk / 2] = static_cast<float>(hi) * d;
    }
  }
}

void DequantizeQ4_1(const void* src, float* dst, size_t n) {
  const auto* block = static_cast<const uint8_t*>(src);
  for (size_t b = 0; b < n / kQk; ++b, block += kQ4_1Bytes, dst += kQk) {
    const float d = LoadHalf(block);
    const float m = LoadHalf(block + 2);
    const uint8_t* qs = block + 4;
    for (size_t j = 0; j < kQk / 2; ++j) {
      dst[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
      dst[j + kQk / 2] = static_cast<float>(qs[j] >> 4) * d + m;
    }
  }
}

void DequantizeQ8_0(const void* src, float* dst, size_t n) {
  const auto* block = static_cast<const uint8_t*>(src);
  for (size_t b = 0; b < n / kQk; ++b, block += kQ8_0Bytes, dst += kQk) {
    const float d = LoadHalf(block);
    const uint8_t* qs = block + 2;
    for (size_t j = 0; j < kQk; ++j) {
      dst[j] = static_cast<float>(static_cast<int8_t>(qs[j])) * d;
    }
  }
}

// ---- K-quants (256-element super-blocks) -------------------------------------------------

// Q4_K: d, dmin, scales[12], qs[128]. The 256 outputs form four groups of 64; group g reads
// qs[32g .. 32g+31]: the low nibbles give sub-block 2g (outputs 64g .. 64g+31) and the high
// nibbles sub-block 2g+1 (outputs 64g+32 .. 64g+63). y = (d * scale) * q - (dmin * min).
void DequantizeQ4_K(const void* src, float* dst, size_t n) {
  const auto* block = static_cast<const uint8_t*>(src);
  for (size_t b = 0; b < n / kQkK; ++b, block += kQ4_KBytes) {
    const float d = LoadHalf(block);
    const float dmin = LoadHalf(block + 2);
    const uint8_t* packed = block + 4;
    const uint8_t* qs = block + 16;
    for (int group = 0; group < 4; ++group, qs += 32) {
      const ScaleMin lo_sm = UnpackQ4KScaleMin(packed, 2 * group);
      const ScaleMin hi_sm = UnpackQ4KScaleMin(packed, 2 * group + 1);
      const float lo_scale = d * static_cast<float>(lo_sm.scale);
      const float lo_min = dmin * static_cast<float>(lo_sm.min);
      const float hi_scale = d * static_cast<float>(hi_sm.scale);
      const float hi_min = dmin * static_cast<float>(hi_sm.min);
      for (int l = 0; l < 32; ++l) {
        dst[l] = lo_scale * static_cast<float>(qs[l] & 0x0F) - lo_min;
        dst[l + 32] = hi_scale * static_cast<float>(qs[l] >> 4) - hi_min;
      }
      dst += 64;
    }
  }
}

// Q6_K: ql[128], qh[64], int8 scales[16], d. Two halves of 128 outputs; half h uses
// ql[64h ..], qh[32h ..] and scales[8h ..]. Within a half, output r = 32k + l (k = 0..3,
// l = 0..31) takes its low 4 bits from ql[l + 32 * (k & 1)] (low nibble for k < 2, high
// nibble otherwise) and its top 2 bits from bits 2k..2k+1 of qh[l]; the 6-bit value is
// offset by -32 and scaled by (d * scales[r / 16]).
void DequantizeQ6_K(const void* src, float* dst, size_t n) {
  const auto* block = static_cast<const uint8_t*>(src);
  for (size_t b = 0; b < n / kQkK; ++b, block += kQ6_KBytes) {
    const uint8_t* ql = block;
    const uint8_t* qh = block + kQkK / 2;
    const uint8_t* scales = block + kQkK / 2 + kQkK / 4;
    const float d = LoadHalf(block + kQkK / 2 + kQkK / 4 + kQkK / 16);
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, scales += 8, dst += 128) {
      for (int k = 0; k < 4; ++k) {
        const uint8_t* low_src = ql + 32 * (k & 1);
        const int nibble_shift = (k < 2) ? 0 : 4;
        const int high_shift = 2 * k;
        for (int l = 0; l < 32; ++l) {
          const int low = (low_src[l] >> nibble_shift) & 0x0F;
          const int high = (qh[l] >> high_shift) & 0x03;
          const int q = (low | (high << 4)) - 32;
          const int r = 32 * k + l;
          const float scale = d * static_cast<float>(static_cast<int8_t>(scales[r / 16]));
          dst[r] = scale * static_cast<float>(q);
        }
      }
    }
  }
}

// ---- dispatcher --------------------------------------------------------------------------

bool Dequantize(QuantType type, const void* src, float* dst, size_t n) {
  using Fn = void (*)(const void*, float*, size_t);
  Fn fn = nullptr;
  size_t block = 1;
  switch (type) {
    case QuantType::kF32: fn = DequantizeF32; break;
    case QuantType::kF16: fn = DequantizeF16; break;
    case QuantType::kBF16: fn = DequantizeBF16; break;
    case QuantType::kQ4_0: fn = DequantizeQ4_0; block = kQk; break;
    case QuantType::kQ4_1: fn = DequantizeQ4_1; block = kQk; break;
    case QuantType::kQ8_0: fn = DequantizeQ8_0; block = kQk; break;
    case QuantType::kQ4_K: fn = DequantizeQ4_K; block = kQkK; break;
    case QuantType::kQ6_K: fn = DequantizeQ6_K; block = kQkK; break;
    case QuantType::kQ8_1: break;  // activation-only format: no weight dequantizer
  }
  if (fn == nullptr || n % block != 0) return false;
  fn(src, dst, n);
  return true;
}

}  // namespace spatten::kernels::ref
