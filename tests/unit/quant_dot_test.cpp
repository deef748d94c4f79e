// Tests for the quantized dot products: the scalar references (kernels/ref/quant_dot.h) and
// the SIMD kernels behind the dispatcher (kernels/cpu/dispatch.h).
//
// 1. Activation quantizers: scalar output checked against blocks computed by hand; SIMD
//    quantizers must then reproduce the scalar bytes exactly.
// 2. Reference dot products: checked against a double-precision dot of the dequantized
//    weights (ref::Dequantize, tested on its own) and the dequantized activations, and
//    against the float activations within the quantization error bound derived below.
// 3. SIMD dot products (single dots, row x activation tiles, GEMV, GEMM): parity with the
//    scalar reference over odd sizes, random data with fixed seeds and extreme blocks.
//
// Floating-point tolerances. Write u = 2^-24 (f32 unit roundoff) and
//   mag = sum_i (|w_i| + |b_i|) * |a_i|,
// where w_i is the dequantized weight, b_i the part of it that does not depend on the quant
// (the value the weight decodes to with its quant bits zeroed: -8d for q4_0, m for q4_1,
// -dmin*min for q4_K, -32*d*scale for q6_K, 0 for q8_0) and a_i the dequantized activation.
// Every product, partial sum and block term formed by either implementation is bounded in
// magnitude by mag (they are sums of such products, or of their q-only or offset-only parts).
// Integer block sums are exact in both, so the two results differ only by float roundings:
// at most one per block for the scale products and one per accumulation step in each
// implementation, plus a few for horizontal sums, each at most u * mag. With nb blocks:
//   |simd - ref| <= kParityAbs(nb) = (2 * nb + 16) * u * mag   (+ 1e-6 * |ref| slack)
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "kernels/cpu/dispatch.h"
#include "kernels/quant_types.h"
#include "kernels/ref/dequant.h"
#include "kernels/ref/quant_dot.h"

namespace spatten::kernels {
namespace {

using cpu::Isa;
using cpu::QuantDotKernels;
using Bytes = std::vector<uint8_t>;

constexpr double kU = 1.0 / 16777216.0;  // 2^-24

// ================================ test-side format knowledge ==============================

// Where the fp16 fields and the quant bytes of each weight block sit (from the GGUF format).
struct WeightLayout {
  QuantType type;
  size_t block_elems;
  size_t block_bytes;
  std::vector<size_t> half_offsets;  // fp16 scale / min fields
  size_t quant_begin, quant_end;     // quant bytes (zeroing them leaves the offset part)
  size_t scales_begin, scales_end;   // packed sub-block scales (K-quants), else 0, 0
};

const WeightLayout& LayoutOf(QuantType type) {
  static const std::array<WeightLayout, 5> kLayouts = {{
      {QuantType::kQ4_0, 32, 18, {0}, 2, 18, 0, 0},
      {QuantType::kQ4_1, 32, 20, {0, 2}, 4, 20, 0, 0},
      {QuantType::kQ8_0, 32, 34, {0}, 2, 34, 0, 0},
      {QuantType::kQ4_K, 256, 144, {0, 2}, 16, 144, 4, 16},
      {QuantType::kQ6_K, 256, 210, {208}, 0, 192, 192, 208},
  }};
  for (const auto& l : kLayouts) {
    if (l.type == type) return l;
  }
  std::abort();
}

constexpr std::array<QuantType, 5> kWeightTypes = {
    QuantType::kQ4_0, QuantType::kQ4_1, QuantType::kQ8_0, QuantType::kQ4_K, QuantType::kQ6_K};

std::string TypeName(QuantType t) { return std::string(GgmlTypeName(static_cast<uint32_t>(t))); }

// Deterministic random numbers: mt19937 is fully specified, and the conversions below are
// ours (std:: distributions differ between standard libraries).
class Rng {
 public:
  explicit Rng(uint32_t seed) : gen_(seed) {}
  uint32_t Bits() { return static_cast<uint32_t>(gen_()); }
  double Uniform() { return static_cast<double>(Bits() >> 8) / 16777216.0; }  // [0, 1)
  float Range(double lo, double hi) { return static_cast<float>(lo + (hi - lo) * Uniform()); }
  float Signed(double lo, double hi) {
    const float v = Range(lo, hi);
    return (Bits() & 1) ? -v : v;
  }

