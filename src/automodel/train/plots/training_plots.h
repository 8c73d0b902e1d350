// Pictures of a run: loss (with validation loss), learning rate, gradient norm and throughput
// against step, drawn from training.jsonl / validation.jsonl as training_curves.png and .svg
// beside them; at the end of every training run and by `automodel plot RUN_DIR`.
#pragma once

#include <filesystem>
#include <memory>

#include "automodel/train/metric_sink.h"
#include "automodel/train/plots/plot_figure.h"
#include "automodel/train/plots/run_curves.h"

namespace automodel::train {

struct TrainingPlots {
  std::filesystem::path png, svg;
};

// The 2 x 2 grid of panels for `curves` (long runs thinned to a few thousand points per curve,
// keeping each bucket's extremes so spikes stay visible).
Figure training_figure(const RunCurves& curves);

// Reads `run_dir`'s jsonl files and writes both pictures into it. Throws automodel::Error naming
// the file and line of bad input, or what failed while drawing.
TrainingPlots write_training_plots(const std::filesystem::path& run_dir);

// A MetricSink that draws the pictures when the run finishes (also after a stop signal or an
// error). Never throws: a failure is one warning, and the run's outcome is unchanged.
std::unique_ptr<MetricSink> make_plot_sink(const std::filesystem::path& run_dir);

}  // namespace automodel::train
