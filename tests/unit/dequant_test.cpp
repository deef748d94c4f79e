// Unit tests for the scalar reference dequantizers (kernels/ref/dequant.h).
//
// Every expectation here is worked out from the ggml/GGUF format definition: blocks are built
// byte by byte, and expected floats are either literals computed by hand (shown in comments)
// or come from a per-element formula written in this file. The code under test is never used
// to produce an expected value.
#include "kernels/ref/dequant.h"

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace spatten::kernels::ref {
namespace {

using Bytes = std::vector<uint8_t>;

// Little-endian store of a 16-bit field.
void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}

float F32FromBits(uint32_t bits) { return std::bit_cast<float>(bits); }
uint32_t BitsOf(float f) { return std::bit_cast<uint32_t>(f); }

// Value of a binary16 bit pattern from the textbook definition, computed in double.
double HalfValue(uint16_t h) {
  const int sign = (h & 0x8000) ? -1 : 1;
  const int exp = (h >> 10) & 0x1F;
  const int mant = h & 0x3FF;
  if (exp == 0) return sign * std::ldexp(static_cast<double>(mant), -24);
  if (exp == 31) return mant == 0 ? sign * std::numeric_limits<double>::infinity()
                                  : std::numeric_limits<double>::quiet_NaN();
  return sign * std::ldexp(static_cast<double>(1024 + mant), exp - 25);
}

bool IsHalfNaN(uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0; }

// Some fp16 constants, worked out by hand: sign | exponent (bias 15) << 10 | mantissa.
constexpr uint16_t kHalfOne = 0x3C00;        //  1.0   = 2^0
constexpr uint16_t kHalfHalf = 0x3800;       //  0.5   = 2^-1
constexpr uint16_t kHalfQuarter = 0x3400;    //  0.25  = 2^-2
constexpr uint16_t kHalfEighth = 0x3000;     //  0.125 = 2^-3
constexpr uint16_t kHalfMinusOne = 0xBC00;   // -1.0
constexpr uint16_t kHalfMinusHalf = 0xB800;  // -0.5
constexpr uint16_t kHalfMinusQuarter = 0xB400;  // -0.25
constexpr uint16_t kHalfMinusTwo = 0xC000;   // -2.0  = -(2^1)
constexpr uint16_t kHalfThree = 0x4200;      //  3.0  = 1.5 * 2^1
constexpr uint16_t kHalfMinusOneHalf = 0xBE00;  // -1.5

// ================================ fp16 -> fp32 ============================================

TEST(Fp16ToFp32, Normals) {
  EXPECT_EQ(Fp16ToFp32(0x3C00), 1.0f);
  EXPECT_EQ(Fp16ToFp32(0xBC00), -1.0f);
  EXPECT_EQ(Fp16ToFp32(0x4000), 2.0f);
  EXPECT_EQ(Fp16ToFp32(0x3800), 0.5f);
  EXPECT_EQ(Fp16ToFp32(0x3E00), 1.5f);
  EXPECT_EQ(Fp16ToFp32(0xC200), -3.0f);
  EXPECT_EQ(Fp16ToFp32(0x3555), 0.333251953125f);  // (1024 + 341) * 2^-12
  EXPECT_EQ(Fp16ToFp32(0x7BFF), 65504.0f);         // largest finite half
  EXPECT_EQ(Fp16ToFp32(0xFBFF), -65504.0f);
  EXPECT_EQ(Fp16ToFp32(0x0400), 6.103515625e-05f);  // smallest normal, 2^-14
  EXPECT_EQ(Fp16ToFp32(0x3C01), 1.0009765625f);     // 1 + 2^-10
}

TEST(Fp16ToFp32, Subnormals) {
  EXPECT_EQ(Fp16ToFp32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(BitsOf(Fp16ToFp32(0x0001)), 0x33800000u);    // f32 exponent 127 - 24 = 103
  EXPECT_EQ(Fp16ToFp32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(Fp16ToFp32(0x0002), std::ldexp(1.0f, -23));
  EXPECT_EQ(Fp16ToFp32(0x0003), 3.0f * std::ldexp(1.0f, -24));
  EXPECT_EQ(Fp16ToFp32(0x0200), std::ldexp(1.0f, -15));                  // 512 * 2^-24
  EXPECT_EQ(Fp16ToFp32(0x03FF), 1023.0f * std::ldexp(1.0f, -24));        // largest subnormal
  EXPECT_EQ(BitsOf(Fp16ToFp32(0x03FF)), 0x387FC000u);  // 1.1111111110b * 2^-15
}

TEST(Fp16ToFp32, ZeroInfNaN) {
  EXPECT_EQ(BitsOf(Fp16ToFp32(0x0000)), 0x00000000u);
  EXPECT_EQ(BitsOf(Fp16ToFp32(0x8000)), 0x80000000u);  // -0 keeps its sign
  EXPECT_EQ(Fp16ToFp32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(Fp16ToFp32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(Fp16ToFp32(0x7E00)));  // quiet NaN
  EXPECT_TRUE(std::isnan(Fp16ToFp32(0x7C01)));  // signalling NaN, smallest payload
  EXPECT_TRUE(std::isnan(Fp16ToFp32(0xFFFF)));
  EXPECT_EQ(BitsOf(Fp16ToFp32(0x7E00)), 0x7FC00000u);  // payload lands in the top bits
  EXPECT_EQ(BitsOf(Fp16ToFp32(0xFC01)), 0xFF802000u);
}

TEST(Fp16ToFp32, AllHalvesMatchDefinition) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto half = static_cast<uint16_t>(h);
    const float got = Fp16ToFp32(half);
    if (IsHalfNaN(half)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << h;
      continue;
    }
    ASSERT_EQ(static_cast<double>(got), HalfValue(half)) << std::hex << h;
    ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << std::hex << h;
  }
}

// ================================ fp32 -> fp16 ============================================

TEST(Fp32ToFp16, ExactValues) {
  EXPECT_EQ(Fp32ToFp16(1.0f), 0x3C00);
  EXPECT_EQ(Fp32ToFp16(-2.0f), 0xC000);
  EXPECT_EQ(Fp32ToFp16(0.5f), 0x3800);
  EXPECT_EQ(Fp32ToFp16(65504.0f), 0x7BFF);
  EXPECT_EQ(Fp32ToFp16(-65504.0f), 0xFBFF);
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(Fp32ToFp16(1023.0f * std::ldexp(1.0f, -24)), 0x03FF);
  EXPECT_EQ(Fp32ToFp16(-3.0f * std::ldexp(1.0f, -24)), 0x8003);
}

TEST(Fp32ToFp16, ZeroInfNaN) {
  EXPECT_EQ(Fp32ToFp16(0.0f), 0x0000);
  EXPECT_EQ(Fp32ToFp16(-0.0f), 0x8000);
  EXPECT_EQ(Fp32ToFp16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(Fp32ToFp16(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_TRUE(IsHalfNaN(Fp32ToFp16(std::numeric_limits<float>::quiet_NaN())));
  // NaNs whose payload lives only in the low 13 bits must not collapse into infinity.
  EXPECT_TRUE(IsHalfNaN(Fp32ToFp16(F32FromBits(0x7F800001u))));
  EXPECT_TRUE(IsHalfNaN(Fp32ToFp16(F32FromBits(0xFF801FFFu))));
  EXPECT_EQ(Fp32ToFp16(F32FromBits(0xFF801FFFu)) & 0x8000, 0x8000);
  EXPECT_EQ(Fp32ToFp16(F32FromBits(0x7FC00000u)), 0x7E00);  // canonical quiet NaN
  // f32 subnormals and tiny normals flush to a signed zero.
  EXPECT_EQ(Fp32ToFp16(F32FromBits(0x00000001u)), 0x0000);
  EXPECT_EQ(Fp32ToFp16(F32FromBits(0x807FFFFFu)), 0x8000);
  EXPECT_EQ(Fp32ToFp16(1e-30f), 0x0000);
}

TEST(Fp32ToFp16, OverflowGoesToInfinity) {
  EXPECT_EQ(Fp32ToFp16(65519.996f), 0x7BFF);   // just below the rounding threshold 65520
  EXPECT_EQ(Fp32ToFp16(65520.0f), 0x7C00);     // tie between 65504 (odd) and 2^16 -> even
  EXPECT_EQ(Fp32ToFp16(65536.0f), 0x7C00);
  EXPECT_EQ(Fp32ToFp16(-1e6f), 0xFC00);
  EXPECT_EQ(Fp32ToFp16(std::numeric_limits<float>::max()), 0x7C00);
}

TEST(Fp32ToFp16, RoundingTies) {
  // Half ulp at 1.0 is 2^-10; midpoints are ties and go to the even mantissa.
  EXPECT_EQ(Fp32ToFp16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);        // 1 + ulp/2 -> 1.0
  EXPECT_EQ(Fp32ToFp16(1.0f + 3.0f * std::ldexp(1.0f, -11)), 0x3C02);  // 1 + 3ulp/2 -> 1+2ulp
  EXPECT_EQ(Fp32ToFp16(F32FromBits(0x3F801001u)), 0x3C01);  // just above the tie
  EXPECT_EQ(Fp32ToFp16(F32FromBits(0x3F800FFFu)), 0x3C00);  // just below the tie
  // Carry out of the mantissa bumps the exponent: 2 - 2^-11 is the tie between 0x3FFF and 2.0.
  EXPECT_EQ(Fp32ToFp16(2.0f - std::ldexp(1.0f, -11)), 0x4000);
  // Subnormal range: 0.5 * 2^-24 ties to 0, 1.5 * 2^-24 ties to 2 * 2^-24, 2.5 -> 2.
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(Fp32ToFp16(-std::ldexp(1.0f, -25)), 0x8000);
  EXPECT_EQ(Fp32ToFp16(F32FromBits(0x33000001u)), 0x0001);  // just above 2^-25
  EXPECT_EQ(Fp32ToFp16(1.5f * std::ldexp(1.0f, -24)), 0x0002);
  EXPECT_EQ(Fp32ToFp16(2.5f * std::ldexp(1.0f, -24)), 0x0002);
  EXPECT_EQ(Fp32ToFp16(3.5f * std::ldexp(1.0f, -24)), 0x0004);
  // Largest subnormal + half ulp = tie between 0x03FF (odd) and 0x0400 -> smallest normal.
  EXPECT_EQ(Fp32ToFp16(1023.5f * std::ldexp(1.0f, -24)), 0x0400);
}

TEST(Fp32ToFp16, RoundTripAllHalves) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto half = static_cast<uint16_t>(h);
    const uint16_t back = Fp32ToFp16(Fp16ToFp32(half));
    ASSERT_EQ(back, half) << std::hex << h;  // NaN payloads survive too
  }
}

// For each pair of adjacent finite halves (a, a+1) of either sign, the exact midpoint (which
// f32 represents exactly) must go to whichever of the two has an even bit pattern, and the
// f32 neighbours of the midpoint must go to the nearer half.
TEST(Fp32ToFp16, AllMidpointsRoundToNearestEven) {
  for (uint32_t a = 0; a < 0x7C00; ++a) {
    const double lo = HalfValue(static_cast<uint16_t>(a));
    const double hi = a + 1 == 0x7C00 ? 65536.0 : HalfValue(static_cast<uint16_t>(a + 1));
    const auto mid = static_cast<float>((lo + hi) / 2);
    ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2) << "midpoint not exact at " << a;
    const uint16_t even = (a % 2 == 0) ? static_cast<uint16_t>(a) : static_cast<uint16_t>(a + 1);
    for (const uint16_t sign : {uint16_t{0}, uint16_t{0x8000}}) {
      const float s = sign ? -1.0f : 1.0f;
      ASSERT_EQ(Fp32ToFp16(s * mid), sign | even) << std::hex << a;
      const float below = std::nextafter(mid, 0.0f);
      const float above = std::nextafter(mid, std::numeric_limits<float>::infinity());
      ASSERT_EQ(Fp32ToFp16(s * below), sign | a) << std::hex << a;
      ASSERT_EQ(Fp32ToFp16(s * above), sign | (a + 1)) << std::hex << a;
    }
  }
}

// A sweep over f32 bit patterns: the result must be a nearest half (ties checked above).
TEST(Fp32ToFp16, SampledFloatsRoundToANearestHalf) {
  for (uint64_t bits = 0; bits < 0x100000000ull; bits += 4099) {
    const float f = F32FromBits(static_cast<uint32_t>(bits));
    const uint16_t h = Fp32ToFp16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(IsHalfNaN(h)) << std::hex << bits;
      continue;
    }
    ASSERT_EQ((h & 0x8000) != 0, std::signbit(f)) << std::hex << bits;
    const double x = std::fabs(static_cast<double>(f));
    const uint16_t mag = h & 0x7FFF;
    if (x >= 65520.0) {
      ASSERT_EQ(mag, 0x7C00) << std::hex << bits;
      continue;
    }
    ASSERT_LT(mag, 0x7C00) << std::hex << bits;
    const double err = std::fabs(x - HalfValue(mag));
    if (mag > 0) {
      ASSERT_LE(err, std::fabs(x - HalfValue(static_cast<uint16_t>(mag - 1)))) << std::hex << bits;
    }
    if (mag < 0x7BFF) {
      ASSERT_LE(err, std::fabs(x - HalfValue(static_cast<uint16_t>(mag + 1)))) << std::hex << bits;
    }
  }
}

// ================================ bf16 ====================================================

TEST(Bf16, ToFp32) {
  EXPECT_EQ(Bf16ToFp32(0x3F80), 1.0f);
  EXPECT_EQ(Bf16ToFp32(0xC000), -2.0f);
  EXPECT_EQ(Bf16ToFp32(0x3FC0), 1.5f);
  EXPECT_EQ(Bf16ToFp32(0x4049), 3.140625f);  // 0x40490000
  EXPECT_EQ(BitsOf(Bf16ToFp32(0x8000)), 0x80000000u);
  EXPECT_EQ(Bf16ToFp32(0x0001), std::ldexp(1.0f, -133));  // f32 bits 0x00010000, subnormal
  EXPECT_EQ(Bf16ToFp32(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(Bf16ToFp32(0xFF80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(Bf16ToFp32(0x7FC0)));
  EXPECT_TRUE(std::isnan(Bf16ToFp32(0xFF81)));
}

TEST(Bf16, FromFp32) {
  EXPECT_EQ(Fp32ToBf16(1.0f), 0x3F80);
  EXPECT_EQ(Fp32ToBf16(-2.0f), 0xC000);
  EXPECT_EQ(Fp32ToBf16(-0.0f), 0x8000);
  EXPECT_EQ(Fp32ToBf16(F32FromBits(0x3F808000u)), 0x3F80);  // tie, 0x3F80 is even
  EXPECT_EQ(Fp32ToBf16(F32FromBits(0x3F818000u)), 0x3F82);  // tie, 0x3F81 odd -> up
  EXPECT_EQ(Fp32ToBf16(F32FromBits(0x3F808001u)), 0x3F81);  // above the tie
  EXPECT_EQ(Fp32ToBf16(F32FromBits(0x3F807FFFu)), 0x3F80);  // below the tie
  EXPECT_EQ(Fp32ToBf16(F32FromBits(0xBF81FFFFu)), 0xBF82);  // carries through the mantissa
  EXPECT_EQ(Fp32ToBf16(F32FromBits(0x3FFF8000u)), 0x4000);  // carry into the exponent
  EXPECT_EQ(Fp32ToBf16(std::numeric_limits<float>::max()), 0x7F80);  // 0x7F7FFFFF -> inf
  EXPECT_EQ(Fp32ToBf16(F32FromBits(0x7F7F7FFFu)), 0x7F7F);           // stays finite
  EXPECT_EQ(Fp32ToBf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(Fp32ToBf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  const uint16_t nan = Fp32ToBf16(F32FromBits(0x7F800001u));  // payload only in low bits
  EXPECT_EQ(nan & 0x7F80, 0x7F80);
  EXPECT_NE(nan & 0x007F, 0);
  EXPECT_EQ(Fp32ToBf16(F32FromBits(0xFFC00000u)), 0xFFC0);
}

TEST(Bf16, RoundTripAll) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto b = static_cast<uint16_t>(h);
    const float f = Bf16ToFp32(b);
    ASSERT_EQ(BitsOf(f), h << 16);
    ASSERT_EQ(Fp32ToBf16(f), b) << std::hex << h;
  }
}

// ================================ plain float tensors =====================================

TEST(DequantizePlain, F32) {
  // 1.0, -2.5, +inf, -0 as little-endian f32 bytes.
  const Bytes src = {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0,
                     0x00, 0x00, 0x80, 0x7F, 0x00, 0x00, 0x00, 0x80};
  std::array<float, 4> out{};
  DequantizeF32(src.data(), out.data(), out.size());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.5f);
  EXPECT_EQ(out[2], std::numeric_limits<float>::infinity());
  EXPECT_EQ(BitsOf(out[3]), 0x80000000u);
}

TEST(DequantizePlain, F16AtOddOffset) {
  // One byte of padding so that every half is misaligned: 1.0, -2.0, 2^-24, 65504, -0.
  const Bytes src = {0xAA, 0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0xFF, 0x7B, 0x00, 0x80};
  std::array<float, 5> out{};
  DequantizeF16(src.data() + 1, out.data(), out.size());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], std::ldexp(1.0f, -24));
  EXPECT_EQ(out[3], 65504.0f);
  EXPECT_EQ(BitsOf(out[4]), 0x80000000u);
}

TEST(DequantizePlain, BF16) {
  // 1.0 (0x3F80), -2.0 (0xC000), 3.140625 (0x4049).
  const Bytes src = {0x80, 0x3F, 0x00, 0xC0, 0x49, 0x40};
  std::array<float, 3> out{};
  DequantizeBF16(src.data(), out.data(), out.size());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], 3.140625f);
}