 private:
  std::mt19937 gen_;
};

void PutHalf(uint8_t* p, float f) {
  const uint16_t h = ref::Fp32ToFp16(f);
  p[0] = static_cast<uint8_t>(h & 0xFF);
  p[1] = static_cast<uint8_t>(h >> 8);
}
float GetHalf(const uint8_t* p) {
  return ref::Fp16ToFp32(static_cast<uint16_t>(p[0] | (p[1] << 8)));
}
float GetF32(const uint8_t* p) {
  uint32_t bits = 0;
  for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(p[i]) << (8 * i);
  return std::bit_cast<float>(bits);
}
int16_t GetI16(const uint8_t* p) { return static_cast<int16_t>(p[0] | (p[1] << 8)); }

enum class Fill {
  kRandom,       // random quants, random-sign scales
  kZero,         // every byte zero (d = 0)
  kMaxQuant,     // every quant at its largest value, positive scales
  kMinQuant,     // every quant at its smallest value, positive scales
  kNegScale,     // random quants, negative d (and dmin / m)
  kExtremeScale  // random quants, largest-magnitude sub-block scales (K-quants)
};

// Scale magnitudes per type keep results well inside f32 range.
struct ScaleRange {
  double lo, hi;
};
ScaleRange ScaleRangeOf(QuantType t) {
  switch (t) {
    case QuantType::kQ4_K: return {1e-4, 2e-3};
    case QuantType::kQ6_K: return {1e-4, 5e-3};
    default: return {1e-3, 5e-2};
  }
}

// rows x cols weight matrix of `type`, rows packed back to back.
Bytes MakeWeights(QuantType type, size_t rows, size_t cols, uint32_t seed, Fill fill) {
  const WeightLayout& l = LayoutOf(type);
  const size_t nblocks = rows * (cols / l.block_elems);
  Bytes w(nblocks * l.block_bytes);
  Rng rng(seed);
  if (fill == Fill::kZero) return w;
  const ScaleRange sr = ScaleRangeOf(type);
  for (size_t b = 0; b < nblocks; ++b) {
    uint8_t* blk = w.data() + b * l.block_bytes;
    for (size_t i = 0; i < l.block_bytes; ++i) blk[i] = static_cast<uint8_t>(rng.Bits());
    for (size_t off : l.half_offsets) {
      float v = rng.Range(sr.lo, sr.hi);
      if (fill == Fill::kRandom && (rng.Bits() & 1)) v = -v;
      if (fill == Fill::kNegScale) v = -v;
      PutHalf(blk + off, v);
    }
    uint8_t quant_byte = 0;
    switch (fill) {
      case Fill::kMaxQuant: quant_byte = type == QuantType::kQ8_0 ? 0x7F : 0xFF; break;
      case Fill::kMinQuant: quant_byte = type == QuantType::kQ8_0 ? 0x80 : 0x00; break;
      default: break;
    }
    if (fill == Fill::kMaxQuant || fill == Fill::kMinQuant) {
      std::fill(blk + l.quant_begin, blk + l.quant_end, quant_byte);
    }
    if (fill == Fill::kExtremeScale || fill == Fill::kMaxQuant || fill == Fill::kMinQuant) {
      // q4_K: every 6-bit scale and min = 63; q6_K: int8 scales of -128 and 127.
      for (size_t i = l.scales_begin; i < l.scales_end; ++i) {
        blk[i] = type == QuantType::kQ6_K ? ((i & 1) ? 0x7F : 0x80) : 0xFF;
      }
    }
  }
  return w;
}

// Activation floats: uniform in [-1, 1] scaled per 32-value stretch by a random magnitude
// (1e-3 .. 10), so that block scales vary over four decades.
std::vector<float> MakeActivations(size_t n, uint32_t seed) {
  Rng rng(seed);
  std::vector<float> x(n);
  float mag = 1.0f;
  for (size_t i = 0; i < n; ++i) {
    if (i % 32 == 0) mag = static_cast<float>(std::pow(10.0, -3.0 + 4.0 * rng.Uniform()));
    x[i] = mag * rng.Range(-1.0, 1.0);
  }
  return x;
}

ActFormat FormatOf(QuantType t) { return ActFormatFor(t); }

Bytes QuantizeRef(ActFormat fmt, const std::vector<float>& x) {
  Bytes a(ActRowBytes(fmt, x.size()));
  EXPECT_TRUE(ref::QuantizeRow(fmt, x.data(), a.data(), x.size()));
  return a;
}

// Dequantized activation row (format definition: value = d * q).
std::vector<double> DequantAct(ActFormat fmt, const uint8_t* a, size_t n) {
  std::vector<double> out(n);
  const size_t be = ActBlockElems(fmt);
  const size_t bb = ActBlockBytes(fmt);
  for (size_t b = 0; b < n / be; ++b) {
    const uint8_t* blk = a + b * bb;
    double d = 0;
    const uint8_t* qs = nullptr;
    switch (fmt) {
      case ActFormat::kQ8_0:
        d = GetHalf(blk);
        qs = blk + 2;
        break;
      case ActFormat::kQ8_1:
        d = GetHalf(blk);
        qs = blk + 4;
        break;
      case ActFormat::kQ8_K:
        d = GetF32(blk);
        qs = blk + 4;
        break;
      case ActFormat::kNone: std::abort();
    }
    for (size_t j = 0; j < be; ++j) out[b * be + j] = d * static_cast<int8_t>(qs[j]);
  }
  return out;
}

std::vector<float> DequantWeights(QuantType type, const uint8_t* w, size_t n) {
  std::vector<float> out(n);
  EXPECT_TRUE(ref::Dequantize(type, w, out.data(), n));
  return out;
}

// The quant-independent part of each weight (see the header comment).
std::vector<float> WeightOffsets(QuantType type, const uint8_t* w, size_t n) {
  const WeightLayout& l = LayoutOf(type);
  Bytes copy(w, w + n / l.block_elems * l.block_bytes);
  for (size_t b = 0; b < n / l.block_elems; ++b) {
    std::fill(copy.begin() + static_cast<ptrdiff_t>(b * l.block_bytes + l.quant_begin),
              copy.begin() + static_cast<ptrdiff_t>(b * l.block_bytes + l.quant_end), 0);
  }
  return DequantWeights(type, copy.data(), n);
}

size_t WeightRowBytes(QuantType type, size_t n) {
  const WeightLayout& l = LayoutOf(type);
  return n / l.block_elems * l.block_bytes;
}

cpu::VecDotFn RefDot(QuantType t) {
  switch (t) {
    case QuantType::kQ4_0: return ref::VecDotQ4_0;
    case QuantType::kQ4_1: return ref::VecDotQ4_1;
    case QuantType::kQ8_0: return ref::VecDotQ8_0;
    case QuantType::kQ4_K: return ref::VecDotQ4_K;
    case QuantType::kQ6_K: return ref::VecDotQ6_K;
    default: std::abort();
  }
}

double Magnitude(QuantType type, const uint8_t* w, const uint8_t* a, size_t n) {
  const auto wv = DequantWeights(type, w, n);
  const auto bv = WeightOffsets(type, w, n);
  const auto av = DequantAct(FormatOf(type), a, n);
  double mag = 0;
  for (size_t i = 0; i < n; ++i) mag += (std::fabs(wv[i]) + std::fabs(bv[i])) * std::fabs(av[i]);
  return mag;
}

size_t NumBlocks(QuantType type, size_t n) { return n / LayoutOf(type).block_elems; }

double ParityTolerance(QuantType type, size_t n, double mag, double ref) {
  const double nb = static_cast<double>(NumBlocks(type, n));
  return (2 * nb + 16) * kU * mag + 1e-6 * std::fabs(ref) + 1e-30;
}

bool Runs(Isa isa) { return cpu::IsaSupported(isa); }

#define SKIP_UNLESS_RUNS(isa)                                                                  \
  do {                                                                                         \
    if (!Runs(isa)) {                                                                          \
      GTEST_SKIP() << "this CPU lacks " << cpu::IsaName(isa)                                   \
                   << " (avx2: AVX2+FMA+F16C; avx512: AVX-512 F/BW/VL + VNNI); best level is " \
                   << cpu::IsaName(cpu::BestIsa());                                            \
    }                                                                                          \
  } while (0)

// ================================ geometry and lookups ====================================

TEST(ActFormat, PairsAndGeometry) {
  EXPECT_EQ(ActFormatFor(QuantType::kQ4_0), ActFormat::kQ8_0);
  EXPECT_EQ(ActFormatFor(QuantType::kQ4_1), ActFormat::kQ8_1);
  EXPECT_EQ(ActFormatFor(QuantType::kQ8_0), ActFormat::kQ8_0);
  EXPECT_EQ(ActFormatFor(QuantType::kQ4_K), ActFormat::kQ8_K);
  EXPECT_EQ(ActFormatFor(QuantType::kQ6_K), ActFormat::kQ8_K);
  EXPECT_EQ(ActFormatFor(QuantType::kF32), ActFormat::kNone);
  EXPECT_EQ(ActFormatFor(QuantType::kF16), ActFormat::kNone);
  EXPECT_EQ(ActFormatFor(QuantType::kBF16), ActFormat::kNone);
  EXPECT_EQ(ActFormatFor(QuantType::kQ8_1), ActFormat::kNone);
  // Sizes from the block definitions: 2 + 32, 2 + 2 + 32, 4 + 256 + 2 * 16.
  EXPECT_EQ(ActBlockBytes(ActFormat::kQ8_0), 34u);
  EXPECT_EQ(ActBlockBytes(ActFormat::kQ8_1), 36u);
  EXPECT_EQ(ActBlockBytes(ActFormat::kQ8_K), 292u);
  EXPECT_EQ(ActBlockElems(ActFormat::kQ8_K), 256u);
  EXPECT_EQ(ActBlockElems(ActFormat::kNone), 0u);
  EXPECT_EQ(ActRowBytes(ActFormat::kQ8_1, 576), 18u * 36u);
  EXPECT_EQ(ActRowBytes(ActFormat::kQ8_K, 1536), 6u * 292u);
  EXPECT_STREQ(ActFormatName(ActFormat::kQ8_K), "q8_K");
}

TEST(Dispatch, TablesAndLookups) {
  EXPECT_EQ(cpu::KernelsFor(Isa::kScalar).isa, Isa::kScalar);
  EXPECT_TRUE(cpu::IsaSupported(Isa::kScalar));
  EXPECT_LE(static_cast<int>(cpu::ActiveIsa()), static_cast<int>(cpu::BestIsa()));
  EXPECT_EQ(cpu::ActiveKernels().isa, cpu::ActiveIsa());
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    const QuantDotKernels& k = cpu::KernelsFor(isa);
    // Clamped down to what runs here.
    EXPECT_EQ(k.isa, Runs(isa) ? isa : cpu::BestIsa());
    for (QuantType t : kWeightTypes) {
      const cpu::WeightDotKernels* wk = cpu::WeightKernelsFor(k, t);
      ASSERT_NE(wk, nullptr) << TypeName(t);
      EXPECT_EQ(wk->act, ActFormatFor(t));
      EXPECT_NE(wk->dot_tile, nullptr);
      EXPECT_GE(wk->tile_rows, 1u);
      EXPECT_LE(wk->tile_rows, cpu::kMaxTileRows);
      EXPECT_NE(cpu::QuantizeFnFor(k, wk->act), nullptr);
    }
    EXPECT_EQ(cpu::WeightKernelsFor(k, QuantType::kF32), nullptr);
    EXPECT_EQ(cpu::WeightKernelsFor(k, QuantType::kQ8_1), nullptr);
    EXPECT_EQ(cpu::QuantizeFnFor(k, ActFormat::kNone), nullptr);
  }
  EXPECT_STREQ(cpu::IsaName(Isa::kAvx512), "avx512");
}

// SPATTEN_CPU_ISA is read once per process, so each setting is checked in a child process
// that reruns this test binary with the variable set.
TEST(Dispatch, EnvironmentForcesALowerLevel) {
  if (const char* expect = std::getenv("SPATTEN_QD_EXPECT_ISA")) {  // we are the child
    EXPECT_STREQ(cpu::IsaName(cpu::ActiveIsa()), expect);
    EXPECT_EQ(cpu::ActiveKernels().isa, cpu::ActiveIsa());
    return;
  }
  char self[4096];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len <= 0) GTEST_SKIP() << "cannot find this executable through /proc/self/exe";
  self[len] = '\0';
  const std::string best = cpu::IsaName(cpu::BestIsa());
  struct Case {
    std::string env;
    std::string expect;
  };
  std::vector<Case> cases = {{"scalar", "scalar"}, {"auto", best}, {"", best}, {"bogus", best}};
  if (Runs(Isa::kAvx2)) cases.push_back({"avx2", "avx2"});
  // Asking for more than the CPU has falls back to the best level.
  cases.push_back({"avx512", Runs(Isa::kAvx512) ? "avx512" : best});
  for (const Case& c : cases) {
    const std::string cmd =
        "SPATTEN_CPU_ISA='" + c.env + "' SPATTEN_QD_EXPECT_ISA='" + c.expect + "' '" + self +
        "' --gtest_filter=Dispatch.EnvironmentForcesALowerLevel >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0)
        << "SPATTEN_CPU_ISA=" << c.env << " should select " << c.expect;
  }
}

