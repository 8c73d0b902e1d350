#include "automodel/train/plots/training_plots.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>
#include <system_error>
#include <utility>

#include "automodel/common/logging.h"

namespace fs = std::filesystem;

namespace automodel::train {
namespace {

constexpr size_t kMaxPoints = 4000;  // per curve: beyond the pixels a panel has

// Curve colours (matplotlib's first five), also what tests look for in the SVG.
constexpr uint32_t kTrainLoss = 0x1f77b4, kValLoss = 0xff7f0e, kLr = 0x2ca02c, kGradNorm = 0xd62728,
                   kTps = 0x9467bd;

// The finite (x, y) pairs; NaN/inf entries (logged as null) would break a polyline.
Series make_series(std::string label, const std::vector<double>& x, const std::vector<double>& y, uint32_t rgb) {
  Series s;
  s.label = std::move(label);
  s.rgb = rgb;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i)
    if (std::isfinite(x[i]) && std::isfinite(y[i])) {
      s.x.push_back(x[i]);
      s.y.push_back(y[i]);
    }
  if (s.x.size() <= kMaxPoints) return s;
  // Thin to each bucket's lowest and highest point, in step order, so spikes survive.
  const size_t bucket = (s.x.size() + kMaxPoints / 2 - 1) / (kMaxPoints / 2);
  std::vector<double> x2, y2;
  for (size_t lo = 0; lo < s.x.size(); lo += bucket) {
    const size_t hi = std::min(lo + bucket, s.x.size());
    const auto [mn, mx] = std::minmax_element(s.y.begin() + lo, s.y.begin() + hi);
    size_t a = mn - s.y.begin(), b = mx - s.y.begin();
    if (a > b) std::swap(a, b);
    x2.push_back(s.x[a]);
    y2.push_back(s.y[a]);
    if (b != a) {
      x2.push_back(s.x[b]);
      y2.push_back(s.y[b]);
    }
  }
  s.x = std::move(x2);
  s.y = std::move(y2);
  return s;
}

Panel panel(std::string title, std::string y_label, std::vector<Series> series) {
  return Panel{std::move(title), "step", std::move(y_label), std::move(series)};
}

}  // namespace

Figure training_figure(const RunCurves& c) {
  Figure f;
  std::vector<Series> loss{make_series("train loss", c.step, c.loss, kTrainLoss)};
  if (!c.val_step.empty()) {
    loss.push_back(make_series("val loss", c.val_step, c.val_loss, kValLoss));
    loss.back().markers = true;  // validation is sparse: show where it was measured
  }
  f.panels.push_back(panel("Loss", "loss", std::move(loss)));
  f.panels.push_back(panel("Learning rate", "lr", {make_series("lr", c.step, c.lr, kLr)}));
  f.panels.push_back(panel("Gradient norm", "grad norm",
                           {make_series("grad norm", c.step, c.grad_norm, kGradNorm)}));
  f.panels.push_back(panel("Throughput", "tokens/s", {make_series("tps", c.step, c.tps, kTps)}));
  return f;
}

TrainingPlots write_training_plots(const fs::path& run_dir) {
  const Figure figure = training_figure(read_run_curves(run_dir));
  TrainingPlots out{run_dir / "training_curves.png", run_dir / "training_curves.svg"};
  render_figure(figure, out.png, ImageFormat::kPng);
  render_figure(figure, out.svg, ImageFormat::kSvg);
  return out;
}

namespace {

class PlotSink : public MetricSink {
 public:
  explicit PlotSink(fs::path dir) : dir_(std::move(dir)) {}
  std::string name() const override { return "plot"; }
  void log_step(const StepMetrics&) override { any_ = true; }
  void log_validation(const ValidationMetrics&) override {}
  void finish(bool) override {
    // A run that logged nothing new (resumed at its last step, or failed in setup) may still
    // have history from before: draw whenever training.jsonl has steps.
    std::error_code ec;
    if (!any_ && (!fs::exists(dir_ / "training.jsonl", ec) || fs::file_size(dir_ / "training.jsonl", ec) == 0)) return;
    try {
      const auto files = write_training_plots(dir_);
      log_info("training curves: {} (and {})", files.png.string(), files.svg.filename().string());
    } catch (const std::exception& e) {
      log_warn("training curves not drawn, the run is unaffected ({}); `automodel plot {}` retries", e.what(),
               dir_.string());
    }
  }

 private:
  fs::path dir_;
  bool any_ = false;
};

}  // namespace

std::unique_ptr<MetricSink> make_plot_sink(const fs::path& run_dir) { return std::make_unique<PlotSink>(run_dir); }

}  // namespace automodel::train
