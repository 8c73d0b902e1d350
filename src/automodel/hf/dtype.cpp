#include "automodel/hf/dtype.h"

#include <array>
#include <utility>

namespace automodel::hf {
namespace {
struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size;
};
constexpr std::array<DTypeInfo, 12> kDTypes{{
    {DType::F64, "F64", 8},     {DType::F32, "F32", 4},         {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},   {DType::I64, "I64", 8},         {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},     {DType::I8, "I8", 1},           {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},   {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
}};
}  // namespace

std::string_view dtype_name(DType dtype) { return kDTypes[static_cast<size_t>(dtype)].name; }
size_t dtype_size(DType dtype) { return kDTypes[static_cast<size_t>(dtype)].size; }

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& info : kDTypes)
    if (info.name == name) return info.dtype;
  return std::nullopt;
}

std::vector<std::string> dtype_names() {
  std::vector<std::string> out;
  for (const auto& info : kDTypes) out.emplace_back(info.name);
  return out;
}

std::optional<DType> parse_dtype_alias(std::string_view name) {
  // Recipes write torch's own spelling (torch_dtype: torch.bfloat16).
  if (name.starts_with("torch.")) name.remove_prefix(6);
  static const std::pair<std::string_view, DType> kAliases[] = {
      {"fp32", DType::F32},     {"float32", DType::F32}, {"float", DType::F32},
      {"bf16", DType::BF16},    {"bfloat16", DType::BF16}, {"fp16", DType::F16},
      {"float16", DType::F16},  {"half", DType::F16},    {"fp64", DType::F64},
      {"float64", DType::F64},
  };
  for (const auto& [alias, dtype] : kAliases)
    if (alias == name) return dtype;
  return parse_dtype(name);
}

std::optional<DType> parse_compute_dtype_alias(std::string_view name) {
  auto dtype = parse_dtype_alias(name);
  if (dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16) return dtype;
  return std::nullopt;
}

}  // namespace automodel::hf
