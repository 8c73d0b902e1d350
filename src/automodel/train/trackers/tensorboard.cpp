#include "automodel/train/trackers/tensorboard.h"

#include <system_error>

#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/train/trackers/tfevents.h"

namespace fs = std::filesystem;

namespace automodel::train {
namespace {

class TensorBoardSink : public MetricSink {
 public:
  TensorBoardSink(const fs::path& dir, int64_t resume_step) : writer_(dir) {
    if (resume_step > 0) writer_.write_event(tfevents::session_start_event(wall_time_now(), resume_step + 1));
  }
  std::string name() const override { return "tensorboard"; }
  void log_step(const StepMetrics& m) override {
    writer_.write_event(tfevents::scalars_event(wall_time_now(), m.step, step_scalars(m)));
  }
  void log_validation(const ValidationMetrics& v) override {
    writer_.write_event(tfevents::scalars_event(wall_time_now(), v.step, {{"val_loss", v.val_loss}}));
  }
  const fs::path& path() const { return writer_.path(); }

 private:
  EventFileWriter writer_;
};

}  // namespace

std::unique_ptr<MetricSink> make_tensorboard_sink(const config::TensorBoardSection& section, int64_t resume_step) {
  fs::path dir = fs::path(section.log_dir) / section.name;
  std::error_code ec;
  fs::create_directories(dir, ec);
  AM_CHECK(!ec && fs::is_directory(dir), "[config] tensorboard.log_dir: cannot create '{}': {}", dir.string(),
           ec ? ec.message() : "exists and is not a folder");
  try {
    auto sink = std::make_unique<TensorBoardSink>(dir, resume_step);
    log_info("tensorboard: writing {} (view: tensorboard --logdir {})", sink->path().string(), section.log_dir);
    return sink;
  } catch (const Error& e) {
    AM_FAIL("[config] tensorboard.log_dir: {}", e.what());
  }
}

}  // namespace automodel::train
