// Unit tests for the scalar reference ops (kernels/ref/ops.h) and, at the end, parity of their
// SIMD versions (kernels/cpu/dispatch.h OpsKernels) with them.
//
// Expected values are worked out by hand from the op definitions (shown in comments) or with
// std:: math written out in the test; the code under test never produces an expectation.
#include "kernels/ref/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/dispatch.h"

namespace spatten::kernels::ref {
namespace {

constexpr float kTol = 1e-6f;

TEST(RmsNormTest, MatchesHandComputedValues) {
  // mean(x^2) = (1 + 4 + 9 + 16) / 4 = 7.5; scale = 1 / sqrt(7.5) = 0.36514837
  const float x[4] = {1, 2, 3, 4};
  const float w[4] = {1, 1, 2, 0.5f};
  float out[4];
  RmsNorm(x, w, out, 4, 0.0f);
  EXPECT_NEAR(out[0], 0.36514837f, kTol);
  EXPECT_NEAR(out[1], 0.73029674f, kTol);
  EXPECT_NEAR(out[2], 2.19089023f, kTol);  // 3 * 0.365 * 2
  EXPECT_NEAR(out[3], 0.73029674f, kTol);  // 4 * 0.365 * 0.5
}

TEST(RmsNormTest, EpsilonIsAddedToTheMeanSquare) {
  // mean(x^2) = 1; 1 / sqrt(1 + 3) = 0.5
  const float x[2] = {1, -1};
  const float w[2] = {1, 1};
  float out[2];
  RmsNorm(x, w, out, 2, 3.0f);
  EXPECT_NEAR(out[0], 0.5f, kTol);
  EXPECT_NEAR(out[1], -0.5f, kTol);
  // All zeros stay zeros (no division by zero with eps > 0).
  const float z[2] = {0, 0};
  RmsNorm(z, w, out, 2, 1e-5f);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 0.0f);
}

TEST(RmsNormTest, OutputMayAliasInput) {
  float x[2] = {3, 4};  // mean square 12.5
  const float w[2] = {1, 1};
  RmsNorm(x, w, x, 2, 0.0f);
  EXPECT_NEAR(x[0], 3 / std::sqrt(12.5f), kTol);
  EXPECT_NEAR(x[1], 4 / std::sqrt(12.5f), kTol);
}

TEST(RopeTest, PositionZeroIsIdentity) {
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  RopeAdjacent(x, 2, 4, 4, 0, 10000.0f);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(x[i], static_cast<float>(i + 1));
}

TEST(RopeTest, RotatesAdjacentPairsByHandComputedAngles) {
  // head_dim 4, base 10000, pos 1: pair 0 angle = 1 * 10000^0 = 1 rad,
  // pair 1 angle = 10000^(-2/4) = 0.01 rad. Two heads get the same rotation.
  float x[8] = {1, 0, 0, 1, 1, 2, 3, 4};
  RopeAdjacent(x, 2, 4, 4, 1, 10000.0f);
  const float c1 = std::cos(1.0f), s1 = std::sin(1.0f);
  const float c2 = std::cos(0.01f), s2 = std::sin(0.01f);
  EXPECT_NEAR(x[0], c1, kTol);
  EXPECT_NEAR(x[1], s1, kTol);
  EXPECT_NEAR(x[2], -s2, kTol);
  EXPECT_NEAR(x[3], c2, kTol);
  // (x0, x1) = (1, 2): (1 cos - 2 sin, 1 sin + 2 cos): adjacent pairs, not "rotate half".
  EXPECT_NEAR(x[4], c1 - 2 * s1, kTol);
  EXPECT_NEAR(x[5], s1 + 2 * c1, kTol);
  EXPECT_NEAR(x[6], 3 * c2 - 4 * s2, kTol);
  EXPECT_NEAR(x[7], 3 * s2 + 4 * c2, kTol);
}

TEST(RopeTest, LargePositionUsesExactAngle) {
  // pos 5000, pair 0: angle 5000 rad. cos/sin in double give the exact rotation.
  float x[2] = {1, 0};
  RopeAdjacent(x, 1, 2, 2, 5000, 10000.0f);
  EXPECT_NEAR(x[0], static_cast<float>(std::cos(5000.0)), 1e-5f);
  EXPECT_NEAR(x[1], static_cast<float>(std::sin(5000.0)), 1e-5f);
}

TEST(RopeTest, PartialRotaryLeavesTailUntouched) {
  // rot_dims 2 of head_dim 4: only the first pair turns, angle = pos * base^0 = 2 rad.
  float x[4] = {1, 0, 5, 6};
  RopeAdjacent(x, 1, 4, 2, 2, 10000.0f);
  EXPECT_NEAR(x[0], std::cos(2.0f), kTol);
  EXPECT_NEAR(x[1], std::sin(2.0f), kTol);
  EXPECT_EQ(x[2], 5.0f);
  EXPECT_EQ(x[3], 6.0f);
}

TEST(SoftmaxTest, KnownValuesAndSum) {
  // softmax(1, 2, 3) = (e^-2, e^-1, 1) / (1 + e^-1 + e^-2)
  float x[3] = {1, 2, 3};
  Softmax(x, 3);
  EXPECT_NEAR(x[0], 0.09003057f, kTol);
  EXPECT_NEAR(x[1], 0.24472847f, kTol);
  EXPECT_NEAR(x[2], 0.66524096f, kTol);
  EXPECT_NEAR(x[0] + x[1] + x[2], 1.0f, kTol);
}

TEST(SoftmaxTest, StableForLargeLogits) {
  float x[3] = {1000, 1000, -1000};
  Softmax(x, 3);
  EXPECT_NEAR(x[0], 0.5f, kTol);
  EXPECT_NEAR(x[1], 0.5f, kTol);
  EXPECT_EQ(x[2], 0.0f);
  float one[1] = {-3};
  Softmax(one, 1);
  EXPECT_EQ(one[0], 1.0f);
}

TEST(SiluMulTest, KnownValues) {
  // silu(g) = g * sigmoid(g): silu(0) = 0, silu(1) = 0.7310586, silu(-1) = -0.2689414
  const float gate[3] = {0, 1, -1};
  const float up[3] = {5, 2, -3};
  float out[3];
  SiluMul(gate, up, out, 3);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], 2 * 0.7310586f, kTol);
  EXPECT_NEAR(out[2], -3 * -0.2689414f, kTol);
}

