// Training logs: one line per step (step | epoch | loss | grad_norm | lr | tps | mfu | mem) with
// a progress bar and ETA on a terminal, and training.jsonl / validation.jsonl with AutoModel's
// keys. Resuming keeps the files' history up to the resumed step.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "automodel/train/metric_sink.h"

namespace automodel::train {

class MetricsLog {
 public:
  // Files go in `dir` (created); lines with step > `resume_step` are dropped from existing ones.
  MetricsLog(const std::filesystem::path& dir, int64_t total_steps, int64_t resume_step);
  // Trackers are told the run's outcome here: failed when destroyed while an exception unwinds.
  ~MetricsLog();
  void log_step(const StepMetrics& m);
  void log_validation(int64_t step, int64_t epoch, double val_loss, int64_t num_label_tokens);
  // The final checkpoint's model/ folder, for trackers that store it.
  void log_final_model(const std::filesystem::path& model_dir);
  // Every later step and validation also goes to `sink`.
  void add_sink(std::unique_ptr<MetricSink> sink);

 private:
  void append(const std::filesystem::path& file, const std::string& line);
  // Calls `f` on each sink; one that throws is warned about once and dropped.
  template <typename F>
  void to_sinks(const F& f);
  std::vector<std::unique_ptr<MetricSink>> sinks_;
  std::filesystem::path train_file_, val_file_;
  int64_t total_steps_, first_step_;
  std::chrono::steady_clock::time_point start_;
  bool tty_;
};

// Peak resident set size of this process, GiB.
double peak_memory_gib();
// Model FLOPs per token for a training step (forward + backward): 6 N + 12 L H T (attention).
double train_flops_per_token(int64_t params, int64_t layers, int64_t hidden, int64_t seq_len);

}  // namespace automodel::train
