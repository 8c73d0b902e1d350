#include "automodel/hf/adapter_config.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/hf/json_fields.h"

namespace automodel::hf {

double AdapterConfig::effective_alpha() const {
  return use_rslora ? lora_alpha * std::sqrt(static_cast<double>(r)) : lora_alpha;
}

AdapterConfig parse_adapter_config(const std::string& text, const std::string& label) {
  auto root = std::make_shared<const nlohmann::json>(parse_json(text, label));
  AM_CHECK(root->is_object() && root->contains("r") && root->contains("lora_alpha"),
           "[peft] {}: expected a LoRA adapter_config.json with 'r' and 'lora_alpha'", label);
  JsonFields fields(root, label);
  auto peft_type = fields.get_string("peft_type", "LORA");
  AM_CHECK(peft_type == "LORA", "[peft] {}: peft_type '{}' is not supported (LORA only)", label, peft_type);
  AM_CHECK(!fields.get_bool("use_dora", false), "[peft] {}: DoRA adapters are not supported", label);
  AdapterConfig out;
  // Ranks beyond 2^20 are not adapters but a mistyped file; the bound keeps r * dims in range.
  out.r = fields.get_int("r");
  AM_CHECK(out.r >= 1 && out.r <= (int64_t{1} << 20), "[peft] {}: expected an integer in [1, 2^20], found {}",
           fields.where("r"), out.r);
  out.lora_alpha = fields.get_double("lora_alpha");
  AM_CHECK(std::isfinite(out.lora_alpha), "[peft] {}: expected a finite number, found {}", fields.where("lora_alpha"),
           out.lora_alpha);
  out.use_rslora = fields.get_bool("use_rslora", false);
  AM_CHECK(std::isfinite(out.effective_alpha()), "[peft] {}: lora_alpha {} overflows once scaled by sqrt(r) (use_rslora)",
           label, out.lora_alpha);
  if (fields.has("target_modules") && fields.raw("target_modules").is_array())
    out.target_modules = fields.get_string_list("target_modules");
  return out;
}

}  // namespace automodel::hf