TEST(DotTest, OddLengthsIncludingTail) {
  for (size_t n : {0u, 1u, 7u, 8u, 13u, 64u, 67u}) {
    std::vector<float> a(n), b(n);
    double want = 0;
    for (size_t i = 0; i < n; ++i) {
      a[i] = static_cast<float>(i) * 0.5f - 3.0f;
      b[i] = 1.0f / static_cast<float>(i + 1);
      want += static_cast<double>(a[i]) * b[i];
    }
    EXPECT_NEAR(Dot(a.data(), b.data(), n), want, 1e-4) << "n = " << n;
  }
}

TEST(MatMulTest, F32MatrixByHand) {
  // W = [[1, 2, 3], [4, 5, 6]], x = [1, 0, -1] -> [1 - 3, 4 - 6] = [-2, -2]
  const float w[6] = {1, 2, 3, 4, 5, 6};
  const float x[3] = {1, 0, -1};
  float out[2];
  float scratch[3];
  ASSERT_TRUE(MatVec(QuantType::kF32, w, 3 * sizeof(float), 2, 3, x, out, scratch));
  EXPECT_EQ(out[0], -2.0f);
  EXPECT_EQ(out[1], -2.0f);
}

TEST(MatMulTest, UnalignedF32RowsAreCopied) {
  // The same matrix one byte past an aligned address: read through the row scratch.
  std::vector<uint8_t> bytes(1 + 6 * sizeof(float));
  const float w[6] = {1, 2, 3, 4, 5, 6};
  std::memcpy(bytes.data() + 1, w, sizeof(w));
  const float x[3] = {1, 1, 1};
  float out[2];
  float scratch[3];
  ASSERT_TRUE(MatVec(QuantType::kF32, bytes.data() + 1, 12, 2, 3, x, out, scratch));
  EXPECT_EQ(out[0], 6.0f);
  EXPECT_EQ(out[1], 15.0f);
}

