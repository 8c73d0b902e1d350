// Training logs: one line per step (step | epoch | loss | grad_norm | lr | tps | mfu | mem) with
// a progress bar and ETA on a terminal, and training.jsonl / validation.jsonl with AutoModel's
// keys. Resuming keeps the files' history up to the resumed step.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace automodel::train {

struct StepMetrics {
  int64_t step = 0;  // 1-based optimizer step just finished
  int64_t epoch = 0;
  double loss = 0, grad_norm = 0, lr = 0;
  double tps = 0;                // real (non-padding) tokens per second
  std::optional<double> mfu;     // percent; unknown peak -> none
  double mem_gib = 0;            // peak resident memory
  int64_t num_label_tokens = 0;
};

class MetricsLog {
 public:
  // Files go in `dir` (created); lines with step > `resume_step` are dropped from existing ones.
  MetricsLog(const std::filesystem::path& dir, int64_t total_steps, int64_t resume_step);
  ~MetricsLog();
  void log_step(const StepMetrics& m);
  void log_validation(int64_t step, int64_t epoch, double val_loss, int64_t num_label_tokens);

 private:
  void append(const std::filesystem::path& file, const std::string& line);
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
