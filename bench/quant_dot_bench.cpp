// GEMV / GEMM throughput of the quantized dot-product kernels, per ISA level, on the default
// model's matrix shapes (rows x cols = outputs x inputs):
//   576 x 576, 1536 x 576 and 576 x 1536 q4_1 (attention / FFN projections),
//   49152 x 576 q8_0 (token embedding used as the output matrix);
// plus 576 x 1536 q4_K / q6_K for the K-quant kernels.
// One thread; the activation row is quantized once outside the timed loop (its cost is
// measured separately by BM_Quantize). Counters: GB/s of weight bytes streamed, rows/s.
//
//   ./build/bench/quant_dot_bench --benchmark_filter=MatVec
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/quant_types.h"
#include "kernels/ref/dequant.h"
#include "kernels/ref/quant_dot.h"

namespace {

using spatten::kernels::ActFormat;
using spatten::kernels::ActFormatFor;
using spatten::kernels::ActRowBytes;
using spatten::kernels::LookupQuantType;
using spatten::kernels::QuantType;
using spatten::kernels::cpu::Isa;

struct Shape {
  QuantType type;
  size_t rows;
  size_t cols;
};

constexpr Shape kShapes[] = {
    {QuantType::kQ4_1, 576, 576},
    {QuantType::kQ4_1, 1536, 576},
    {QuantType::kQ4_1, 576, 1536},
    {QuantType::kQ8_0, 49152, 576},
    // K-quants need rows that are whole 256-value super-blocks: the FFN-down shape only.
    {QuantType::kQ4_K, 576, 1536},
    {QuantType::kQ6_K, 576, 1536},
};

size_t RowBytes(QuantType t, size_t cols) {
  const auto info = LookupQuantType(static_cast<uint32_t>(t));
  return cols / info->block_elems * info->block_bytes;
}

// Random quants with small, finite fp16 scales: d (and m / dmin) open every block except
// q6_K's, whose d closes it.
std::vector<uint8_t> RandomWeights(QuantType t, size_t rows, size_t cols) {
  const auto info = LookupQuantType(static_cast<uint32_t>(t));
  std::vector<uint8_t> w(rows * RowBytes(t, cols));
  std::mt19937 rng(1234);
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  const uint16_t scale = spatten::kernels::ref::Fp32ToFp16(0.01f);
  for (size_t off = 0; off < w.size(); off += info->block_bytes) {
    if (t == QuantType::kQ6_K) {
      std::memcpy(&w[off + info->block_bytes - 2], &scale, 2);
      continue;
    }
    std::memcpy(&w[off], &scale, 2);
    if (t == QuantType::kQ4_1 || t == QuantType::kQ4_K) std::memcpy(&w[off + 2], &scale, 2);
  }
  return w;
}

std::vector<float> RandomActivations(size_t n) {
  std::mt19937 rng(99);
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(rng() % 2001) / 1000.0f - 1.0f;
  return x;
}

void BM_MatVec(benchmark::State& state, Isa isa, Shape s) {
  const auto& k = spatten::kernels::cpu::KernelsFor(isa);
  const std::vector<uint8_t> w = RandomWeights(s.type, s.rows, s.cols);
  const ActFormat fmt = ActFormatFor(s.type);
  const std::vector<float> x = RandomActivations(s.cols);
  std::vector<uint8_t> a(ActRowBytes(fmt, s.cols));
  spatten::kernels::cpu::QuantizeFnFor(k, fmt)(x.data(), a.data(), s.cols);
  std::vector<float> y(s.rows);
  for (auto _ : state) {
    spatten::kernels::cpu::MatVecQuant(k, s.type, w.data(), s.rows, s.cols, a.data(), y.data(), 0,
                                       s.rows);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(w.size()));
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(state.iterations() * s.rows),
                                                benchmark::Counter::kIsRate);
}

// n activation rows at once (prefill): weight blocks decoded once per group of columns.
void BM_MatMul(benchmark::State& state, Isa isa, Shape s, size_t n) {
  const auto& k = spatten::kernels::cpu::KernelsFor(isa);
  const std::vector<uint8_t> w = RandomWeights(s.type, s.rows, s.cols);
  const ActFormat fmt = ActFormatFor(s.type);
  const size_t a_stride = ActRowBytes(fmt, s.cols);
  std::vector<uint8_t> a(n * a_stride);
  const std::vector<float> x = RandomActivations(s.cols);
  for (size_t j = 0; j < n; ++j)
    spatten::kernels::cpu::QuantizeFnFor(k, fmt)(x.data(), &a[j * a_stride], s.cols);
  std::vector<float> y(n * s.rows);
  for (auto _ : state) {
    spatten::kernels::cpu::MatMulQuant(k, s.type, w.data(), s.rows, s.cols, a.data(), a_stride, n,
                                       y.data(), s.rows, 0, s.rows);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["row-dots/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * s.rows * n), benchmark::Counter::kIsRate);
}

void BM_Quantize(benchmark::State& state, Isa isa, ActFormat fmt, size_t n) {
  const auto& k = spatten::kernels::cpu::KernelsFor(isa);
  const std::vector<float> x = RandomActivations(n);
  std::vector<uint8_t> a(ActRowBytes(fmt, n));
  for (auto _ : state) {
    spatten::kernels::cpu::QuantizeFnFor(k, fmt)(x.data(), a.data(), n);
    benchmark::DoNotOptimize(a.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * sizeof(float)));
}

std::string ShapeName(const Shape& s) {
  return std::string(spatten::kernels::GgmlTypeName(static_cast<uint32_t>(s.type))) + "/" +
         std::to_string(s.rows) + "x" + std::to_string(s.cols);
}

}  // namespace

int main(int argc, char** argv) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!spatten::kernels::cpu::IsaSupported(isa)) continue;  // would silently run a lower level
    const std::string tag = spatten::kernels::cpu::IsaName(isa);
    for (const Shape& s : kShapes) {
      benchmark::RegisterBenchmark(("MatVec/" + ShapeName(s) + "/" + tag).c_str(), BM_MatVec, isa,
                                   s)
          ->Unit(benchmark::kMicrosecond);
    }
    const Shape ffn{QuantType::kQ4_1, 1536, 576};
    benchmark::RegisterBenchmark(("MatMul16/" + ShapeName(ffn) + "/" + tag).c_str(), BM_MatMul, isa,
                                 ffn, size_t{16})
        ->Unit(benchmark::kMicrosecond);
    for (ActFormat fmt : {ActFormat::kQ8_0, ActFormat::kQ8_1}) {
      benchmark::RegisterBenchmark(
          ("Quantize/" + std::string(spatten::kernels::ActFormatName(fmt)) + "/1536/" + tag)
              .c_str(),
          BM_Quantize, isa, fmt, size_t{1536});
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