// One Q4_1 block (32 elements): fp16 d = 0.5 (0x3800), fp16 m = -1 (0xBC00), qs[j] = j | (15-j)
// << 4, so y[j] = j * 0.5 - 1 and y[j + 16] = (15 - j) * 0.5 - 1 for j < 16.
std::vector<uint8_t> Q4_1Row() {
  std::vector<uint8_t> b(20);
  b[0] = 0x00; b[1] = 0x38;  // d = 0.5
  b[2] = 0x00; b[3] = 0xBC;  // m = -1
  for (int j = 0; j < 16; ++j) b[4 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  return b;
}

float Q4_1RowValue(int i) { return i < 16 ? i * 0.5f - 1 : (15 - (i - 16)) * 0.5f - 1; }

TEST(MatMulTest, Q4_1RowsBatchAndRowRange) {
  // Two rows: row 0 the block above, row 1 the same block with m = +1 (0x3C00): values + 2.
  std::vector<uint8_t> w = Q4_1Row();
  std::vector<uint8_t> r1 = Q4_1Row();
  r1[3] = 0x3C;
  w.insert(w.end(), r1.begin(), r1.end());
  // Two input vectors: all ones, and e_5 (picks element 5).
  std::vector<float> x(64, 0.0f);
  for (int i = 0; i < 32; ++i) x[i] = 1.0f;
  x[32 + 5] = 1.0f;
  double sum0 = 0;
  for (int i = 0; i < 32; ++i) sum0 += Q4_1RowValue(i);
  std::vector<float> out(2 * 3, -7.0f);  // out_stride 3 > rows: the padding stays untouched
  float scratch[32];
  ASSERT_TRUE(MatMulRows(QuantType::kQ4_1, w.data(), 20, 32, 0, 2, x.data(), 2, out.data(), 3,
                         scratch));
  EXPECT_NEAR(out[0], sum0, 1e-4);
  EXPECT_NEAR(out[1], sum0 + 64, 1e-4);
  EXPECT_EQ(out[2], -7.0f);
  EXPECT_NEAR(out[3], Q4_1RowValue(5), 1e-6);  // 5 * 0.5 - 1 = 1.5
  EXPECT_NEAR(out[4], Q4_1RowValue(5) + 2, 1e-6);
  EXPECT_EQ(out[5], -7.0f);

  // Only row 1: row 0's outputs are not written.
  std::vector<float> out2(2, -7.0f);
  ASSERT_TRUE(MatMulRows(QuantType::kQ4_1, w.data(), 20, 32, 1, 2, x.data(), 1, out2.data(), 2,
                         scratch));
  EXPECT_EQ(out2[0], -7.0f);
  EXPECT_NEAR(out2[1], sum0 + 64, 1e-4);
}

TEST(MatMulTest, Q8_0Row) {
  // fp16 d = 0.25 (0x3400), qs[j] = j - 16: y[j] = (j - 16) / 4. x = all 2 -> sum((j-16)/4) * 2
  // = ((0 + ... + 31) - 16 * 32) / 4 * 2 = (496 - 512) / 2 = -8
  std::vector<uint8_t> w(34);
  w[0] = 0x00; w[1] = 0x34;
  for (int j = 0; j < 32; ++j) w[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
  std::vector<float> x(32, 2.0f);
  float out[1];
  float scratch[32];
  ASSERT_TRUE(MatVec(QuantType::kQ8_0, w.data(), 34, 1, 32, x.data(), out, scratch));
  EXPECT_NEAR(out[0], -8.0f, 1e-6);
}

TEST(MatMulTest, RejectsActivationOnlyTypeAndBadWidth) {
  std::vector<uint8_t> w(36, 0);
  std::vector<float> x(32, 1.0f);
  float out[1] = {42.0f};
  float scratch[32];
  EXPECT_FALSE(IsWeightTypeSupported(QuantType::kQ8_1));
  EXPECT_FALSE(MatVec(QuantType::kQ8_1, w.data(), 36, 1, 32, x.data(), out, scratch));
  EXPECT_EQ(out[0], 42.0f);
  // 16 columns are not a whole Q4_1 block.
  EXPECT_FALSE(MatVec(QuantType::kQ4_1, w.data(), 10, 1, 16, x.data(), out, scratch));
  for (QuantType t : {QuantType::kF32, QuantType::kF16, QuantType::kBF16, QuantType::kQ4_0,
                      QuantType::kQ4_1, QuantType::kQ8_0, QuantType::kQ4_K, QuantType::kQ6_K}) {
    EXPECT_TRUE(IsWeightTypeSupported(t));
  }
}

TEST(AttentionTest, SingleKeyReturnsItsValue) {
  const float q[2] = {3, -1};
  const float k[2] = {0.5f, 2};
  const float v[2] = {7, 8};
  float scores[1];
  float out[2];
  AttentionSingleQuery(q, k, v, 1, 2, 2, 0.125f, scores, out);
  EXPECT_EQ(scores[0], 1.0f);
  EXPECT_EQ(out[0], 7.0f);
  EXPECT_EQ(out[1], 8.0f);
}

TEST(AttentionTest, TwoKeysWithStrideAndScale) {
  // Keys/values of one head inside rows of 4 floats (two heads interleaved, stride 4).
  // q = [1, 0]; k0 = [0, 0], k1 = [2, 0]; scale 0.5 -> scores [0, 1]
  // p = [1 / (1 + e), e / (1 + e)] = [0.26894142, 0.73105858]; v0 = [1, 0], v1 = [0, 1]
  const float q[2] = {1, 0};
  const float k[8] = {0, 0, 99, 99, 2, 0, 99, 99};
  const float v[8] = {1, 0, 99, 99, 0, 1, 99, 99};
  float scores[2];
  float out[2];
  AttentionSingleQuery(q, k, v, 2, 2, 4, 0.5f, scores, out);
  EXPECT_NEAR(scores[0], 0.26894142f, kTol);
  EXPECT_NEAR(scores[1], 0.73105858f, kTol);
  EXPECT_NEAR(out[0], 0.26894142f, kTol);
  EXPECT_NEAR(out[1], 0.73105858f, kTol);
}

TEST(RopeTest, TableFormEqualsRopeAdjacent) {
  // RopeCosSin + RopeApply must be bit-equal to RopeAdjacent (same angles, same arithmetic).
  for (size_t rot : {2u, 6u, 8u}) {
    std::vector<float> a(3 * 8), b;
    for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(static_cast<float>(i) * 0.7f) * 3;
    b = a;
    std::vector<float> cs(rot);
    RopeAdjacent(a.data(), 3, 8, rot, 1234, 10000.0f);
    RopeCosSin(1234, rot, 10000.0f, cs.data());
    RopeApply(b.data(), 3, 8, rot, cs.data());
    EXPECT_EQ(a, b) << "rot " << rot;
  }
}

TEST(AttentionTest, MultiQueryEqualsSingleQueries) {
  // Two queries with different causal lengths over the same 3 keys (head_dim 2, stride 3).
  const float k[9] = {1, 0, 9, 0, 1, 9, 1, 1, 9};
  const float v[9] = {1, 2, 9, 3, 4, 9, 5, 6, 9};
  const float q0[2] = {0.5f, -1}, q1[2] = {2, 1};
  const float* qs[2] = {q0, q1};
  float out0[2], out1[2], want0[2], want1[2], scores[6], s[3];
  float* outs[2] = {out0, out1};
  const size_t n_ctx[2] = {2, 3};
  AttentionMultiQuery({2, qs, outs, n_ctx, k, v, 3, 2, 0.7f, scores, 3});
  AttentionSingleQuery(q0, k, v, 2, 2, 3, 0.7f, s, want0);
  AttentionSingleQuery(q1, k, v, 3, 2, 3, 0.7f, s, want1);
  EXPECT_EQ(out0[0], want0[0]);
  EXPECT_EQ(out0[1], want0[1]);
  EXPECT_EQ(out1[0], want1[0]);
  EXPECT_EQ(out1[1], want1[1]);
}

// ---- SIMD ops against the scalar references --------------------------------------------------
//
// Tolerance: |simd - ref| <= kAbs + kRel * |ref| per element, kAbs = kRel = 2e-6 for the
// element-wise ops. The SIMD versions differ only in float rounding: 8-wide partial sums
// instead of double (RMSNorm, softmax) or sequential sums (dot), FMA contractions, and a
// polynomial exp with ~2 ulp error (see ops_avx2.cpp). Inputs are O(1), so a few ulp of
// relative error (1 ulp = 6e-8) plus sum reordering over <= 1000 terms stays well inside.
// Dot products and attention outputs are sums of n products: their bound scales with the sum
// of |terms| (not with |result|, which can cancel): kRel * sum|a_i b_i|.
// Sizes are odd on purpose, to cover the scalar tails after the 8-wide loops.
constexpr float kAbs = 2e-6f;
constexpr float kRel = 2e-6f;

std::vector<cpu::Isa> SimdLevels() {
  std::vector<cpu::Isa> levels;
  for (cpu::Isa isa : {cpu::Isa::kAvx2, cpu::Isa::kAvx512}) {
    if (cpu::IsaSupported(isa)) levels.push_back(isa);
  }
  return levels;
}

std::vector<float> RandomVector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void ExpectClose(const std::vector<float>& got, const std::vector<float>& want, const char* what,
                 size_t n) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], kAbs + kRel * std::fabs(want[i]))
        << what << " n=" << n << " i=" << i;
  }
}