// ================================ Q4_0 ====================================================

// Block A: d = 0.5, qs[j] = j | (15 - j) << 4, so y[j] = (j - 8) / 2, y[j+16] = (7 - j) / 2.
Bytes Q4_0BlockA() {
  Bytes b(18);
  Put16(b.data(), kHalfHalf);
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  return b;
}
// Block B: d = -2, every qs byte 0x0F: low nibble 15 -> (15 - 8) * -2 = -14,
// high nibble 0 -> (0 - 8) * -2 = 16.
Bytes Q4_0BlockB() {
  Bytes b(18, 0x0F);
  Put16(b.data(), kHalfMinusTwo);
  return b;
}

void ExpectQ4_0BlockA(const float* y) {
  EXPECT_EQ(y[0], -4.0f);   // q = 0
  EXPECT_EQ(y[8], 0.0f);    // q = 8
  EXPECT_EQ(y[15], 3.5f);   // q = 15
  EXPECT_EQ(y[16], 3.5f);   // high nibble of qs[0] = 15
  EXPECT_EQ(y[31], -4.0f);  // high nibble of qs[15] = 0
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * static_cast<float>(j - 8)) << j;
    EXPECT_EQ(y[j + 16], 0.5f * static_cast<float>(7 - j)) << j;
  }
}

