// Scalar references for quantized dot products (see quant_dot.h). Written for clarity, not
// speed: every block is decoded field by field through memcpy, integer partial sums are
// exact, and the float accumulation runs block by block in order.
#include "kernels/ref/quant_dot.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "kernels/ref/dequant.h"

namespace spatten::kernels {
namespace {

constexpr size_t kQk = 32;    // values per Q4_0 / Q4_1 / Q8_0 / Q8_1 block
constexpr size_t kQkK = 256;  // values per K-quant super-block

constexpr size_t kQ8_0Bytes = 2 + kQk;                     // d, qs[32]
constexpr size_t kQ8_1Bytes = 2 + 2 + kQk;                 // d, s, qs[32]
constexpr size_t kQ8_KBytes = 4 + kQkK + 2 * (kQkK / 16);  // d, qs[256], bsums[16]
constexpr size_t kQ4_0Bytes = 2 + kQk / 2;
constexpr size_t kQ4_1Bytes = 2 + 2 + kQk / 2;
constexpr size_t kQ4_KBytes = 2 + 2 + 12 + kQkK / 2;
constexpr size_t kQ6_KBytes = kQkK / 2 + kQkK / 4 + kQkK / 16 + 2;
static_assert(kQ8_0Bytes == 34 && kQ8_1Bytes == 36 && kQ8_KBytes == 292);

uint16_t LoadU16(const uint8_t* p) {
  // Little-endian regardless of the host: assemble from bytes.
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
void StoreU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}
float LoadHalf(const uint8_t* p) { return ref::Fp16ToFp32(LoadU16(p)); }
void StoreHalf(uint8_t* p, float f) { StoreU16(p, ref::Fp32ToFp16(f)); }

float LoadF32(const uint8_t* p) {
  const uint32_t bits = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                        (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
  return std::bit_cast<float>(bits);
}
void StoreF32(uint8_t* p, float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(bits >> (8 * i));
}

int8_t QuantAt(const uint8_t* p, size_t i) { return static_cast<int8_t>(p[i]); }

// Round half to even, independent of the floating-point environment, saturated to
// [lo, hi]. NaN gives 0.
int RoundEvenClamped(float v, int lo, int hi) {
  if (!(v == v)) return 0;
  if (v <= static_cast<float>(lo)) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  const float fl = std::floor(v);
  const float frac = v - fl;  // exact: |v| is small here
  int r = static_cast<int>(fl);
  if (frac > 0.5f || (frac == 0.5f && (r & 1) != 0)) ++r;
  return r;
}

// Shared body of the Q8_0 / Q8_1 activation quantizers: writes fp16 d at block[0..1] and the
// 32 quants at qs; returns the f32 scale and the sum of the quants.
struct Block32Result {
  float d;
  int sum;
};

Block32Result QuantizeBlock32(const float* x, uint8_t* block, uint8_t* qs) {
  float amax = 0.0f;
  for (size_t j = 0; j < kQk; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const uint16_t d16 = ref::Fp32ToFp16(d);
  StoreU16(block, d16);
  if ((d16 & 0x7FFF) == 0) {  // the scale itself is zero: nothing survives
    std::memset(qs, 0, kQk);
    return {d, 0};
  }
  const float id = 127.0f / amax;
  int sum = 0;
  for (size_t j = 0; j < kQk; ++j) {
    const int q = RoundEvenClamped(x[j] * id, -127, 127);
    qs[j] = static_cast<uint8_t>(static_cast<int8_t>(q));
    sum += q;
  }
  return {d, sum};
}

// Q4_K: eight 6-bit scales and eight 6-bit mins packed in 12 bytes (layout in dequant.cpp).
void UnpackQ4KScales(const uint8_t* packed, int scale[8], int min[8]) {
  for (int s = 0; s < 4; ++s) {
    scale[s] = packed[s] & 0x3F;
    min[s] = packed[s + 4] & 0x3F;
  }
  for (int s = 4; s < 8; ++s) {
    const int low = packed[s + 4];
    scale[s] = (low & 0x0F) | ((packed[s - 4] >> 6) << 4);
    min[s] = (low >> 4) | ((packed[s] >> 6) << 4);
  }
}

}  // namespace

// ---- activation format geometry ------------------------------------------------------------

ActFormat ActFormatFor(QuantType weight_type) {
  switch (weight_type) {
    case QuantType::kQ4_0:
    case QuantType::kQ8_0: return ActFormat::kQ8_0;
    case QuantType::kQ4_1: return ActFormat::kQ8_1;
    case QuantType::kQ4_K:
    case QuantType::kQ6_K: return ActFormat::kQ8_K;
    case QuantType::kF32:
    case QuantType::kF16:
    case QuantType::kBF16:
    case QuantType::kQ8_1: break;
  }
  return ActFormat::kNone;
}

const char* ActFormatName(ActFormat fmt) {
  switch (fmt) {
    case ActFormat::kQ8_0: return "q8_0";
    case ActFormat::kQ8_1: return "q8_1";
    case ActFormat::kQ8_K: return "q8_K";
    case ActFormat::kNone: break;
  }
  return "none";
}

size_t ActBlockElems(ActFormat fmt) {
  switch (fmt) {
    case ActFormat::kQ8_0:
    case ActFormat::kQ8_1: return kQk;
    case ActFormat::kQ8_K: return kQkK;
    case ActFormat::kNone: break;
  }
  return 0;
}

size_t ActBlockBytes(ActFormat fmt) {
  switch (fmt) {
    case ActFormat::kQ8_0: return kQ8_0Bytes;
    case ActFormat::kQ8_1: return kQ8_1Bytes;
    case ActFormat::kQ8_K: return kQ8_KBytes;
    case ActFormat::kNone: break;
  }
  return 0;
}

size_t ActRowBytes(ActFormat fmt, size_t n) {
  const size_t elems = ActBlockElems(fmt);
  return elems == 0 ? 0 : n / elems * ActBlockBytes(fmt);
}

namespace ref {

// ---- activation quantizers -----------------------------------------------------------------

void QuantizeRowQ8_0(const float* x, void* y, size_t n) {
  auto* block = static_cast<uint8_t*>(y);
  for (size_t b = 0; b < n / kQk; ++b, x += kQk, block += kQ8_0Bytes) {
    QuantizeBlock32(x, block, block + 2);
  }
}

void QuantizeRowQ8_1(const float* x, void* y, size_t n) {
  auto* block = static_cast<uint8_t*>(y);
  for (size_t b = 0; b < n / kQk; ++b, x += kQk, block += kQ8_1Bytes) {
    const Block32Result r = QuantizeBlock32(x, block, block + 4);
    // s is formed from the f32 scale, before its rounding to fp16 (as llama.cpp does).
    StoreHalf(block + 2, r.d * static_cast<float>(r.sum));
  }
}

void QuantizeRowQ8_K(const float* x, void* y, size_t n) {
  auto* block = static_cast<uint8_t*>(y);
  for (size_t b = 0; b < n / kQkK; ++b, x += kQkK, block += kQ8_KBytes) {
    // The value of largest magnitude, first one on ties, keeping its sign.
    float amax = 0.0f;
    float max = 0.0f;
    for (size_t j = 0; j < kQkK; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    const float iscale = amax == 0.0f ? 0.0f : -127.0f / max;
    uint8_t* qs = block + 4;
    uint8_t* bsums = block + 4 + kQkK;
    if (!std::isfinite(iscale) || iscale == 0.0f) {
      std::memset(block, 0, kQ8_KBytes);  // d = +0, all quants and sums zero
      continue;
    }
    for (size_t j = 0; j < kQkK; ++j) {
      const int q = RoundEvenClamped(iscale * x[j], -128, 127);
      qs[j] = static_cast<uint8_t>(static_cast<int8_t>(q));
    }
    for (size_t g = 0; g < kQkK / 16; ++g) {
      int sum = 0;
      for (size_t j = 0; j < 16; ++j) sum += QuantAt(qs, 16 * g + j);
      StoreU16(bsums + 2 * g, static_cast<uint16_t>(static_cast<int16_t>(sum)));
    }
    StoreF32(block, 1.0f / iscale);
  }
}

bool QuantizeRow(ActFormat fmt, const float* x, void* y, size_t n) {
  const size_t elems = ActBlockElems(fmt);
  if (elems == 0 || n % elems != 0) return false;
  switch (fmt) {
    case ActFormat::kQ8_0: QuantizeRowQ8_0(x, y, n); break;
    case ActFormat::kQ8_1: QuantizeRowQ8_1(x, y, n); break;
    case ActFormat::kQ8_K: QuantizeRowQ8_K(x, y, n); break;
    case ActFormat::kNone: return false;
  }
  return true;
}

// ---- dot products --------------------------------------------------------------------------

float VecDotQ4_0(size_t n, const void* w_row, const void* a_row) {
  const auto* w = static_cast<const uint8_t*>(w_row);
  const auto* a = static_cast<const uint8_t*>(a_row);
  float sum = 0.0f;
  for (size_t b = 0; b < n / kQk; ++b, w += kQ4_0Bytes, a += kQ8_0Bytes) {
    const uint8_t* wq = w + 2;
    const uint8_t* aq = a + 2;
    int isum = 0;
    for (size_t j = 0; j < kQk / 2; ++j) {
      isum += ((wq[j] & 0x0F) - 8) * QuantAt(aq, j);
      isum += ((wq[j] >> 4) - 8) * QuantAt(aq, j + kQk / 2);
    }
    sum += (LoadHalf(w) * LoadHalf(a)) * static_cast<float>(isum);
  }
  return sum;
}

float VecDotQ4_1(size_t n, const void* w_row, const void* a_row) {
  const auto* w = static_cast<const uint8_t*>(w_row);
  const auto* a = static_cast<const uint8_t*>(a_row);
  float sum = 0.0f;
  for (size_t b = 0; b < n / kQk; ++b, w += kQ4_1Bytes, a += kQ8_1Bytes) {
    const uint8_t* wq = w + 4;
    const uint8_t* aq = a + 4;
    int isum = 0;
    for (size_t j = 0; j < kQk / 2; ++j) {
      isum += (wq[j] & 0x0F) * QuantAt(aq, j);
      isum += (wq[j] >> 4) * QuantAt(aq, j + kQk / 2);
    }
    // The min term: sum_j m * (da * qa_j) = m * s.
    sum +=
        (LoadHalf(w) * LoadHalf(a)) * static_cast<float>(isum) + LoadHalf(w + 2) * LoadHalf(a + 2);
  }
  return sum;
}

float VecDotQ8_0(size_t n, const void* w_row, const void* a_row) {
  const auto* w = static_cast<const uint8_t*>(w_row);
  const auto* a = static_cast<const uint8_t*>(a_row);
  float sum = 0.0f;
  for (size_t b = 0; b < n / kQk; ++b, w += kQ8_0Bytes, a += kQ8_0Bytes) {
    int isum = 0;
    for (size_t j = 0; j < kQk; ++j) isum += QuantAt(w + 2, j) * QuantAt(a + 2, j);
    sum += (LoadHalf(w) * LoadHalf(a)) * static_cast<float>(isum);
  }
  return sum;
}

// Q4_K super-block: d, dmin, scales[12], qs[128]; qs[32g + l] holds value 64g + l in its low
// nibble (sub-block 2g) and value 64g + 32 + l in its high nibble (sub-block 2g + 1).
// Value = d * scale_s * q - dmin * min_s, so the min part only needs the activation sums of
// each 32-value sub-block, i.e. bsums[2s] + bsums[2s + 1].
float VecDotQ4_K(size_t n, const void* w_row, const void* a_row) {
  const auto* w = static_cast<const uint8_t*>(w_row);
  const auto* a = static_cast<const uint8_t*>(a_row);
  float sum = 0.0f;
  for (size_t b = 0; b < n / kQkK; ++b, w += kQ4_KBytes, a += kQ8_KBytes) {
    int scale[8];
    int min[8];
    UnpackQ4KScales(w + 4, scale, min);
    const uint8_t* qs = w + 16;
    const uint8_t* aq = a + 4;
    const uint8_t* bsums = a + 4 + kQkK;
    int isum = 0;
    int msum = 0;
    for (int g = 0; g < 4; ++g) {
      int lo = 0;
      int hi = 0;
      for (int l = 0; l < 32; ++l) {
        lo += (qs[32 * g + l] & 0x0F) * QuantAt(aq, 64 * g + l);
        hi += (qs[32 * g + l] >> 4) * QuantAt(aq, 64 * g + 32 + l);
      }
      isum += scale[2 * g] * lo + scale[2 * g + 1] * hi;
    }
    for (int s = 0; s < 8; ++s) {
      const int bs = static_cast<int16_t>(LoadU16(bsums + 4 * s)) +
                     static_cast<int16_t>(LoadU16(bsums + 4 * s + 2));
      msum += min[s] * bs;
    }
    const float da = LoadF32(a);
    sum += (da * LoadHalf(w)) * static_cast<float>(isum) -
           (da * LoadHalf(w + 2)) * static_cast<float>(msum);
  }
  return sum;
}

// Q6_K super-block: ql[128], qh[64], int8 scales[16], d (layout in dequant.cpp).
float VecDotQ6_K(size_t n, const void* w_row, const void* a_row) {
  const auto* w = static_cast<const uint8_t*>(w_row);
  const auto* a = static_cast<const uint8_t*>(a_row);
  float sum = 0.0f;
  for (size_t b = 0; b < n / kQkK; ++b, w += kQ6_KBytes, a += kQ8_KBytes) {
    const uint8_t* scales = w + kQkK / 2 + kQkK / 4;
    const uint8_t* aq = a + 4;
    int group_sum[16] = {};
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = w + 64 * half;
      const uint8_t* qh = w + kQkK / 2 + 32 * half;
      for (int k = 0; k < 4; ++k) {
        const uint8_t* low_src = ql + 32 * (k & 1);
        const int low_shift = k < 2 ? 0 : 4;
        for (int sub = 0; sub < 2; ++sub) {  // values 32k + 16sub .. +15: one scale group
          int gs = 0;
          for (int l = 16 * sub; l < 16 * sub + 16; ++l) {
            const int low = (low_src[l] >> low_shift) & 0x0F;
            const int high = (qh[l] >> (2 * k)) & 0x03;
            gs += ((low | (high << 4)) - 32) *
                  QuantAt(aq, static_cast<size_t>(128 * half + 32 * k + l));
          }
          group_sum[8 * half + 2 * k + sub] += gs;
        }
      }
    }
    int isum = 0;
    for (int g = 0; g < 16; ++g) isum += static_cast<int8_t>(scales[g]) * group_sum[g];
    sum += (LoadF32(a) * LoadHalf(w + kQkK / 2 + kQkK / 4 + kQkK / 16)) * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace ref
}  // namespace spatten::kernels
