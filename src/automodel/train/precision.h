// Where and in which dtype a run computes: the device the recipe names (or the first GPU when
// there is one) and the compute dtype; bf16/fp16 compute runs under autocast over fp32 weights.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "automodel/config/recipe_config.h"

namespace automodel::train {

struct Precision {
  c10::Device device = c10::Device(c10::kCPU);
  at::ScalarType compute = at::kFloat;
};

// model.device ("auto": cuda:0 when a GPU is visible) and model.torch_dtype ("auto": bf16 on a
// GPU, fp32 on CPU).
Precision resolve_precision(const config::ModelSection& model);

// bf16 (or fp16) compute over fp32 weights for the scope of a forward; nothing in fp32.
class AutocastScope {
 public:
  explicit AutocastScope(const Precision& precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_, cuda_;
};

}  // namespace automodel::train
