// Run-time ISA selection and the row-range GEMV / GEMM helpers (see dispatch.h).
// Compiled with the project's baseline flags only: nothing here may execute an AVX
// instruction; the ISA files are reached only through the tables built below.
#include "kernels/cpu/dispatch.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/ref/quant_dot.h"

#if defined(__x86_64__) || defined(_M_X64)
#define SPATTEN_KERNELS_X86 1
#include <cpuid.h>
#else
#define SPATTEN_KERNELS_X86 0
#endif

namespace spatten::kernels::cpu {
namespace {

// Tile built from single dots: no sharing of decoded blocks (the scalar level).
template <VecDotFn kDot>
void DotTile(size_t n, const void* w, size_t w_stride, size_t nr, const void* a, size_t a_stride,
             size_t na, float* out) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  for (size_t r = 0; r < nr; ++r) {
    for (size_t j = 0; j < na; ++j) out[r * na + j] = kDot(n, wb + r * w_stride, ab + j * a_stride);
  }
}

QuantDotKernels ScalarKernels() {
  QuantDotKernels k{};
  k.isa = Isa::kScalar;
  k.quantize_q8_0 = ref::QuantizeRowQ8_0;
  k.quantize_q8_1 = ref::QuantizeRowQ8_1;
  k.quantize_q8_K = ref::QuantizeRowQ8_K;
  k.q4_0 = {ActFormat::kQ8_0, ref::VecDotQ4_0, DotTile<ref::VecDotQ4_0>, 1};
  k.q4_1 = {ActFormat::kQ8_1, ref::VecDotQ4_1, DotTile<ref::VecDotQ4_1>, 1};
  k.q8_0 = {ActFormat::kQ8_0, ref::VecDotQ8_0, DotTile<ref::VecDotQ8_0>, 1};
  k.q4_K = {ActFormat::kQ8_K, ref::VecDotQ4_K, DotTile<ref::VecDotQ4_K>, 1};
  k.q6_K = {ActFormat::kQ8_K, ref::VecDotQ6_K, DotTile<ref::VecDotQ6_K>, 1};
  return k;
}

#if SPATTEN_KERNELS_X86
// F16C is CPUID leaf 1, ECX bit 29 (not every compiler's __builtin_cpu_supports knows it).
// Every AVX2 CPU made has it, but check rather than assume.
bool CpuHasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & (1u << 29)) != 0;
}

bool CpuRuns(Isa isa) {
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the YMM / ZMM state (XCR0), which
  // F16C (an AVX-state extension) then needs too: it is only trusted alongside AVX2.
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && CpuHasF16c();
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return avx2;
    case Isa::kAvx512:
      return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
}
#endif  // SPATTEN_KERNELS_X86

OpsKernels ScalarOps() {
  OpsKernels k{};
  k.isa = Isa::kScalar;
  k.rms_norm = ref::RmsNorm;
  k.rope_apply = ref::RopeApply;
  k.softmax = ref::Softmax;
  k.silu_mul = ref::SiluMul;
  k.dot = ref::Dot;
  k.attention = ref::AttentionMultiQuery;
  return k;
}

struct Tables {
  Isa best = Isa::kScalar;
  QuantDotKernels by_isa[3];  // indexed by Isa; levels above `best` hold the `best` table
  OpsKernels ops_by_isa[3];   // likewise
};

const Tables& GetTables() {
  static const Tables tables = [] {
    Tables t;
    t.by_isa[0] = ScalarKernels();
    t.by_isa[1] = t.by_isa[0];
    t.by_isa[2] = t.by_isa[0];
    for (OpsKernels& o : t.ops_by_isa) o = ScalarOps();
#if SPATTEN_KERNELS_X86
    if (CpuRuns(Isa::kAvx2)) {
      t.best = Isa::kAvx2;
      t.by_isa[1].isa = Isa::kAvx2;
      detail::FillAvx2Kernels(&t.by_isa[1]);
      t.by_isa[2] = t.by_isa[1];
      t.ops_by_isa[1].isa = Isa::kAvx2;
      detail::FillAvx2Ops(&t.ops_by_isa[1]);
      t.ops_by_isa[2] = t.ops_by_isa[1];
      if (CpuRuns(Isa::kAvx512)) {
        t.best = Isa::kAvx512;
        t.by_isa[2].isa = Isa::kAvx512;
        detail::FillAvx512Kernels(&t.by_isa[2]);
        t.ops_by_isa[2].isa = Isa::kAvx512;
      }
    }
#endif
    return t;
  }();
  return tables;
}

