// Scalar reference dequantizers for every weight type the engine loads, plus fp16/bf16
// conversions. These are the ground truth that SIMD and CUDA kernels are tested against.
//
// All functions take raw pointers and element counts:
//   src: packed blocks of the given type, n / block_elems blocks   [n / block_elems][block_bytes]
//   dst: n floats                                                 [n]
// `n` must be a multiple of the type's block size (callers check; see quant_types.h).
// Pure functions: thread-safe, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/quant_types.h"

namespace spatten::kernels::ref {

float Fp16ToFp32(uint16_t h);
uint16_t Fp32ToFp16(float f);  // round to nearest even; overflow -> inf; NaN stays NaN
float Bf16ToFp32(uint16_t h);
uint16_t Fp32ToBf16(float f);  // round to nearest even; NaN stays NaN

void DequantizeF32(const void* src, float* dst, size_t n);
void DequantizeF16(const void* src, float* dst, size_t n);
void DequantizeBF16(const void* src, float* dst, size_t n);
void DequantizeQ4_0(const void* src, float* dst, size_t n);
void DequantizeQ4_1(const void* src, float* dst, size_t n);
void DequantizeQ8_0(const void* src, float* dst, size_t n);
void DequantizeQ4_K(const void* src, float* dst, size_t n);
void DequantizeQ6_K(const void* src, float* dst, size_t n);

// Dispatches on `type`. Returns false (writing nothing) for a type with no dequantizer or an
// `n` that is not a multiple of the block size.
bool Dequantize(QuantType type, const void* src, float* dst, size_t n);

}  // namespace spatten::kernels::ref
