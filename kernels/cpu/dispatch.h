// CPU kernel selection: which instruction set the quantized dot products and the f32
// transformer ops (OpsKernels: RMSNorm, RoPE, softmax, SiLU*up, dot, attention) run with,
// chosen once at run time, plus the row-range GEMV / GEMM helpers built on the dots.
//
// Levels: kScalar (kernels/ref, any CPU), kAvx2 (AVX2 + FMA + F16C), kAvx512 (AVX-512 F/BW/VL
// + VNNI). The best level the CPU and OS support is used unless SPATTEN_CPU_ISA names a lower
// one ("scalar", "avx2", "avx512"; "auto" or unset = best). A level above what the machine
// supports is never used: requests are clamped down. On non-x86 builds only kScalar exists.
//
// This header is included by the per-ISA translation units, which are compiled with extra
// target flags: keep it free of inline function definitions, so that no AVX-512-compiled
// copy of a shared inline function can be picked by the linker for code that runs anywhere.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/quant_types.h"
#include "kernels/ref/ops.h"
#include "kernels/ref/quant_dot.h"

namespace spatten::kernels::cpu {

enum class Isa : uint8_t { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

const char* IsaName(Isa isa);  // "scalar", "avx2", "avx512"
bool IsaSupported(Isa isa);    // compiled in, and this CPU + OS can run it
Isa BestIsa();                 // highest supported level
Isa ActiveIsa();               // the level ActiveKernels() uses (BestIsa, lowered by the env)

// Activation quantizer: x [n] floats -> y, ActRowBytes(fmt, n) bytes.
using QuantizeRowFn = void (*)(const float* x, void* y, size_t n);
// One weight row (n values) dotted with one quantized activation row.
using VecDotFn = float (*)(size_t n, const void* w_row, const void* a_row);
// A tile of dot products: nr weight rows against na activation rows (1 <= nr <= kMaxTileRows,
// 1 <= na <= kMaxTileCols), each weight block decoded once for all na activations and each
// activation block once for all nr rows:
//   w:   [nr][w_stride bytes], each row n values of the weight type
//   a:   [na][a_stride bytes], each row ActRowBytes(fmt, n) bytes
//   out: [nr][na], out[r * na + j] = dot(w + r * w_stride, a + j * a_stride)
using VecDotTileFn = void (*)(size_t n, const void* w, size_t w_stride, size_t nr, const void* a,
                              size_t a_stride, size_t na, float* out);
inline constexpr size_t kMaxTileRows = 4;
inline constexpr size_t kMaxTileCols = 4;

struct WeightDotKernels {
  ActFormat act;  // activation format this weight type is dotted with
  VecDotFn dot;   // nullptr: no quantized dot for this type
  VecDotTileFn dot_tile;
  // Weight rows per tile that MatVecQuant / MatMulQuant use (1 .. kMaxTileRows), chosen per
  // ISA and type by measurement: several rows share each activation block's decode, which pays
  // for the 4-bit types, but interleaving rows can defeat the hardware prefetcher on long
  // rows streamed from memory (q8_0 ran several times slower with 2 rows than with 1).
  size_t tile_rows;
};

// Function-pointer table for one ISA level. Plain aggregate (no default member initializers).
struct QuantDotKernels {
  Isa isa;
  QuantizeRowFn quantize_q8_0;
  QuantizeRowFn quantize_q8_1;
  QuantizeRowFn quantize_q8_K;
  WeightDotKernels q4_0;
  WeightDotKernels q4_1;
  WeightDotKernels q8_0;
  WeightDotKernels q4_K;
  WeightDotKernels q6_K;
};

// The table for `isa`, clamped down to the best supported level (check .isa for what you
// got). Cheap: tables are built once.
const QuantDotKernels& KernelsFor(Isa isa);
// The table for ActiveIsa(); selected on first use, thread-safe.
const QuantDotKernels& ActiveKernels();

// Lookups into a table; nullptr for a format / weight type without kernels.
QuantizeRowFn QuantizeFnFor(const QuantDotKernels& k, ActFormat fmt);
const WeightDotKernels* WeightKernelsFor(const QuantDotKernels& k, QuantType weight_type);

// GEMV over weight rows [r0, r1): y[r] = dot(w row r, a_q) for r0 <= r < r1, in tiles of
// WeightDotKernels::tile_rows rows.
//   w:   [rows][row_bytes] weight of `type`, row_bytes = cols / block_elems * block_bytes
//   a_q: one activation row of `cols` values, quantized to ActFormatFor(type)
//   y:   [rows] floats; only [r0, r1) is written
// Returns false (writing nothing) for a type without a quantized dot, cols not a multiple of
// the block size, or a bad row range. Threading is the caller's: split [0, rows) into ranges.
bool MatVecQuant(const QuantDotKernels& k, QuantType type, const void* w, size_t rows, size_t cols,
                 const void* a_q, float* y, size_t r0, size_t r1);
bool MatVecQuant(QuantType type, const void* w, size_t rows, size_t cols, const void* a_q, float* y,
                 size_t r0, size_t r1);  // with ActiveKernels()

// GEMM over weight rows [r0, r1) for n activation rows:
//   a_q: [n][a_stride bytes], each row `cols` values quantized to ActFormatFor(type)
//   y:   [n][y_stride floats]; y[j * y_stride + r] = dot(w row r, activation j) for r0 <= r < r1
// Weight rows are taken in cache-sized groups, and within a group in tiles of tile_rows rows x
// up to kMaxTileCols activations. Same failure cases as MatVecQuant.
bool MatMulQuant(const QuantDotKernels& k, QuantType type, const void* w, size_t rows, size_t cols,
                 const void* a_q, size_t a_stride, size_t n, float* y, size_t y_stride, size_t r0,
                 size_t r1);
bool MatMulQuant(QuantType type, const void* w, size_t rows, size_t cols, const void* a_q,
                 size_t a_stride, size_t n, float* y, size_t y_stride, size_t r0, size_t r1);

// ---- f32 transformer ops -----------------------------------------------------------------
// Same contracts as their scalar references in kernels/ref/ops.h; results agree with them to
// float rounding (the SIMD versions sum in a different order, use FMA and a polynomial exp),
// not bit for bit. Selected by the same ISA level as the quantized dots.
struct OpsKernels {
  Isa isa;
  void (*rms_norm)(const float* x, const float* weight, float* out, size_t n, float eps);
  void (*rope_apply)(float* x, size_t n_heads, size_t head_dim, size_t rot_dims,
                     const float* cos_sin);
  void (*softmax)(float* x, size_t n);
  void (*silu_mul)(const float* gate, const float* up, float* out, size_t n);
  float (*dot)(const float* a, const float* b, size_t n);
  void (*attention)(const ref::AttentionBatch& batch);
};

// The ops table for `isa`, clamped down like KernelsFor; ActiveOps() follows ActiveIsa().
const OpsKernels& OpsFor(Isa isa);
const OpsKernels& ActiveOps();

namespace detail {
// Implemented by ops_avx2.cpp (x86 builds only): overwrite the entries AVX2 + FMA accelerate.
// (AVX-512 adds nothing worth a separate file for these memory- and latency-bound ops at the
// sizes of the models we run: the AVX-512 level reuses them.)
void FillAvx2Ops(OpsKernels* k);
// Implemented by quant_dot_avx2.cpp / quant_dot_avx512.cpp (x86 builds only): overwrite the
// entries of `k` that the ISA accelerates, leaving the others (scalar) as they are.
void FillAvx2Kernels(QuantDotKernels* k);
void FillAvx512Kernels(QuantDotKernels* k);
}  // namespace detail

}  // namespace spatten::kernels::cpu
