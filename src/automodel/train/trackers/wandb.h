// The `wandb:` tracker: a W&B run with the resolved recipe as config, training.jsonl's scalars and
// val_loss as one history row per step, the last values as summary, and the exit code. Offline,
// <dir>/wandb/offline-run-<YYYYMMDD_HHMMSS>-<id>/ for `wandb sync` to upload later; online (with
// WANDB_API_KEY; server $WANDB_BASE_URL, default api.wandb.ai) streamed as it trains, with the
// same folder kept as run-<...>-<id>/.
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

// Creates the run folder (and, online, the run on the server) now, so a bad dir, a missing or
// rejected key or an unreachable server is an error at start. A resumed training (`resume_step` > 0) keeps the run id saved in
// <checkpoint_dir>/wandb_run_id, so `wandb sync` appends its folder to the same run.
std::unique_ptr<MetricSink> make_wandb_sink(const config::WandbSection& section, const nlohmann::json& recipe,
                                            const std::filesystem::path& checkpoint_dir, int64_t resume_step);

}  // namespace automodel::train
