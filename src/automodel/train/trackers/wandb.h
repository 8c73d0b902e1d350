// The `wandb:` tracker: an offline W&B run, <dir>/wandb/offline-run-<YYYYMMDD_HHMMSS>-<id>/, that
// `wandb sync` uploads later: the resolved recipe as config, training.jsonl's scalars and val_loss
// as one history row per step, the last values as summary, and the exit code.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "automodel/config/tracker_sections.h"
#include "automodel/train/metric_sink.h"

namespace automodel::train {

// A number as W&B's value_json: integers without a fraction, NaN/Infinity as Python's json.
std::string wandb_json_number(double v);

// Creates the run folder now, so a bad dir (or mode: online, which this build cannot do) is an
// error at start. A resumed training (`resume_step` > 0) keeps the run id saved in
// <checkpoint_dir>/wandb_run_id, so `wandb sync` appends its folder to the same run.
std::unique_ptr<MetricSink> make_wandb_sink(const config::WandbSection& section, const nlohmann::json& recipe,
                                            const std::filesystem::path& checkpoint_dir, int64_t resume_step);

}  // namespace automodel::train
