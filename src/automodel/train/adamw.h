// Adam / AdamW over the trainable parameters with fp32 state (torch.optim semantics), plus
// global-norm gradient clipping. State is named by parameter so checkpoints store it as
// safetensors and a resumed run continues bit for bit.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "automodel/config/recipe_config.h"

namespace automodel::train {

struct TrainableParameter {
  std::string name;
  at::Tensor* tensor;  // the model's parameter (fp32 master when compute is bf16)
};

class AdamW {
 public:
  AdamW(std::vector<TrainableParameter> params, config::OptimizerSection options);
  // One update at learning rate `lr` from the parameters' .grad().
  void step(double lr);
  void zero_grad();
  int64_t step_count() const { return step_; }
  // Per parameter ("<name>.exp_avg"): exp_avg, exp_avg_sq and step, the updates it has had (as
  // torch, a parameter without a gradient, e.g. an expert no token reached, is not updated and
  // its bias correction does not advance).
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  // `step`: the optimizer's step count; also each parameter's when the state has no "<name>.step".
  void load_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors, int64_t step);
  const std::vector<TrainableParameter>& params() const { return params_; }

 private:
  std::vector<TrainableParameter> params_;
  config::OptimizerSection options_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  std::vector<int64_t> param_steps_;
  int64_t step_ = 0;
};

// Scales gradients so their global L2 norm is at most `max_norm` (<= 0: no clipping) and
// returns the norm before clipping, as torch.nn.utils.clip_grad_norm_.
double clip_grad_norm(const std::vector<TrainableParameter>& params, double max_norm);

}  // namespace automodel::train