void ExpectQ4_0BlockB(const float* y) {
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], -14.0f) << j;
    EXPECT_EQ(y[j + 16], 16.0f) << j;
  }
}

TEST(DequantizeQ4_0, SingleBlocks) {
  std::array<float, 32> y{};
  DequantizeQ4_0(Q4_0BlockA().data(), y.data(), 32);
  ExpectQ4_0BlockA(y.data());
  DequantizeQ4_0(Q4_0BlockB().data(), y.data(), 32);
  ExpectQ4_0BlockB(y.data());
}

TEST(DequantizeQ4_0, MultiBlockMisaligned) {
  Bytes src = {0x55};  // misalign every field by one byte
  for (const Bytes& blk : {Q4_0BlockB(), Q4_0BlockA(), Q4_0BlockB()}) {
    src.insert(src.end(), blk.begin(), blk.end());
  }
  std::vector<float> y(96, 123.0f);
  DequantizeQ4_0(src.data() + 1, y.data(), 96);
  ExpectQ4_0BlockB(y.data());
  ExpectQ4_0BlockA(y.data() + 32);
  ExpectQ4_0BlockB(y.data() + 64);
}

// ================================ Q4_1 ====================================================

// Block A: d = 0.25, m = -1, qs[j] = j | (15 - j) << 4: y[j] = j/4 - 1, y[j+16] = (15-j)/4 - 1.
Bytes Q4_1BlockA() {
  Bytes b(20);
  Put16(b.data(), kHalfQuarter);
  Put16(b.data() + 2, kHalfMinusOne);
  for (int j = 0; j < 16; ++j) b[4 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  return b;
}
// Block B: d = -0.5, m = 3, qs = 0xF0: low 0 -> 3.0, high 15 -> 15 * -0.5 + 3 = -4.5.
Bytes Q4_1BlockB() {
  Bytes b(20, 0xF0);
  Put16(b.data(), kHalfMinusHalf);
  Put16(b.data() + 2, kHalfThree);
  return b;
}

void ExpectQ4_1BlockA(const float* y) {
  EXPECT_EQ(y[0], -1.0f);    // 0 * 0.25 - 1
  EXPECT_EQ(y[15], 2.75f);   // 15 * 0.25 - 1
  EXPECT_EQ(y[16], 2.75f);   // high nibble of qs[0] = 15
  EXPECT_EQ(y[31], -1.0f);   // high nibble of qs[15] = 0
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.25f * static_cast<float>(j) - 1.0f) << j;
    EXPECT_EQ(y[j + 16], 0.25f * static_cast<float>(15 - j) - 1.0f) << j;
  }
}

