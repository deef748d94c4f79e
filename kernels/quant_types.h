// Tensor element types as numbered in GGUF/ggml files, and their block geometry.
// Pointer + shape APIs only: this header knows nothing of files, models or the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace spatten::kernels {

// Values are the ggml type ids stored in GGUF tensor infos.
enum class QuantType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 8,
  kQ8_1 = 9,  // activation format only (never a weight type in files we load)
  kQ4_K = 12,
  kQ6_K = 14,
  kBF16 = 30,
};

struct QuantTypeInfo {
  QuantType type;
  std::string_view name;   // ggml's name, e.g. "q4_K"
  uint32_t block_elems;    // elements per block (1 for plain float types)
  uint32_t block_bytes;    // bytes per block
};

// Geometry of a type id read from a file; nullopt for ids this build cannot load.
std::optional<QuantTypeInfo> LookupQuantType(uint32_t type_id);

// Name of any ggml type id, including ones we cannot load ("type 7 (q5_0)" style names for
// known-but-unsupported ids, "type N" otherwise). Used in error messages and dumps.
std::string_view GgmlTypeName(uint32_t type_id);

}  // namespace spatten::kernels
