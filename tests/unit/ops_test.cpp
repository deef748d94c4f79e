// Unit tests for the scalar reference ops (kernels/ref/ops.h).
//
// Expected values are worked out by hand from the op definitions (shown in comments) or with
// std:: math written out in the test; the code under test never produces an expectation.
#include "kernels/ref/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

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

}  // namespace
}  // namespace spatten::kernels::ref
