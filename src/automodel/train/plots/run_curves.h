// A run's metric history as plotting needs it: training.jsonl and validation.jsonl (the files
// MetricsLog writes into checkpoint_dir) read into per-metric series indexed by step.
#pragma once

#include <filesystem>
#include <vector>

namespace automodel::train {

struct RunCurves {
  // One entry per training.jsonl line; a value JSON could not hold (null: nan) is NaN.
  std::vector<double> step, loss, grad_norm, lr, tps;
  // One entry per validation.jsonl line (none when the run had no validation dataset).
  std::vector<double> val_step, val_loss;
};

// Reads `run_dir`/training.jsonl (required, at least one step) and validation.jsonl (optional).
// Errors name the file and 1-based line: "[plot] DIR/training.jsonl:3: ...".
RunCurves read_run_curves(const std::filesystem::path& run_dir);

}  // namespace automodel::train