void ExpectQ4_1BlockB(const float* y) {
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 3.0f) << j;
    EXPECT_EQ(y[j + 16], -4.5f) << j;
  }
}

TEST(DequantizeQ4_1, SingleBlocks) {
  std::array<float, 32> y{};
  DequantizeQ4_1(Q4_1BlockA().data(), y.data(), 32);
  ExpectQ4_1BlockA(y.data());
  DequantizeQ4_1(Q4_1BlockB().data(), y.data(), 32);
  ExpectQ4_1BlockB(y.data());
}

TEST(DequantizeQ4_1, MultiBlock) {
  Bytes src = Q4_1BlockA();
  const Bytes b = Q4_1BlockB();
  src.insert(src.end(), b.begin(), b.end());
  std::vector<float> y(64);
  DequantizeQ4_1(src.data(), y.data(), 64);
  ExpectQ4_1BlockA(y.data());
  ExpectQ4_1BlockB(y.data() + 32);
}

// ================================ Q8_0 ====================================================

// Block A: d = 0.125, qs = -128, 127, 0, -1, 1, then qs[j] = j - 16 for j >= 5.
Bytes Q8_0BlockA() {
  Bytes b(34);
  Put16(b.data(), kHalfEighth);
  const std::array<uint8_t, 5> head = {0x80, 0x7F, 0x00, 0xFF, 0x01};
  for (int j = 0; j < 32; ++j) {
    b[2 + j] = j < 5 ? head[j] : static_cast<uint8_t>(static_cast<int8_t>(j - 16));
  }
  return b;
}
// Block B: d = -1.5, qs[j] = 3 * j - 50 (from -50 to 43).
Bytes Q8_0BlockB() {
  Bytes b(34);
  Put16(b.data(), kHalfMinusOneHalf);
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(3 * j - 50));
  return b;
}