TEST(SimdOpsTest, ElementwiseOpsMatchReference) {
  const auto levels = SimdLevels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
  for (cpu::Isa isa : levels) {
    const cpu::OpsKernels& k = cpu::OpsFor(isa);
    for (size_t n : {1u, 7u, 8u, 9u, 31u, 64u, 100u, 577u, 1000u}) {
      const std::vector<float> x = RandomVector(n, 1 + static_cast<uint32_t>(n), 3.0f);
      const std::vector<float> y = RandomVector(n, 100 + static_cast<uint32_t>(n), 2.0f);
      std::vector<float> want(n), got(n);

      RmsNorm(x.data(), y.data(), want.data(), n, 1e-5f);
      k.rms_norm(x.data(), y.data(), got.data(), n, 1e-5f);
      ExpectClose(got, want, "rms_norm", n);

      // Softmax over logits spread wide enough that many exps underflow towards 0.
      want = RandomVector(n, 7 + static_cast<uint32_t>(n), 40.0f);
      got = want;
      Softmax(want.data(), n);
      k.softmax(got.data(), n);
      ExpectClose(got, want, "softmax", n);

      // SiLU over a range that reaches both saturated ends (exp overflow / underflow).
      const std::vector<float> g = RandomVector(n, 3 + static_cast<uint32_t>(n), 100.0f);
      SiluMul(g.data(), y.data(), want.data(), n);
      k.silu_mul(g.data(), y.data(), got.data(), n);
      ExpectClose(got, want, "silu_mul", n);

      double sum_abs = 0;
      for (size_t i = 0; i < n; ++i) sum_abs += std::fabs(x[i] * y[i]);
      EXPECT_NEAR(k.dot(x.data(), y.data(), n), Dot(x.data(), y.data(), n),
                  kAbs + kRel * sum_abs)
          << "dot n=" << n;
    }
  }
}

