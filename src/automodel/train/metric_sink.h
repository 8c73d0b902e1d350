// What one optimizer step and one validation report, and the interface experiment trackers
// (TensorBoard, MLflow, ...) implement to receive them beside training.jsonl.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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

struct ValidationMetrics {
  int64_t step = 0, epoch = 0;  // step 0 = before training
  double val_loss = 0;
  int64_t num_label_tokens = 0;
};

// The scalars trackers log per step, named as training.jsonl's keys (mfu only when known).
std::vector<std::pair<std::string, double>> step_scalars(const StepMetrics& m);

// A tracker. Calls come from rank 0 only, in step order. A sink that throws is dropped by
// MetricsLog with one warning: a tracker never stops training.
class MetricSink {
 public:
  virtual ~MetricSink() = default;
  virtual std::string name() const = 0;  // the recipe section, for messages
  virtual void log_step(const StepMetrics& m) = 0;
  virtual void log_validation(const ValidationMetrics& v) = 0;
  // The last checkpoint's model/ folder (adapter or HF weights), once written.
  virtual void final_model(const std::filesystem::path& model_dir) { (void)model_dir; }
  // End of the run: `ok` false when training stopped on an error.
  virtual void finish(bool ok) { (void)ok; }
};

}  // namespace automodel::train