void ExpectQ8_0BlockA(const float* y) {
  EXPECT_EQ(y[0], -16.0f);      // -128 / 8
  EXPECT_EQ(y[1], 15.875f);     //  127 / 8
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[3], -0.125f);
  EXPECT_EQ(y[4], 0.125f);
  for (int j = 5; j < 32; ++j) EXPECT_EQ(y[j], static_cast<float>(j - 16) / 8.0f) << j;
}

void ExpectQ8_0BlockB(const float* y) {
  EXPECT_EQ(y[0], 75.0f);      // -50 * -1.5
  EXPECT_EQ(y[31], -64.5f);    //  43 * -1.5
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], -1.5f * static_cast<float>(3 * j - 50)) << j;
}

TEST(DequantizeQ8_0, SingleBlocks) {
  std::array<float, 32> y{};
  DequantizeQ8_0(Q8_0BlockA().data(), y.data(), 32);
  ExpectQ8_0BlockA(y.data());
  DequantizeQ8_0(Q8_0BlockB().data(), y.data(), 32);
  ExpectQ8_0BlockB(y.data());
}

TEST(DequantizeQ8_0, SubnormalScale) {
  Bytes b(34);
  Put16(b.data(), 0x0001);  // d = 2^-24
  b[2] = 0x7F;              // 127
  b[3] = 0x80;              // -128
  std::array<float, 32> y{};
  DequantizeQ8_0(b.data(), y.data(), 32);
  EXPECT_EQ(y[0], 127.0f * std::ldexp(1.0f, -24));
  EXPECT_EQ(y[1], -128.0f * std::ldexp(1.0f, -24));
  EXPECT_EQ(y[2], 0.0f);
}

TEST(DequantizeQ8_0, MultiBlock) {
  Bytes src = Q8_0BlockB();
  const Bytes a = Q8_0BlockA();
  src.insert(src.end(), a.begin(), a.end());
  std::vector<float> y(64);
  DequantizeQ8_0(src.data(), y.data(), 64);
  ExpectQ8_0BlockB(y.data());
  ExpectQ8_0BlockA(y.data() + 32);
}

// ================================ Q4_K ====================================================
// Layout (144 bytes): d (fp16), dmin (fp16), scales[12], qs[128].
// Sub-block s (0..7) covers outputs 32s .. 32s+31 and has a 6-bit scale sc[s] and min mn[s]:
//   s < 4 : sc = scales[s] & 63,  mn = scales[s+4] & 63
//   s >= 4: sc = (scales[s+4] & 15) | (scales[s-4] >> 6) << 4
//           mn = (scales[s+4] >> 4) | (scales[s]   >> 6) << 4
// Output e reads byte qs[32 * (e / 64) + e % 32], low nibble when (e % 64) < 32, else high.
// y[e] = d * sc * q - dmin * mn.

constexpr int kQ4KScalesOff = 4;
constexpr int kQ4KQsOff = 16;

// Sub-block scales/mins used by block A, and their packing done by hand:
//   sc = {1, 2, 63, 10, 33, 47, 5, 60},  mn = {0, 7, 20, 63, 32, 1, 50, 15}
//   high 2 bits: sc[4]=33 -> 2, sc[5]=47 -> 2, sc[6]=5 -> 0, sc[7]=60 -> 3
//                mn[4]=32 -> 2, mn[5]=1  -> 0, mn[6]=50 -> 3, mn[7]=15 -> 0
//   low 4 bits:  sc[4..7] -> 1, 15, 5, 12;   mn[4..7] -> 0, 1, 2, 15
//   scales[0..3]  = sc[0..3] | hi(sc[4..7]) << 6 = 0x81, 0x82, 0x3F, 0xCA
//   scales[4..7]  = mn[0..3] | hi(mn[4..7]) << 6 = 0x80, 0x07, 0xD4, 0x3F
//   scales[8..11] = lo(sc[4..7]) | lo(mn[4..7]) << 4 = 0x01, 0x1F, 0x25, 0xFC
constexpr std::array<int, 8> kQ4KScA = {1, 2, 63, 10, 33, 47, 5, 60};
constexpr std::array<int, 8> kQ4KMnA = {0, 7, 20, 63, 32, 1, 50, 15};
constexpr std::array<uint8_t, 12> kQ4KPackedA = {0x81, 0x82, 0x3F, 0xCA, 0x80, 0x07,
                                                 0xD4, 0x3F, 0x01, 0x1F, 0x25, 0xFC};