TEST(SimdOpsTest, RopeApplyMatchesReference) {
  const auto levels = SimdLevels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
  for (cpu::Isa isa : levels) {
    // (head_dim, rot_dims): full and partial rotation, head sizes that leave scalar tails.
    for (auto [d, rot] : {std::pair<size_t, size_t>{64, 64}, {64, 32}, {10, 10}, {18, 14},
                          {128, 128}, {6, 2}}) {
      const size_t heads = 3;
      std::vector<float> want = RandomVector(heads * d, static_cast<uint32_t>(d + rot), 4.0f);
      std::vector<float> got = want;
      std::vector<float> cs(rot);
      RopeCosSin(777, rot, 10000.0f, cs.data());
      RopeApply(want.data(), heads, d, rot, cs.data());
      cpu::OpsFor(isa).rope_apply(got.data(), heads, d, rot, cs.data());
      ExpectClose(got, want, "rope", d);
    }
  }
}

TEST(SimdOpsTest, AttentionMatchesReference) {
  const auto levels = SimdLevels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
  for (cpu::Isa isa : levels) {
    // head_dim 8 multiples take the SIMD kernel, others its reference fallback; query counts
    // and causal lengths cover groups of 4, leftovers and partial key blocks.
    for (size_t d : {8u, 24u, 64u, 72u, 6u}) {
      for (size_t nq : {1u, 3u, 4u, 7u, 12u}) {
        const size_t stride = 3 * d + 5;  // one head inside wider, unaligned rows
        const size_t max_ctx = 77;
        const std::vector<float> kv = RandomVector(2 * max_ctx * stride, 11, 2.0f);
        const float* k = kv.data();
        const float* v = kv.data() + max_ctx * stride;
        const std::vector<float> qv = RandomVector(nq * d, 13 + static_cast<uint32_t>(nq), 2.0f);
        std::vector<const float*> q(nq);
        std::vector<size_t> n_ctx(nq);
        std::vector<float> want(nq * d), got(nq * d), scores(nq * max_ctx);
        std::vector<float*> out_want(nq), out_got(nq);
        for (size_t i = 0; i < nq; ++i) {
          q[i] = qv.data() + i * d;
          n_ctx[i] = max_ctx - (nq - 1 - i) * 5;  // causal: later queries see more keys
          out_want[i] = want.data() + i * d;
          out_got[i] = got.data() + i * d;
        }
        const float scale = 1.0f / std::sqrt(static_cast<float>(d));
        AttentionMultiQuery({nq, q.data(), out_want.data(), n_ctx.data(), k, v, stride, d, scale,
                             scores.data(), max_ctx});
        cpu::OpsFor(isa).attention({nq, q.data(), out_got.data(), n_ctx.data(), k, v, stride, d,
                                    scale, scores.data(), max_ctx});
        // out = sum_j p_j V_j with sum p_j = 1 and |V| <= 2: errors scale with max |V| = 2.
        for (size_t i = 0; i < nq * d; ++i) {
          EXPECT_NEAR(got[i], want[i], 2 * (kAbs + kRel * 2))
              << "attention d=" << d << " nq=" << nq << " i=" << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace spatten::kernels::ref