// ================================ activation quantizers ===================================

// Block of 32 with amax = 127: d = 1 (fp16 0x3C00) and the multiplier 127 / amax = 1, so
// each quant is x rounded half to even.
std::vector<float> UnitScaleBlock() {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  x[1] = -63.5f;  // tie -> -64 (even)
  x[2] = 0.5f;    // tie -> 0
  x[3] = 1.5f;    // tie -> 2
  x[4] = 2.5f;    // tie -> 2
  x[5] = -2.5f;   // tie -> -2
  x[6] = -0.49f;  // -> 0
  x[7] = 3.51f;   // -> 4
  x[8] = -127.0f;
  x[9] = 100.25f;  // -> 100
  return x;
}

// Block of 32 with amax = 254: d = 2 (fp16 0x4000), multiplier 127 / 254 = 0.5.
std::vector<float> ScaleTwoBlock() {
  std::vector<float> x(32, 0.0f);
  x[0] = 3.0f;     // 1.5 -> 2
  x[1] = 5.0f;     // 2.5 -> 2
  x[2] = -1.0f;    // -0.5 -> 0
  x[3] = 254.0f;   // 127
  x[4] = -254.0f;  // -127
  x[31] = 7.0f;    // 3.5 -> 4
  return x;
}

TEST(QuantizeQ8_0, HandComputedBlocks) {
  std::vector<float> x = UnitScaleBlock();
  const std::vector<float> x2 = ScaleTwoBlock();
  x.insert(x.end(), x2.begin(), x2.end());
  x.insert(x.end(), 32, 0.0f);  // all-zero block: d = 0, quants 0
  Bytes y(3 * 34, 0xAA);
  ref::QuantizeRowQ8_0(x.data(), y.data(), x.size());

  std::array<int8_t, 32> q1{};
  q1[0] = 127;
  q1[1] = -64;
  q1[2] = 0;
  q1[3] = 2;
  q1[4] = 2;
  q1[5] = -2;
  q1[6] = 0;
  q1[7] = 4;
  q1[8] = -127;
  q1[9] = 100;
  std::array<int8_t, 32> q2{};
  q2[0] = 2;
  q2[1] = 2;
  q2[2] = 0;
  q2[3] = 127;
  q2[4] = -127;
  q2[31] = 4;

  EXPECT_EQ(y[0], 0x00);
  EXPECT_EQ(y[1], 0x3C);  // d = 1.0
  EXPECT_EQ(y[34], 0x00);
  EXPECT_EQ(y[35], 0x40);  // d = 2.0
  EXPECT_EQ(y[68], 0x00);
  EXPECT_EQ(y[69], 0x00);  // d = 0
  for (int j = 0; j < 32; ++j) {
    EXPECT_EQ(static_cast<int8_t>(y[2 + j]), q1[j]) << j;
    EXPECT_EQ(static_cast<int8_t>(y[36 + j]), q2[j]) << j;
    EXPECT_EQ(y[70 + j], 0) << j;
  }
}