Isa IsaFromEnv(Isa best) {
  const char* env = std::getenv("SPATTEN_CPU_ISA");
  if (env == nullptr || *env == '\0' || std::strcmp(env, "auto") == 0) return best;
  Isa wanted;
  if (std::strcmp(env, "scalar") == 0) {
    wanted = Isa::kScalar;
  } else if (std::strcmp(env, "avx2") == 0) {
    wanted = Isa::kAvx2;
  } else if (std::strcmp(env, "avx512") == 0) {
    wanted = Isa::kAvx512;
  } else {
    std::fprintf(stderr,
                 "spatten: SPATTEN_CPU_ISA=%s not recognised (scalar|avx2|avx512|auto); using %s\n",
                 env, IsaName(best));
    return best;
  }
  if (static_cast<int>(wanted) > static_cast<int>(best)) {
    std::fprintf(stderr, "spatten: SPATTEN_CPU_ISA=%s is not supported by this CPU; using %s\n",
                 env, IsaName(best));
    return best;
  }
  return wanted;
}

Isa ActiveLevel() {
  static const Isa active = IsaFromEnv(GetTables().best);
  return active;
}

struct RowGeometry {
  const WeightDotKernels* kernels;
  size_t row_bytes;
};

// Validates a GEMV / GEMM request; kernels == nullptr when it cannot run.
RowGeometry CheckRequest(const QuantDotKernels& k, QuantType type, size_t rows, size_t cols,
                         size_t r0, size_t r1) {
  const WeightDotKernels* wk = WeightKernelsFor(k, type);
  const auto info = LookupQuantType(static_cast<uint32_t>(type));
  if (wk == nullptr || !info || cols % info->block_elems != 0 ||
      cols % ActBlockElems(wk->act) != 0 || r0 > r1 || r1 > rows) {
    return {nullptr, 0};
  }
  return {wk, cols / info->block_elems * info->block_bytes};
}

}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "unknown";
}

bool IsaSupported(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(BestIsa()); }
Isa BestIsa() { return GetTables().best; }
Isa ActiveIsa() { return ActiveLevel(); }

const QuantDotKernels& KernelsFor(Isa isa) {
  const auto index = static_cast<size_t>(isa);
  return GetTables().by_isa[index < 3 ? index : 0];
}

const QuantDotKernels& ActiveKernels() {
  static const QuantDotKernels& active = KernelsFor(ActiveLevel());
  return active;
}

const OpsKernels& OpsFor(Isa isa) {
  const auto index = static_cast<size_t>(isa);
  return GetTables().ops_by_isa[index < 3 ? index : 0];
}

const OpsKernels& ActiveOps() {
  static const OpsKernels& active = OpsFor(ActiveLevel());
  return active;
}

QuantizeRowFn QuantizeFnFor(const QuantDotKernels& k, ActFormat fmt) {
  switch (fmt) {
    case ActFormat::kQ8_0: return k.quantize_q8_0;
    case ActFormat::kQ8_1: return k.quantize_q8_1;
    case ActFormat::kQ8_K: return k.quantize_q8_K;
    case ActFormat::kNone: break;
  }
  return nullptr;
}

