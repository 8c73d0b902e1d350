// Element types of safetensors files, with their on-disk names and sizes (no torch here).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace automodel::hf {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };

std::string_view dtype_name(DType dtype);
size_t dtype_size(DType dtype);
std::optional<DType> parse_dtype(std::string_view name);
std::vector<std::string> dtype_names();
// User-facing names: "fp32"/"float32"/"bf16"/"bfloat16"/"fp16"/"float16" (config.json's
// torch_dtype and CLI flags).
std::optional<DType> parse_dtype_alias(std::string_view name);
// The dtypes models compute in (a recipe's model.torch_dtype, --dtype): fp32, bf16, fp16 under
// any alias above; nullopt for anything else (fp64 included: autocast has no fp64 path).
std::optional<DType> parse_compute_dtype_alias(std::string_view name);
inline constexpr std::string_view kComputeDtypeNames =
    "fp32, bf16 or fp16 (or float32, bfloat16, float16, with or without torch.)";

}  // namespace automodel::hf