// Block A: d = 0.5, dmin = 0.25, scales as above, qs a byte pattern with a few fixed bytes.
Bytes Q4_KBlockA() {
  Bytes b(144);
  Put16(b.data(), kHalfHalf);
  Put16(b.data() + 2, kHalfQuarter);
  for (int i = 0; i < 12; ++i) b[kQ4KScalesOff + i] = kQ4KPackedA[i];
  for (int i = 0; i < 128; ++i) b[kQ4KQsOff + i] = static_cast<uint8_t>(i * 37 + 11);
  b[kQ4KQsOff + 0] = 0x00;
  b[kQ4KQsOff + 1] = 0xFF;
  b[kQ4KQsOff + 32] = 0x0F;
  b[kQ4KQsOff + 64] = 0xF0;
  b[kQ4KQsOff + 127] = 0xFF;
  return b;
}

// Block B: d = -1, dmin = 0.5, every scale byte 0xFF (all eight sc and mn are 63, so the
// high bits of scales[0..7] are all in use), every qs byte 0x5A (low nibble 10, high 5).
Bytes Q4_KBlockB() {
  Bytes b(144, 0x5A);
  Put16(b.data(), kHalfMinusOne);
  Put16(b.data() + 2, kHalfHalf);
  for (int i = 0; i < 12; ++i) b[kQ4KScalesOff + i] = 0xFF;
  return b;
}

void ExpectQ4_KBlockA(const float* y) {
  // Hand-computed spot checks.
  EXPECT_EQ(y[0], 0.0f);       // s0: sc 1, mn 0,  q = 0  -> 0
  EXPECT_EQ(y[1], 7.5f);       // s0: q = 15 (qs[1] low)   -> 0.5*1*15
  EXPECT_EQ(y[32], -1.75f);    // s1: sc 2, mn 7,  q = 0 (qs[0] high) -> -0.25*7
  EXPECT_EQ(y[33], 13.25f);    // s1: q = 15 -> 0.5*2*15 - 1.75
  EXPECT_EQ(y[64], 467.5f);    // s2: sc 63, mn 20, q = 15 (qs[32] low)  -> 472.5 - 5
  EXPECT_EQ(y[96], -15.75f);   // s3: sc 10, mn 63, q = 0 (qs[32] high) -> -0.25*63
  EXPECT_EQ(y[128], -8.0f);    // s4: sc 33, mn 32, q = 0 (qs[64] low)  -> -0.25*32
  EXPECT_EQ(y[160], 352.25f);  // s5: sc 47, mn 1,  q = 15 (qs[64] high) -> 352.5 - 0.25
  EXPECT_EQ(y[223], 25.0f);    // s6: sc 5,  mn 50, q = 15 (qs[127] low) -> 37.5 - 12.5
  EXPECT_EQ(y[255], 446.25f);  // s7: sc 60, mn 15, q = 15 (qs[127] high) -> 450 - 3.75
  // Every element from the layout formula.
  const Bytes blk = Q4_KBlockA();
  for (int e = 0; e < 256; ++e) {
    const int s = e / 32;
    const uint8_t byte = blk[kQ4KQsOff + 32 * (e / 64) + e % 32];
    const int q = (e % 64) < 32 ? (byte & 15) : (byte >> 4);
    const double want = 0.5 * kQ4KScA[s] * q - 0.25 * kQ4KMnA[s];
    EXPECT_EQ(static_cast<double>(y[e]), want) << "element " << e;
  }
}

void ExpectQ4_KBlockB(const float* y) {
  for (int e = 0; e < 256; ++e) {
    // low nibble: -1*63*10 - 0.5*63 = -661.5; high nibble: -1*63*5 - 31.5 = -346.5
    EXPECT_EQ(y[e], (e % 64) < 32 ? -661.5f : -346.5f) << "element " << e;
  }
}

TEST(DequantizeQ4_K, HandPackedScalesMatch) {
  // Re-derive the packed bytes from kQ4KScA / kQ4KMnA with the documented rule, to make sure
  // the table above (and so the expected values) says what the comment claims.
  for (int s = 0; s < 4; ++s) {
    EXPECT_EQ(kQ4KPackedA[s] & 63, kQ4KScA[s]);
    EXPECT_EQ(kQ4KPackedA[s + 4] & 63, kQ4KMnA[s]);
  }
  for (int s = 4; s < 8; ++s) {
    EXPECT_EQ((kQ4KPackedA[s + 4] & 15) | ((kQ4KPackedA[s - 4] >> 6) << 4), kQ4KScA[s]);
    EXPECT_EQ((kQ4KPackedA[s + 4] >> 4) | ((kQ4KPackedA[s] >> 6) << 4), kQ4KMnA[s]);
  }
}

TEST(DequantizeQ4_K, SingleBlocks) {
  std::vector<float> y(256);
  DequantizeQ4_K(Q4_KBlockA().data(), y.data(), 256);
  ExpectQ4_KBlockA(y.data());
  DequantizeQ4_K(Q4_KBlockB().data(), y.data(), 256);
  ExpectQ4_KBlockB(y.data());
}