const WeightDotKernels* WeightKernelsFor(const QuantDotKernels& k, QuantType weight_type) {
  const WeightDotKernels* wk = nullptr;
  switch (weight_type) {
    case QuantType::kQ4_0: wk = &k.q4_0; break;
    case QuantType::kQ4_1: wk = &k.q4_1; break;
    case QuantType::kQ8_0: wk = &k.q8_0; break;
    case QuantType::kQ4_K: wk = &k.q4_K; break;
    case QuantType::kQ6_K: wk = &k.q6_K; break;
    case QuantType::kF32:
    case QuantType::kF16:
    case QuantType::kBF16:
    case QuantType::kQ8_1: break;
  }
  return (wk != nullptr && wk->dot != nullptr) ? wk : nullptr;
}

bool MatVecQuant(const QuantDotKernels& k, QuantType type, const void* w, size_t rows, size_t cols,
                 const void* a_q, float* y, size_t r0, size_t r1) {
  const RowGeometry g = CheckRequest(k, type, rows, cols, r0, r1);
  if (g.kernels == nullptr) return false;
  const VecDotTileFn tile = g.kernels->dot_tile;
  const size_t tile_rows = std::clamp<size_t>(g.kernels->tile_rows, 1, kMaxTileRows);
  const auto* wb = static_cast<const uint8_t*>(w);
  for (size_t r = r0; r < r1; r += tile_rows) {
    tile(cols, wb + r * g.row_bytes, g.row_bytes, std::min(tile_rows, r1 - r), a_q, 0, 1, y + r);
  }
  return true;
}

bool MatVecQuant(QuantType type, const void* w, size_t rows, size_t cols, const void* a_q, float* y,
                 size_t r0, size_t r1) {
  return MatVecQuant(ActiveKernels(), type, w, rows, cols, a_q, y, r0, r1);
}

bool MatMulQuant(const QuantDotKernels& k, QuantType type, const void* w, size_t rows, size_t cols,
                 const void* a_q, size_t a_stride, size_t n, float* y, size_t y_stride, size_t r0,
                 size_t r1) {
  const RowGeometry g = CheckRequest(k, type, rows, cols, r0, r1);
  if (g.kernels == nullptr) return false;
  if (n == 1) return MatVecQuant(k, type, w, rows, cols, a_q, y, r0, r1);
  const VecDotTileFn tile = g.kernels->dot_tile;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a_q);

  // Weight rows in groups of about 64 KiB, so that a group stays in L2 while every activation
  // passes over it; within a group, tiles of tile_rows rows x kMaxTileCols activations (those
  // activations stay in L1 while the group's rows pass over them).
  constexpr size_t kGroupBytes = 64 * 1024;
  const size_t tile_rows = std::clamp<size_t>(g.kernels->tile_rows, 1, kMaxTileRows);
  const size_t group_rows =
      std::clamp<size_t>(kGroupBytes / std::max<size_t>(g.row_bytes, 1), tile_rows, 1024);
  float out[kMaxTileRows * kMaxTileCols];
  for (size_t g0 = r0; g0 < r1; g0 += group_rows) {
    const size_t g1 = std::min(r1, g0 + group_rows);
    for (size_t j0 = 0; j0 < n; j0 += kMaxTileCols) {
      const size_t na = std::min(kMaxTileCols, n - j0);
      for (size_t r = g0; r < g1; r += tile_rows) {
        const size_t nr = std::min(tile_rows, g1 - r);
        tile(cols, wb + r * g.row_bytes, g.row_bytes, nr, ab + j0 * a_stride, a_stride, na, out);
        for (size_t i = 0; i < nr; ++i) {
          for (size_t j = 0; j < na; ++j) y[(j0 + j) * y_stride + r + i] = out[i * na + j];
        }
      }
    }
  }
  return true;
}

bool MatMulQuant(QuantType type, const void* w, size_t rows, size_t cols, const void* a_q,
                 size_t a_stride, size_t n, float* y, size_t y_stride, size_t r0, size_t r1) {
  return MatMulQuant(ActiveKernels(), type, w, rows, cols, a_q, a_stride, n, y, y_stride, r0, r1);
}

}  // namespace spatten::kernels::cpu