TEST(QuantizeQ8_0, ScaleThatRoundsToZeroGivesAZeroBlock) {
  // amax = 1e-9: d = 7.9e-12 is below half the smallest fp16 subnormal (2^-25), so the
  // stored scale is 0 and the quants are written as 0 rather than as 127-ish values.
  std::vector<float> x(32, 1e-9f);
  Bytes y(34, 0xAA);
  ref::QuantizeRowQ8_0(x.data(), y.data(), 32);
  for (uint8_t v : y) EXPECT_EQ(v, 0);
}

TEST(QuantizeQ8_1, HandComputedBlocks) {
  std::vector<float> x = UnitScaleBlock();
  const std::vector<float> x2 = ScaleTwoBlock();
  x.insert(x.end(), x2.begin(), x2.end());
  Bytes y(2 * 36, 0xAA);
  ref::QuantizeRowQ8_1(x.data(), y.data(), x.size());
  // Block 1: d = 1, sum = 127 - 64 + 0 + 2 + 2 - 2 + 0 + 4 - 127 + 100 = 42 -> s = 42.0
  //   fp16(42) = 1.3125 * 2^5: exponent 5 + 15 = 20 -> 0x5000 | (0.3125 * 1024 = 320) = 0x5140
  EXPECT_EQ(y[0], 0x00);
  EXPECT_EQ(y[1], 0x3C);
  EXPECT_EQ(y[2], 0x40);
  EXPECT_EQ(y[3], 0x51);
  EXPECT_EQ(static_cast<int8_t>(y[4 + 1]), -64);
  EXPECT_EQ(static_cast<int8_t>(y[4 + 9]), 100);
  // Block 2: d = 2, sum = 2 + 2 + 0 + 127 - 127 + 4 = 8 -> s = 16.0 = 2^4 -> 0x4C00
  EXPECT_EQ(y[36], 0x00);
  EXPECT_EQ(y[37], 0x40);
  EXPECT_EQ(y[38], 0x00);
  EXPECT_EQ(y[39], 0x4C);
  EXPECT_EQ(static_cast<int8_t>(y[40 + 31]), 4);
  EXPECT_EQ(static_cast<int8_t>(y[40 + 3]), 127);
}

TEST(QuantizeQ8_1, SumUsesTheF32ScaleBeforeRounding) {
  // amax = 1: d = 1/127 = 0.0078740157 in f32, stored as fp16 0x2008 (2^-7 * 1.0078125 =
  // 0.00787353515625). Quants 127, -127, 17 -> sum 17.
  //   s = fp16(0.0078740157 * 17 = 0.13385827) = 0x3049 (0.1339111328125; 0x3048 is
  //   0.1337890625, further away), whereas fp16(fp16(d) * 17 = 0.13385010) would be 0x3048:
  //   s must come from the f32 scale.
  std::vector<float> x(32, 0.0f);
  x[0] = 1.0f;
  x[1] = -1.0f;
  x[2] = 17.0f / 127.0f;  // * 127 = 17.000000 -> 17
  Bytes y(36);
  ref::QuantizeRowQ8_1(x.data(), y.data(), 32);
  EXPECT_EQ(y[0] | (y[1] << 8), 0x2008);
  EXPECT_EQ(y[2] | (y[3] << 8), 0x3049);
  EXPECT_EQ(static_cast<int8_t>(y[4]), 127);
  EXPECT_EQ(static_cast<int8_t>(y[5]), -127);
  EXPECT_EQ(static_cast<int8_t>(y[6]), 17);
}

