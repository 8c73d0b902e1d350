#include "automodel/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace automodel::train {

LrSchedule::LrSchedule(const config::LrSchedulerSection& section, double base_lr, int64_t total_steps)
    : s_(section), base_lr_(base_lr) {
  warmup_ = s_.warmup_steps >= 0 ? s_.warmup_steps : std::min<int64_t>(1000, total_steps / 10);
  decay_steps_ = s_.decay_steps > 0 ? s_.decay_steps : total_steps;
  min_lr_ = s_.min_lr >= 0 ? s_.min_lr : 0.01 * base_lr;
  wsd_decay_ = s_.wsd_decay_steps > 0 ? s_.wsd_decay_steps : std::max<int64_t>(1, (decay_steps_ - warmup_) / 10);
}

double LrSchedule::at(int64_t step) const {
  if (!s_.enabled) return base_lr_;
  // Warmup counts from step 1 so the first update does not use lr = init_lr = 0.
  if (step < warmup_) return s_.init_lr + (base_lr_ - s_.init_lr) * static_cast<double>(step + 1) / warmup_;
  if (s_.decay_style == "constant") return base_lr_;
  if (step >= decay_steps_) return min_lr_;
  double span = static_cast<double>(std::max<int64_t>(1, decay_steps_ - warmup_));
  double ratio = static_cast<double>(step - warmup_) / span;
  double coeff = 1.0;
  if (s_.decay_style == "linear") {
    coeff = 1.0 - ratio;
  } else if (s_.decay_style == "cosine") {
    coeff = 0.5 * (std::cos(std::numbers::pi * ratio) + 1.0);
  } else {  // WSD: stable, then decay over the last wsd_decay steps
    int64_t decay_start = decay_steps_ - wsd_decay_;
    if (step < decay_start) return base_lr_;
    double r = static_cast<double>(step - decay_start) / static_cast<double>(wsd_decay_);
    coeff = s_.wsd_decay_style == "cosine" ? 0.5 * (std::cos(std::numbers::pi * r) + 1.0) : 1.0 - r;
  }
  return min_lr_ + coeff * (base_lr_ - min_lr_);
}

}  // namespace automodel::train
