// Learning-rate schedules (Megatron's OptimizerParamScheduler as AutoModel configures it):
// linear warmup, then constant, linear, cosine or WSD decay to min_lr.
#pragma once

#include <cstdint>

#include "automodel/config/recipe_config.h"

namespace automodel::train {

class LrSchedule {
 public:
  // `total_steps`: optimizer steps of the run (the default decay length).
  LrSchedule(const config::LrSchedulerSection& section, double base_lr, int64_t total_steps);
  // lr for optimizer step `step` (0-based).
  double at(int64_t step) const;

 private:
  config::LrSchedulerSection s_;
  double base_lr_, min_lr_;
  int64_t warmup_, decay_steps_, wsd_decay_;
};

}  // namespace automodel::train