TEST(QuantizeQ8_K, HandComputedBlockWithNegativeMax) {
  // Largest magnitude is x[5] = -254 -> iscale = -127 / -254 = 0.5, d = 1 / 0.5 = 2.
  std::vector<float> x(256, 0.0f);
  x[5] = -254.0f;  // -127
  x[6] = 127.0f;   // 63.5 -> 64
  x[7] = 1.0f;     // 0.5 -> 0
  x[8] = -1.0f;    // -0.5 -> 0
  x[9] = 3.0f;     // 1.5 -> 2
  x[17] = 254.0f;  // ties with |x[5]|: the first one wins; 127
  x[255] = -5.0f;  // -2.5 -> -2
  Bytes y(292, 0xAA);
  ref::QuantizeRowQ8_K(x.data(), y.data(), 256);
  EXPECT_EQ(GetF32(y.data()), 2.0f);
  const uint8_t* qs = y.data() + 4;
  EXPECT_EQ(static_cast<int8_t>(qs[5]), -127);
  EXPECT_EQ(static_cast<int8_t>(qs[6]), 64);
  EXPECT_EQ(static_cast<int8_t>(qs[7]), 0);
  EXPECT_EQ(static_cast<int8_t>(qs[8]), 0);
  EXPECT_EQ(static_cast<int8_t>(qs[9]), 2);
  EXPECT_EQ(static_cast<int8_t>(qs[17]), 127);
  EXPECT_EQ(static_cast<int8_t>(qs[255]), -2);
  EXPECT_EQ(static_cast<int8_t>(qs[0]), 0);
  const uint8_t* bsums = y.data() + 4 + 256;
  EXPECT_EQ(GetI16(bsums + 0), -127 + 64 + 0 + 0 + 2);  // values 0..15
  EXPECT_EQ(GetI16(bsums + 2), 127);                    // values 16..31
  EXPECT_EQ(GetI16(bsums + 30), -2);                    // values 240..255
  for (int g = 2; g < 15; ++g) EXPECT_EQ(GetI16(bsums + 2 * g), 0) << g;
}

TEST(QuantizeQ8_K, PositiveMaxGivesNegativeScaleAndNegatedQuants) {
  // Largest magnitude x[0] = 254 > 0 -> iscale = -0.5, d = -2: quants have the opposite sign.
  std::vector<float> x(256, 0.0f);
  x[0] = 254.0f;  // -127
  x[1] = -6.0f;   // 3
  x[2] = 10.0f;   // -5
  Bytes y(292);
  ref::QuantizeRowQ8_K(x.data(), y.data(), 256);
  EXPECT_EQ(GetF32(y.data()), -2.0f);
  EXPECT_EQ(static_cast<int8_t>(y[4]), -127);
  EXPECT_EQ(static_cast<int8_t>(y[5]), 3);
  EXPECT_EQ(static_cast<int8_t>(y[6]), -5);
  EXPECT_EQ(GetI16(y.data() + 260), -127 + 3 - 5);
}

TEST(QuantizeQ8_K, ZeroBlock) {
  std::vector<float> x(512, 0.0f);
  x[300] = 1.0f;  // second block non-zero: 1 -> iscale -127, d = -1/127
  Bytes y(2 * 292, 0xAA);
  ref::QuantizeRowQ8_K(x.data(), y.data(), 512);
  for (size_t i = 0; i < 292; ++i) EXPECT_EQ(y[i], 0) << i;
  EXPECT_EQ(GetF32(y.data() + 292), -1.0f / 127.0f);  // 1 / (-127.0f / 1) in f32
  EXPECT_EQ(static_cast<int8_t>(y[292 + 4 + 44]), -127);
}

TEST(QuantizeRow, RejectsBadRequests) {
  std::vector<float> x(48, 1.0f);
  Bytes y(64, 0xAA);
  EXPECT_FALSE(ref::QuantizeRow(ActFormat::kQ8_0, x.data(), y.data(), 48));
  EXPECT_FALSE(ref::QuantizeRow(ActFormat::kQ8_K, x.data(), y.data(), 32));
  EXPECT_FALSE(ref::QuantizeRow(ActFormat::kNone, x.data(), y.data(), 32));
  for (uint8_t v : y) EXPECT_EQ(v, 0xAA);
}

// Rows that stress the rounding: random data, ties at x.5 (amax = 127 makes the multiplier
// exactly 1), blocks of zeros, tiny blocks and single outliers.
std::vector<float> QuantizerStressRow(size_t n, uint32_t seed) {
  std::vector<float> x = MakeActivations(n, seed);
  Rng rng(seed ^ 0x5EEDu);
  for (size_t b = 0; b < n / 32; ++b) {
    float* blk = x.data() + 32 * b;
    switch (b % 5) {
      case 0:
        blk[0] = 127.0f;
        for (int j = 1; j < 32; ++j)
          blk[j] = static_cast<float>(static_cast<int>(rng.Bits() % 253) - 126) + 0.5f;
        break;
      case 1: std::fill(blk, blk + 32, 0.0f); break;
      case 2:
        for (int j = 0; j < 32; ++j) blk[j] *= 1e-7f;
        break;
      case 3: blk[rng.Bits() % 32] = -1000.0f; break;
      default: break;
    }
  }
  return x;
}

class SimdQuantizerTest : public ::testing::TestWithParam<Isa> {};

