// LoraLinear: a low-rank update around any LinearLayer, installed in the model by module
// replacement. Parameter names stay PEFT's: the base keeps "<module>.weight"/".bias", the
// adapter is "<module>.lora_A.weight" (rank, in) and "<module>.lora_B.weight" (out, rank).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "automodel/models/common/layers.h"
#include "automodel/models/common/module.h"

namespace automodel::peft {

struct LoraOptions {
  int64_t rank = 8;
  double alpha = 32;     // scale = alpha / rank
  double dropout = 0.0;  // training only
  bool dropout_pre = false;  // on the input of A ("pre") or on the update ("post"), as AutoModel's LinearLoRA
};

// y = base(x) + scale * B(A(x)), the update computed in the adapter's dtype (fp32 over a bf16 base).
class LoraLinear : public models::LinearLayer {
 public:
  // Replaces the LinearLayer at `name` below `root` by a LoraLinear around it, with adapters of
  // `adapter_dtype` on the base's device, left uninitialised. Errors: no such module, not a
  // linear layer, already adapted, or a parent that cannot hold a LinearLayer there.
  static LoraLinear& wrap(models::Module& root, const std::string& name, const LoraOptions& options,
                          at::ScalarType adapter_dtype = at::kFloat);

  at::Tensor forward(const at::Tensor& x) const override;  // (..., in) -> (..., out)
  const at::Tensor& weight() const override { return base_->weight(); }
  bool fan_in_fan_out() const override { return base_->fan_in_fan_out(); }
  at::Tensor bias() const override { return base_->bias(); }
  // Writes the base's tensors with W replaced by merged_weight(), and no adapter tensors.
  void export_parameters(const std::string& prefix, const models::NameFilter& include,
                         models::NamedTensors& out) const override;

  // W + scale * B A, summed in fp32 and rounded once to W's dtype, in the base's layout.
  at::Tensor merged_weight() const;
  models::LinearLayer& base() const { return *base_; }
  models::Linear& lora_A() const { return *lora_A_; }  // (rank, in)
  models::Linear& lora_B() const { return *lora_B_; }  // (out, rank)
  double scale() const { return scale_; }
  const LoraOptions& options() const { return options_; }

 private:
  LoraLinear(int64_t in_features, int64_t out_features, const LoraOptions& options);
  LoraOptions options_;
  double scale_;
  models::Slot<models::LinearLayer> base_;
  models::Slot<models::Linear> lora_A_, lora_B_;
};

// Names of the linear modules below `root` that LoRA can wrap (not an adapter's lora_A/lora_B).
std::vector<std::string> adaptable_modules(models::Module& root);

}  // namespace automodel::peft
