// Scalar references for the integer dot products of quantized weights with quantized
// activations (the CPU matvec path). SIMD versions in kernels/cpu/ are tested against these.
//
// Scheme: an activation row of n floats is first quantized to 8-bit blocks in the format the
// weight type pairs with (ActFormatFor); each weight row is then dotted with it block by
// block, multiplying 8-bit integers and applying the block scales once per block.
//
//   weight type   activation   per-block contribution
//   Q4_0          Q8_0         dw * da * sum((qw - 8) * qa)
//   Q4_1          Q8_1         dw * da * sum(qw * qa) + mw * sa      (sa = da * sum(qa))
//   Q8_0          Q8_0         dw * da * sum(qw * qa)
//   Q4_K          Q8_K         da * (dw * sum_s sc_s * sum(q * qa) - dmin * sum_s m_s * bsum_s)
//   Q6_K          Q8_K         da * dw * sum_g sc_g * sum((q - 32) * qa)
//
// Activation block layouts (little-endian, packed, no alignment assumed):
//   Q8_0: fp16 d, int8 qs[32]                              34 bytes per 32 values
//   Q8_1: fp16 d, fp16 s, int8 qs[32]                      36 bytes per 32 values
//   Q8_K: f32 d, int8 qs[256], int16 bsums[16]             292 bytes per 256 values
//         (bsums[g] = sum of qs[16g .. 16g+15])
//
// Activation quantization follows what llama.cpp's x86 build computes, so that logits can be
// compared with it: Q8_0/Q8_1 use d = amax / 127, multiply by 127 / amax and round half to
// even; Q8_K is llama.cpp's reference (scale -127 / max, keeping the sign of the largest-
// magnitude value). Quants of Q8_0/Q8_1 are in [-127, 127]: the SIMD dot products rely on it
// (they negate activation quants). A block whose fp16 scale rounds to zero (|x| < ~4e-6
// everywhere) is stored as all zeros. Inputs must be finite.
//
// All functions: n = number of values in the row, a multiple of the format's block size
// (32 or 256; callers check). Pure, thread-safe, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/quant_types.h"

namespace spatten::kernels {

// 8-bit activation formats. (Q8_K has ggml type id 15 but is not a QuantType: we never load it.)
enum class ActFormat : uint8_t { kNone = 0, kQ8_0, kQ8_1, kQ8_K };

// The activation format a weight type is dotted with; kNone for types without a quantized
// dot product (f32, f16, bf16, q8_1).
ActFormat ActFormatFor(QuantType weight_type);
const char* ActFormatName(ActFormat fmt);  // "q8_0", "q8_1", "q8_K", "none"
size_t ActBlockElems(ActFormat fmt);       // 32, 32, 256; 0 for kNone
size_t ActBlockBytes(ActFormat fmt);       // 34, 36, 292; 0 for kNone
// Bytes of one quantized activation row of n values (n a multiple of the block size).
size_t ActRowBytes(ActFormat fmt, size_t n);

namespace ref {

// x: [n] floats  ->  y: [n / 32][34] (Q8_0), [n / 32][36] (Q8_1), [n / 256][292] (Q8_K)
void QuantizeRowQ8_0(const float* x, void* y, size_t n);
void QuantizeRowQ8_1(const float* x, void* y, size_t n);
void QuantizeRowQ8_K(const float* x, void* y, size_t n);
// Dispatches on fmt; false (writing nothing) for kNone or an n that is not a whole number
// of blocks.
bool QuantizeRow(ActFormat fmt, const float* x, void* y, size_t n);

// Dot product of one weight row with one quantized activation row, both of n values.
//   w_row: [n / block][block_bytes] of the weight type
//   a_row: [n / block][block_bytes] of ActFormatFor(weight type)
float VecDotQ4_0(size_t n, const void* w_row, const void* a_row);  // x Q8_0
float VecDotQ4_1(size_t n, const void* w_row, const void* a_row);  // x Q8_1
float VecDotQ8_0(size_t n, const void* w_row, const void* a_row);  // x Q8_0
float VecDotQ4_K(size_t n, const void* w_row, const void* a_row);  // x Q8_K
float VecDotQ6_K(size_t n, const void* w_row, const void* a_row);  // x Q8_K

}  // namespace ref
}  // namespace spatten::kernels