TEST(DequantizeQ4_K, MultiBlockMisaligned) {
  Bytes src = {0, 0, 0};  // misalign by 3 bytes
  for (const Bytes& blk : {Q4_KBlockB(), Q4_KBlockA()}) src.insert(src.end(), blk.begin(), blk.end());
  std::vector<float> y(512);
  DequantizeQ4_K(src.data() + 3, y.data(), 512);
  ExpectQ4_KBlockB(y.data());
  ExpectQ4_KBlockA(y.data() + 256);
}

// ================================ Q6_K ====================================================
// Layout (210 bytes): ql[128], qh[64], int8 scales[16], d (fp16) at byte 208.
// Output e: half h = e / 128, r = e % 128, k = r / 32, l = r % 32.
//   low 4 bits  = ql[64h + l + 32 * (k % 2)], low nibble for k < 2, high nibble for k >= 2
//   high 2 bits = bits 2k, 2k+1 of qh[32h + l]
//   y[e] = d * scales[8h + r / 16] * (value - 32)

constexpr int kQ6KQhOff = 128;
constexpr int kQ6KScalesOff = 192;
constexpr int kQ6KDOff = 208;

constexpr std::array<int8_t, 16> kQ6KScalesA = {-128, 127, 1, -1, 2,  -2, 3,  -3,
                                                4,    5,   6, 7,  -8, 9,  10, -11};

// Block A: d = 0.5, scales above, pattern bytes with some fixed ones.
Bytes Q6_KBlockA() {
  Bytes b(210);
  for (int i = 0; i < 128; ++i) b[i] = static_cast<uint8_t>(i * 29 + 3);
  for (int i = 0; i < 64; ++i) b[kQ6KQhOff + i] = static_cast<uint8_t>(i * 53 + 7);
  for (int i = 0; i < 16; ++i) b[kQ6KScalesOff + i] = static_cast<uint8_t>(kQ6KScalesA[i]);
  Put16(b.data() + kQ6KDOff, kHalfHalf);
  b[0] = 0xFF;             // ql[0]
  b[kQ6KQhOff + 0] = 0xFF;  // qh[0]: all four 2-bit fields = 3
  b[32] = 0x00;            // ql[32]
  b[1] = 0x00;             // ql[1]
  b[kQ6KQhOff + 1] = 0x00;  // qh[1]
  b[16] = 0x00;            // ql[16]
  b[kQ6KQhOff + 16] = 0x00;  // qh[16]
  b[64] = 0x21;            // ql[64]  (second half)
  b[96] = 0x7E;            // ql[96]
  b[kQ6KQhOff + 32] = 0x9C;  // qh[32] = 10 01 11 00b: fields k0 = 0, k1 = 3, k2 = 1, k3 = 2
  return b;
}

void ExpectQ6_KBlockA(const float* y) {
  // Hand-computed spot checks.
  EXPECT_EQ(y[0], -1984.0f);   // ql 15 | qh 3<<4 = 63 -> 31; scale -128: 0.5*-128*31
  EXPECT_EQ(y[32], 8.0f);      // ql[32] low 0 | 3<<4 = 48 -> 16; scale[2] = 1: 0.5*1*16
  EXPECT_EQ(y[64], 31.0f);     // ql[0] high 15 | 3<<4 -> 31; scale[4] = 2
  EXPECT_EQ(y[96], 24.0f);     // ql[32] high 0 | 3<<4 -> 16; scale[6] = 3
  EXPECT_EQ(y[1], 2048.0f);    // 0 -> -32; scale -128: 0.5*-128*-32
  EXPECT_EQ(y[16], -2032.0f);  // 0 -> -32; scale[1] = 127
  EXPECT_EQ(y[128], -62.0f);   // ql[64] low 1 | 0 -> -31; scale[8] = 4
  EXPECT_EQ(y[160], 90.0f);    // ql[96] low 14 | 3<<4 = 62 -> 30; scale[10] = 6
  EXPECT_EQ(y[192], 56.0f);    // ql[64] high 2 | 1<<4 = 18 -> -14; scale[12] = -8
  EXPECT_EQ(y[224], 35.0f);    // ql[96] high 7 | 2<<4 = 39 -> 7; scale[14] = 10
  // Every element from the layout formula.
  const Bytes blk = Q6_KBlockA();
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
    const uint8_t lbyte = blk[64 * h + l + 32 * (k % 2)];
    const int low = k < 2 ? (lbyte & 15) : (lbyte >> 4);
    const int high = (blk[kQ6KQhOff + 32 * h + l] >> (2 * k)) & 3;
    const int value = low + 16 * high - 32;
    const double want = 0.5 * kQ6KScalesA[8 * h + r / 16] * value;
    EXPECT_EQ(static_cast<double>(y[e]), want) << "element " << e;
  }
}

// Block B: d = -0.25, every scale 3, ql all 0xA5 (low 5, high 10), qh all 0xE4 = 11 10 01 00b
// (field k = k). Values: k0: 5 | 0 -> -27, k1: 5 | 16 -> -11, k2: 10 | 32 -> 10,
// k3: 10 | 48 -> 26; y = -0.75 * value.
Bytes Q6_KBlockB() {
  Bytes b(210, 0xA5);
  for (int i = 0; i < 64; ++i) b[kQ6KQhOff + i] = 0xE4;
  for (int i = 0; i < 16; ++i) b[kQ6KScalesOff + i] = 3;
  Put16(b.data() + kQ6KDOff, kHalfMinusQuarter);
  return b;
}

