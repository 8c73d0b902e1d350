#include "automodel/peft/lora_linear.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/dropout.h>
#include <ATen/ops/matmul.h>

#include <memory>

#include "automodel/common/error.h"

namespace automodel::peft {

LoraLinear::LoraLinear(int64_t in_features, int64_t out_features, const LoraOptions& options)
    : LinearLayer(in_features, out_features),
      options_(options),
      scale_(options.alpha / static_cast<double>(options.rank)) {}

LoraLinear& LoraLinear::wrap(models::Module& root, const std::string& name, const LoraOptions& options,
                             at::ScalarType adapter_dtype) {
  auto* base = dynamic_cast<models::LinearLayer*>(root.find_module(name));
  AM_CHECK(base, "[peft] '{}' is not a linear module of this model", name);
  AM_CHECK(!dynamic_cast<LoraLinear*>(base), "[peft] '{}' already has a LoRA adapter", name);
  AM_CHECK(options.rank > 0, "[peft] '{}': LoRA rank must be positive, found {}", name, options.rank);
  // The wrapper takes the base's place first (replace_module checks the parent accepts it and
  // changes nothing otherwise), then adopts the base it displaced: nothing fails in between.
  const auto adapter_options = base->weight().options().dtype(adapter_dtype);
  std::unique_ptr<LoraLinear> owned(new LoraLinear(base->in_features(), base->out_features(), options));
  LoraLinear& lora = *owned;
  auto displaced = root.replace_module(name, std::move(owned));
  std::unique_ptr<models::LinearLayer> adopted(static_cast<models::LinearLayer*>(displaced.release()));  // == base
  lora.base_ = lora.add_inline_module(std::move(adopted));
  // Registered after the base so the parameter order stays weight, bias, lora_A, lora_B.
  lora.lora_A_ = lora.add_module("lora_A", std::make_unique<models::Linear>(base->in_features(), options.rank, false,
                                                                            adapter_options));
  lora.lora_B_ = lora.add_module("lora_B", std::make_unique<models::Linear>(options.rank, base->out_features(), false,
                                                                            adapter_options));
  lora.set_training(base->training());
  return lora;
}

at::Tensor LoraLinear::forward(const at::Tensor& x) const {
  auto out = base_->forward(x);  // (..., out), the base's dtype
  // The adapter may be fp32 over a bf16 base: compute it in its own dtype.
  auto h = x.to(lora_A_->weight().scalar_type());
  const bool drop = options_.dropout > 0 && training();
  if (drop && options_.dropout_pre) h = at::dropout(h, options_.dropout, true);
  auto delta = lora_B_->forward(lora_A_->forward(h)) * scale_;  // (..., out)
  if (drop && !options_.dropout_pre) delta = at::dropout(delta, options_.dropout, true);
  return out + delta.to(out.scalar_type());
}

at::Tensor LoraLinear::merged_weight() const {
  const auto& w = base_->weight();
  auto delta = at::matmul(lora_B_->weight().to(at::kFloat), lora_A_->weight().to(at::kFloat)) * scale_;
  if (base_->fan_in_fan_out()) delta = delta.t();  // the base stores (in, out)
  return (w.to(at::kFloat) + delta).to(w.scalar_type());
}

void LoraLinear::export_parameters(const std::string& prefix, const models::NameFilter& include,
                                   models::NamedTensors& out) const {
  const size_t first = out.size();
  base_->export_parameters(prefix, include, out);
  for (size_t i = first; i < out.size(); ++i)
    if (out[i].first == prefix + "weight") out[i].second = merged_weight();
}

std::vector<std::string> adaptable_modules(models::Module& root) {
  std::vector<std::string> out;
  for (auto& [name, module] : root.named_modules()) {
    const auto leaf = name.substr(name.rfind('.') + 1);
    if (dynamic_cast<models::LinearLayer*>(module) && leaf != "lora_A" && leaf != "lora_B") out.push_back(name);
  }
  return out;
}

}  // namespace automodel::peft
