// Block geometry of the tensor types the engine loads.
#include "kernels/quant_types.h"

#include <array>

namespace spatten::kernels {
namespace {

constexpr std::array<QuantTypeInfo, 9> kSupported = {{
    {QuantType::kF32, "f32", 1, 4},
    {QuantType::kF16, "f16", 1, 2},
    {QuantType::kQ4_0, "q4_0", 32, 18},
    {QuantType::kQ4_1, "q4_1", 32, 20},
    {QuantType::kQ8_0, "q8_0", 32, 34},
    {QuantType::kQ8_1, "q8_1", 32, 36},
    {QuantType::kQ4_K, "q4_K", 256, 144},
    {QuantType::kQ6_K, "q6_K", 256, 210},
    {QuantType::kBF16, "bf16", 1, 2},
}};

// ggml's names for every type id up to 39, so that dumps and errors can name files that use
// types we do not load.
constexpr std::array<std::string_view, 40> kGgmlNames = {
    "f32", "f16", "q4_0", "q4_1", "type 4 (removed)", "type 5 (removed)", "q5_0", "q5_1",
    "q8_0", "q8_1", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq2_xxs", "iq2_xs",
    "iq3_xxs", "iq1_s", "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64",
    "f64", "iq1_m", "bf16", "type 31 (removed)", "type 32 (removed)", "type 33 (removed)",
    "tq1_0", "tq2_0", "type 36 (removed)", "type 37 (removed)", "type 38 (removed)", "mxfp4"};

}  // namespace

std::optional<QuantTypeInfo> LookupQuantType(uint32_t type_id) {
  for (const auto& info : kSupported) {
    if (static_cast<uint32_t>(info.type) == type_id) return info;
  }
  return std::nullopt;
}

std::string_view GgmlTypeName(uint32_t type_id) {
  if (type_id < kGgmlNames.size()) return kGgmlNames[type_id];
  return "unknown";
}

}  // namespace spatten::kernels