void ExpectQ6_KBlockB(const float* y) {
  const std::array<float, 4> by_k = {20.25f, 8.25f, -7.5f, -19.5f};
  for (int e = 0; e < 256; ++e) EXPECT_EQ(y[e], by_k[(e % 128) / 32]) << "element " << e;
}

TEST(DequantizeQ6_K, SingleBlocks) {
  std::vector<float> y(256);
  DequantizeQ6_K(Q6_KBlockA().data(), y.data(), 256);
  ExpectQ6_KBlockA(y.data());
  DequantizeQ6_K(Q6_KBlockB().data(), y.data(), 256);
  ExpectQ6_KBlockB(y.data());
}

TEST(DequantizeQ6_K, MultiBlockMisaligned) {
  Bytes src = {0xEE};
  for (const Bytes& blk : {Q6_KBlockA(), Q6_KBlockB(), Q6_KBlockA()}) {
    src.insert(src.end(), blk.begin(), blk.end());
  }
  std::vector<float> y(768);
  DequantizeQ6_K(src.data() + 1, y.data(), 768);
  ExpectQ6_KBlockA(y.data());
  ExpectQ6_KBlockB(y.data() + 256);
  ExpectQ6_KBlockA(y.data() + 512);
}

// ================================ dispatcher ==============================================

TEST(Dequantize, DispatchesEverySupportedType) {
  std::vector<float> y(512, 0.0f);

  const Bytes f32 = {0x00, 0x00, 0x20, 0xC0};  // -2.5
  ASSERT_TRUE(Dequantize(QuantType::kF32, f32.data(), y.data(), 1));
  EXPECT_EQ(y[0], -2.5f);

  const Bytes f16 = {0x00, 0x3C, 0x00, 0xC0};  // 1.0, -2.0
  ASSERT_TRUE(Dequantize(QuantType::kF16, f16.data(), y.data(), 2));
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.0f);

  const Bytes bf16 = {0xC0, 0x3F};  // 1.5
  ASSERT_TRUE(Dequantize(QuantType::kBF16, bf16.data(), y.data(), 1));
  EXPECT_EQ(y[0], 1.5f);

  ASSERT_TRUE(Dequantize(QuantType::kQ4_0, Q4_0BlockA().data(), y.data(), 32));
  ExpectQ4_0BlockA(y.data());
  ASSERT_TRUE(Dequantize(QuantType::kQ4_1, Q4_1BlockB().data(), y.data(), 32));
  ExpectQ4_1BlockB(y.data());
  ASSERT_TRUE(Dequantize(QuantType::kQ8_0, Q8_0BlockA().data(), y.data(), 32));
  ExpectQ8_0BlockA(y.data());
  ASSERT_TRUE(Dequantize(QuantType::kQ4_K, Q4_KBlockB().data(), y.data(), 256));
  ExpectQ4_KBlockB(y.data());
  ASSERT_TRUE(Dequantize(QuantType::kQ6_K, Q6_KBlockA().data(), y.data(), 256));
  ExpectQ6_KBlockA(y.data());

  // Zero elements is a multiple of every block size: nothing is written.
  y[0] = 42.0f;
  ASSERT_TRUE(Dequantize(QuantType::kQ4_K, nullptr, y.data(), 0));
  EXPECT_EQ(y[0], 42.0f);
}

TEST(Dequantize, RejectsUnsupportedTypesAndWritesNothing) {
  const Bytes src(1024, 0x11);
  std::vector<float> y(512, 7.0f);
  EXPECT_FALSE(Dequantize(QuantType::kQ8_1, src.data(), y.data(), 32));
  EXPECT_FALSE(Dequantize(static_cast<QuantType>(7), src.data(), y.data(), 32));   // q5_1
  EXPECT_FALSE(Dequantize(static_cast<QuantType>(10), src.data(), y.data(), 256));  // q2_K
  EXPECT_FALSE(Dequantize(static_cast<QuantType>(13), src.data(), y.data(), 256));  // q5_K
  EXPECT_FALSE(Dequantize(static_cast<QuantType>(999), src.data(), y.data(), 32));
  for (float v : y) ASSERT_EQ(v, 7.0f);
}

TEST(Dequantize, RejectsNonMultipleAndWritesNothing) {
  const Bytes src(1024, 0x11);
  std::vector<float> y(512, 7.0f);
  EXPECT_FALSE(Dequantize(QuantType::kQ4_0, src.data(), y.data(), 33));
  EXPECT_FALSE(Dequantize(QuantType::kQ4_0, src.data(), y.data(), 16));
  EXPECT_FALSE(Dequantize(QuantType::kQ4_1, src.data(), y.data(), 31));
  EXPECT_FALSE(Dequantize(QuantType::kQ8_0, src.data(), y.data(), 48));
  EXPECT_FALSE(Dequantize(QuantType::kQ4_K, src.data(), y.data(), 32));
  EXPECT_FALSE(Dequantize(QuantType::kQ4_K, src.data(), y.data(), 257));
  EXPECT_FALSE(Dequantize(QuantType::kQ6_K, src.data(), y.data(), 128));
  EXPECT_FALSE(Dequantize(QuantType::kQ6_K, src.data(), y.data(), 384));
  for (float v : y) ASSERT_EQ(v, 7.0f);
  // The plain float types have a block size of one: any n is fine.
  EXPECT_TRUE(Dequantize(QuantType::kF16, src.data(), y.data(), 3));
  EXPECT_TRUE(Dequantize(QuantType::kBF16, src.data(), y.data(), 5));
  EXPECT_TRUE(Dequantize(QuantType::kF32, src.data(), y.data(), 7));
}

}  // namespace
}  // namespace spatten::kernels::ref