TEST_P(SimdQuantizerTest, BitExactWithScalar) {
  SKIP_UNLESS_RUNS(GetParam());
  const QuantDotKernels& k = cpu::KernelsFor(GetParam());
  for (ActFormat fmt : {ActFormat::kQ8_0, ActFormat::kQ8_1, ActFormat::kQ8_K}) {
    for (size_t n : {256u, 512u, 1536u, 4096u + 256u}) {
      for (uint32_t seed = 1; seed <= 3; ++seed) {
        const std::vector<float> x = QuantizerStressRow(n, seed * 977u + static_cast<uint32_t>(n));
        const Bytes want = QuantizeRef(fmt, x);
        // Misaligned destination: one byte into the buffer.
        Bytes got(want.size() + 1, 0xAA);
        cpu::QuantizeFnFor(k, fmt)(x.data(), got.data() + 1, n);
        ASSERT_EQ(0, std::memcmp(want.data(), got.data() + 1, want.size()))
            << ActFormatName(fmt) << " n=" << n << " seed=" << seed;
        EXPECT_EQ(got[0], 0xAA);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, SimdQuantizerTest, ::testing::Values(Isa::kAvx2, Isa::kAvx512),
                         [](const auto& p) { return std::string(cpu::IsaName(p.param)); });

// ================================ reference dot products ==================================

// Sizes: one block, a few blocks, odd block counts, the default model's widths, and > 4096.
std::vector<size_t> SizesFor(QuantType t) {
  if (LayoutOf(t).block_elems == 256) return {256, 512, 768, 1536, 2304, 4096 + 256};
  return {32, 64, 96, 160, 256, 512 + 32, 576, 1536, 4096 + 32};
}

// sum_b m_b * (s_b - da_b * sum(qa_b)) for q4_1: the difference between the exact dot of the
// dequantized rows and what the format computes (s is rounded separately to fp16).
double Q4_1SumCorrection(const uint8_t* w, const uint8_t* a, size_t n) {
  double corr = 0;
  for (size_t b = 0; b < n / 32; ++b) {
    const uint8_t* wb = w + 20 * b;
    const uint8_t* ab = a + 36 * b;
    int qsum = 0;
    for (int j = 0; j < 32; ++j) qsum += static_cast<int8_t>(ab[4 + j]);
    corr += static_cast<double>(GetHalf(wb + 2)) *
            (static_cast<double>(GetHalf(ab + 2)) - static_cast<double>(GetHalf(ab)) * qsum);
  }
  return corr;
}

// The reference dot equals sum_i w_i * a_i over the dequantized rows (plus the q4_1 sum
// correction), up to float rounding: the block layouts of weights and activations line up.
TEST(RefVecDot, EqualsDotOfDequantizedRows) {
  for (QuantType t : kWeightTypes) {
    for (size_t n : SizesFor(t)) {
      for (Fill fill : {Fill::kRandom, Fill::kNegScale, Fill::kMaxQuant, Fill::kMinQuant}) {
        const uint32_t seed = static_cast<uint32_t>(n) * 31u + static_cast<uint32_t>(fill);
        const Bytes w = MakeWeights(t, 1, n, seed, fill);
        const Bytes a = QuantizeRef(FormatOf(t), MakeActivations(n, seed + 7));
        const auto wv = DequantWeights(t, w.data(), n);
        const auto av = DequantAct(FormatOf(t), a.data(), n);
        double want = 0;
        for (size_t i = 0; i < n; ++i) want += static_cast<double>(wv[i]) * av[i];
        if (t == QuantType::kQ4_1) want += Q4_1SumCorrection(w.data(), a.data(), n);
        const double got = RefDot(t)(n, w.data(), a.data());
        const double mag = Magnitude(t, w.data(), a.data(), n);
        // Dequantizing w costs up to 3 roundings per value (scale products, offset), on top of
        // the accumulation bound.
        const double tol = ParityTolerance(t, n, mag, want) + 4 * kU * mag;
        EXPECT_NEAR(got, want, tol)
            << TypeName(t) << " n=" << n << " fill=" << static_cast<int>(fill);
      }
    }
  }
}

// Hand-computed extremes: every product at its largest magnitude.
TEST(RefVecDot, ExtremeBlocksHandComputed) {
  // q8_0: w quants all -128 with d = 1; activation quants all 127 with d = 1.
  // Per block: 32 * (-128 * 127) = 32 * -16256 = -520192. Two blocks: -1040384 (exact in f32).
  Bytes w(68, 0x80);
  PutHalf(w.data(), 1.0f);
  PutHalf(w.data() + 34, 1.0f);
  Bytes a(68, 0x7F);
  PutHalf(a.data(), 1.0f);
  PutHalf(a.data() + 34, 1.0f);
  EXPECT_EQ(ref::VecDotQ8_0(64, w.data(), a.data()), -1040384.0f);
  // q4_0 with all nibbles 0 -> -8; d = 0.5; activations 127, d = 1: 32 * -8 * 127 * 0.5 = -16256
  Bytes w4(18, 0x00);
  PutHalf(w4.data(), 0.5f);
  EXPECT_EQ(ref::VecDotQ4_0(32, w4.data(), a.data()), -16256.0f);
  // q4_1 with all nibbles 15, d = 1, m = -2; activation quants -127 with d = 1, s = -4064:
  // 1 * 1 * 32 * 15 * -127 + (-2) * (-4064) = -60960 + 8128 = -52832
  Bytes w41(20, 0xFF);
  PutHalf(w41.data(), 1.0f);
  PutHalf(w41.data() + 2, -2.0f);
  Bytes a1(36, 0x81);  // -127
  PutHalf(a1.data(), 1.0f);
  PutHalf(a1.data() + 2, -4064.0f);
  EXPECT_EQ(ref::VecDotQ4_1(32, w41.data(), a1.data()), -52832.0f);
  // q6_K with every quant 63 (-> 31 after the offset) and every scale -128, d = 1/64; q8_K
  // quants all 127, d = 1: 256 * 31 * -128 * 127 / 64 = -2015744
  Bytes w6(210, 0xFF);
  std::fill(w6.begin() + 192, w6.begin() + 208, 0x80);
  PutHalf(w6.data() + 208, 1.0f / 64.0f);
  Bytes ak(292, 0x7F);
  const float one = 1.0f;
  std::memcpy(ak.data(), &one, 4);
  for (int g = 0; g < 16; ++g) {
    const auto s = static_cast<uint16_t>(16 * 127);
    ak[260 + 2 * g] = static_cast<uint8_t>(s & 0xFF);
    ak[261 + 2 * g] = static_cast<uint8_t>(s >> 8);
  }
  EXPECT_EQ(ref::VecDotQ6_K(256, w6.data(), ak.data()), -2015744.0f);
  // q4_K with every quant 15, every scale and min 63, d = 1/64, dmin = 1/32; q8_K as above:
  // per value 15 * 63 / 64 - 63 / 32; times 127 * 256 values:
  //   (945 / 64 - 126 / 64) * 127 * 256 = 819 * 127 * 4 = 416052
  Bytes wk(144, 0xFF);
  PutHalf(wk.data(), 1.0f / 64.0f);
  PutHalf(wk.data() + 2, 1.0f / 32.0f);
  EXPECT_EQ(ref::VecDotQ4_K(256, wk.data(), ak.data()), 416052.0f);
}

// Quantization error bound. With a_i the float activation and w_i the dequantized weight:
//   q8_0 / q8_1: d = amax / 127 (f32) and the stored scale d16 = fp16(d), so
//     |a_i - d16 * q_i| <= |a_i - d q_i| + |q_i| |d - d16| <= d / 2 + 127 * |d - d16|
//     (rounding half a step, plus fp16's rounding on |q| <= 127 steps), where
//     |d - d16| <= max(2^-11 d, 2^-25): relative for normal halves, absolute below 2^-14
//     (subnormal halves; a scale that rounds to 0 zeroes the block and is covered too);
//   q8_K: d is stored as f32, so |a_i - d q_i| <= d / 2 + 127 * 2^-23 * d (+ the rounding of
//     iscale * a_i, below 2^-24 * 127 steps);
//   q4_1 adds the separately rounded s: |m| * |s - d16 * sum q| <= |m| * 2^-10 * d * 32 * 127.
// Hence |dot - sum_i w_i a_i| <= sum_i |w_i| e_b(i) + sum_b |m_b| * amax_b * 2^-5 (q4_1) plus
// the accumulation rounding (2 nb + 16) u mag, all with 1% slack.
double QuantizationBound(QuantType t, const uint8_t* w, const std::vector<float>& x) {
  const size_t n = x.size();
  const ActFormat fmt = FormatOf(t);
  const size_t be = ActBlockElems(fmt);
  const auto wv = DequantWeights(t, w, n);
  double bound = 0;
  for (size_t b = 0; b < n / be; ++b) {
    double amax = 0;
    for (size_t j = 0; j < be; ++j)
      amax = std::max(amax, std::fabs(static_cast<double>(x[b * be + j])));
    const double d = amax / 127.0;
    const double scale_err = fmt == ActFormat::kQ8_K
                                 ? std::ldexp(d, -22)
                                 : std::max(std::ldexp(d, -11), std::ldexp(1.0, -25));
    const double e = d / 2 + 127.0 * scale_err;
    for (size_t j = 0; j < be; ++j) bound += std::fabs(wv[b * be + j]) * e;
    if (t == QuantType::kQ4_1)
      bound += std::fabs(GetHalf(w + 20 * b + 2)) * amax * std::ldexp(1.0, -5);
  }
  return 1.01 * bound;
}

TEST(RefVecDot, CloseToFloatDotWithinQuantizationBound) {
  for (QuantType t : kWeightTypes) {
    for (size_t n : SizesFor(t)) {
      for (uint32_t seed = 1; seed <= 3; ++seed) {
        const Bytes w = MakeWeights(t, 1, n, seed * 101u + static_cast<uint32_t>(n), Fill::kRandom);
        const std::vector<float> x = MakeActivations(n, seed * 7919u + static_cast<uint32_t>(n));
        const Bytes a = QuantizeRef(FormatOf(t), x);
        const auto wv = DequantWeights(t, w.data(), n);
        double exact = 0;
        for (size_t i = 0; i < n; ++i) exact += static_cast<double>(wv[i]) * x[i];
        const double got = RefDot(t)(n, w.data(), a.data());
        const double mag = Magnitude(t, w.data(), a.data(), n);
        const double bound = QuantizationBound(t, w.data(), x) + ParityTolerance(t, n, mag, exact);
        EXPECT_NEAR(got, exact, bound) << TypeName(t) << " n=" << n << " seed=" << seed;
        // The bound is a worst case; random rounding errors cancel, so the typical error is far
        // below it. (Guards against a bound so loose that it would accept anything.)
        EXPECT_LT(bound, 0.5 * mag + 1e-12) << TypeName(t) << " n=" << n;
      }
    }
  }
}

// ================================ SIMD parity =============================================

struct ParityCase {
  QuantType type;
  Isa isa;
};

void PrintTo(const ParityCase& c, std::ostream* os) {
  *os << TypeName(c.type) << " on " << cpu::IsaName(c.isa);
}

class SimdDotTest : public ::testing::TestWithParam<ParityCase> {};

TEST_P(SimdDotTest, SingleDotsAndTilesMatchScalar) {
  const QuantType t = GetParam().type;
  const Isa isa = GetParam().isa;
  SKIP_UNLESS_RUNS(isa);
  const QuantDotKernels& k = cpu::KernelsFor(isa);
  const cpu::WeightDotKernels* wk = cpu::WeightKernelsFor(k, t);
  ASSERT_NE(wk, nullptr);
  const ActFormat fmt = FormatOf(t);
  constexpr size_t kRows = 5;
  constexpr size_t kActs = 5;
  for (size_t n : SizesFor(t)) {
    for (Fill fill : {Fill::kRandom, Fill::kZero, Fill::kMaxQuant, Fill::kMinQuant, Fill::kNegScale,
                      Fill::kExtremeScale}) {
      const uint32_t seed = static_cast<uint32_t>(n) * 13u + static_cast<uint32_t>(fill) * 1000u;
      // Weight rows start one byte into the buffer: no alignment anywhere.
      const Bytes w_store = [&] {
        Bytes b(1);
        const Bytes wr = MakeWeights(t, kRows, n, seed, fill);
        b.insert(b.end(), wr.begin(), wr.end());
        return b;
      }();
      const uint8_t* w = w_store.data() + 1;
      const size_t row_bytes = WeightRowBytes(t, n);
      // Activation rows, also misaligned and padded; the last one is all zeros.
      const size_t a_bytes = ActRowBytes(fmt, n);
      const size_t a_stride = a_bytes + 3;
      Bytes a_store(1 + kActs * a_stride, 0);
      for (size_t j = 0; j + 1 < kActs; ++j) {
        const Bytes aj =
            QuantizeRef(fmt, MakeActivations(n, seed + 17u * static_cast<uint32_t>(j)));
        std::memcpy(a_store.data() + 1 + j * a_stride, aj.data(), a_bytes);
      }
      const uint8_t* a = a_store.data() + 1;
      // Reference values and tolerances for every (row, activation) pair.
      std::vector<double> want(kRows * kActs);
      std::vector<double> tol(kRows * kActs);
      for (size_t r = 0; r < kRows; ++r) {
        for (size_t j = 0; j < kActs; ++j) {
          const uint8_t* wr = w + r * row_bytes;
          const uint8_t* aj = a + j * a_stride;
          want[r * kActs + j] = RefDot(t)(n, wr, aj);
          tol[r * kActs + j] = ParityTolerance(t, n, Magnitude(t, wr, aj, n), want[r * kActs + j]);
          EXPECT_NEAR(wk->dot(n, wr, aj), want[r * kActs + j], tol[r * kActs + j])
              << TypeName(t) << " n=" << n << " fill=" << static_cast<int>(fill) << " row=" << r
              << " act=" << j;
        }
      }
      // Every tile shape, at the first and the last possible position.
      for (size_t nr = 1; nr <= cpu::kMaxTileRows; ++nr) {
        for (size_t na = 1; na <= cpu::kMaxTileCols; ++na) {
          for (size_t r0 : {size_t{0}, kRows - nr}) {
            for (size_t j0 : {size_t{0}, kActs - na}) {
              float out[cpu::kMaxTileRows * cpu::kMaxTileCols + 1];
              out[nr * na] = -7.0f;  // must stay untouched
              wk->dot_tile(n, w + r0 * row_bytes, row_bytes, nr, a + j0 * a_stride, a_stride, na,
                           out);
              EXPECT_EQ(out[nr * na], -7.0f);
              for (size_t i = 0; i < nr; ++i) {
                for (size_t j = 0; j < na; ++j) {
                  const size_t ref_index = (r0 + i) * kActs + j0 + j;
                  EXPECT_NEAR(out[i * na + j], want[ref_index], tol[ref_index])
                      << TypeName(t) << " tile " << nr << "x" << na << " n=" << n
                      << " fill=" << static_cast<int>(fill) << " row=" << r0 + i
                      << " act=" << j0 + j;
                }
              }
            }
          }
        }
      }
    }
  }
}

TEST_P(SimdDotTest, MatVecAndMatMulOverRowRanges) {
  const QuantType t = GetParam().type;
  const Isa isa = GetParam().isa;
  SKIP_UNLESS_RUNS(isa);
  const QuantDotKernels& k = cpu::KernelsFor(isa);
  const ActFormat fmt = FormatOf(t);
  const size_t cols = LayoutOf(t).block_elems == 256 ? 768 : 576;
  constexpr size_t kRows = 37;
  const Bytes w = MakeWeights(t, kRows, cols, 4242u, Fill::kRandom);
  const size_t row_bytes = WeightRowBytes(t, cols);
  constexpr size_t kActs = 9;  // two full groups of 4 and a remainder
  const size_t a_stride = ActRowBytes(fmt, cols);
  Bytes a(kActs * a_stride);
  for (size_t j = 0; j < kActs; ++j) {
    const std::vector<float> x = MakeActivations(cols, 99u + static_cast<uint32_t>(j));
    ASSERT_TRUE(ref::QuantizeRow(fmt, x.data(), a.data() + j * a_stride, cols));
  }
  auto want = [&](size_t r, size_t j) {
    return static_cast<double>(RefDot(t)(cols, w.data() + r * row_bytes, a.data() + j * a_stride));
  };
  auto tol = [&](size_t r, size_t j, double ref_value) {
    return ParityTolerance(
        t, cols, Magnitude(t, w.data() + r * row_bytes, a.data() + j * a_stride, cols), ref_value);
  };
  const float kSentinel = -12345.0f;
  for (const auto& [r0, r1] :
       std::vector<std::pair<size_t, size_t>>{{0, kRows}, {5, 23}, {36, 37}, {7, 7}}) {
    std::vector<float> y(kRows, kSentinel);
    ASSERT_TRUE(cpu::MatVecQuant(k, t, w.data(), kRows, cols, a.data(), y.data(), r0, r1));
    for (size_t r = 0; r < kRows; ++r) {
      if (r < r0 || r >= r1) {
        EXPECT_EQ(y[r], kSentinel) << r;
      } else {
        EXPECT_NEAR(y[r], want(r, 0), tol(r, 0, want(r, 0))) << "matvec row " << r;
      }
    }
    const size_t y_stride = kRows + 2;
    std::vector<float> ym(kActs * y_stride, kSentinel);
    ASSERT_TRUE(cpu::MatMulQuant(k, t, w.data(), kRows, cols, a.data(), a_stride, kActs, ym.data(),
                                 y_stride, r0, r1));
    for (size_t j = 0; j < kActs; ++j) {
      for (size_t r = 0; r < y_stride; ++r) {
        const float v = ym[j * y_stride + r];
        if (r < r0 || r >= r1) {
          EXPECT_EQ(v, kSentinel) << j << "," << r;
        } else {
          EXPECT_NEAR(v, want(r, j), tol(r, j, want(r, j))) << "matmul row " << r << " act " << j;
        }
      }
    }
  }
}

std::vector<ParityCase> AllParityCases() {
  std::vector<ParityCase> cases;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    for (QuantType t : kWeightTypes) cases.push_back({t, isa});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(TypesAndIsas, SimdDotTest, ::testing::ValuesIn(AllParityCases()),
                         [](const auto& p) {
                           return TypeName(p.param.type) + "_" + cpu::IsaName(p.param.isa);
                         });

// The scalar table and the helpers' argument checks (no ISA needed).
TEST(MatVecQuant, RejectsBadRequests) {
  const QuantDotKernels& k = cpu::KernelsFor(Isa::kScalar);
  const Bytes w = MakeWeights(QuantType::kQ4_1, 4, 64, 1u, Fill::kRandom);
  const Bytes a(ActRowBytes(ActFormat::kQ8_1, 64));
  std::vector<float> y(4, 5.0f);
  EXPECT_FALSE(cpu::MatVecQuant(k, QuantType::kF32, w.data(), 4, 64, a.data(), y.data(), 0, 4));
  EXPECT_FALSE(cpu::MatVecQuant(k, QuantType::kQ4_1, w.data(), 4, 48, a.data(), y.data(), 0, 4));
  EXPECT_FALSE(cpu::MatVecQuant(k, QuantType::kQ4_1, w.data(), 4, 64, a.data(), y.data(), 3, 2));
  EXPECT_FALSE(cpu::MatVecQuant(k, QuantType::kQ4_1, w.data(), 4, 64, a.data(), y.data(), 0, 5));
  EXPECT_FALSE(cpu::MatVecQuant(k, QuantType::kQ4_K, w.data(), 1, 128, a.data(), y.data(), 0, 1));
  EXPECT_FALSE(cpu::MatMulQuant(k, QuantType::kQ8_1, w.data(), 4, 64, a.data(), a.size(), 1,
                                y.data(), 4, 0, 4));
  for (float v : y) EXPECT_EQ(v, 5.0f);
  // A valid call through the active table works.
  EXPECT_TRUE(cpu::MatVecQuant(QuantType::kQ4_1, w.data(), 4, 64, a.data(), y.data(), 0, 4));
  for (float v : y) EXPECT_EQ(v, 0.0f);  // all-zero activation block: d = 0, s = 0
}

}  // namespace
}  // namespace spatten::kernels
