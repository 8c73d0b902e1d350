// The `tensorboard:` tracker: training.jsonl's scalars at every step and val_loss at every
// validation, as TensorBoard event files in log_dir/name/.
#pragma once

#include <memory>

#include "automodel/config/tracker_sections.h"
#include "automodel/train/metric_sink.h"

namespace automodel::train {

// Creates the folder and the event file now, so a bad log_dir is an error at start. A run
// resumed after `resume_step` marks a restart there, so readers drop the old run's later steps.
std::unique_ptr<MetricSink> make_tensorboard_sink(const config::TensorBoardSection& section, int64_t resume_step);

}  // namespace automodel::train
