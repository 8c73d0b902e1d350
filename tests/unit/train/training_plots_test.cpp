// Training-curve pictures from jsonl logs: PNG and SVG content (checked by Pillow and an XML
// parser), clear errors naming file and line for bad logs, and a plot sink that never throws.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "automodel/common/error.h"
#include "automodel/train/plots/training_plots.h"
#include "test_util.h"
#include "unit/train/plot_checks.h"

namespace automodel::train {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// `steps` lines as MetricsLog writes them (warmup then decay, a falling loss), validation every
// `val_every` steps and at step 0.
void write_run(const fs::path& dir, int steps, int val_every) {
  std::ofstream train(dir / "training.jsonl"), val(dir / "validation.jsonl");
  val << R"({"step":0,"epoch":0,"val_loss":5.5,"num_label_tokens":100})" << "\n";
  for (int s = 1; s <= steps; ++s) {
    const double lr = s < 5 ? 1e-3 * s / 5 : 1e-3 * (1 + std::cos(M_PI * (s - 5) / steps)) / 2;
    train << fmt::format(R"({{"step":{},"epoch":0,"loss":{},"grad_norm":{},"lr":{},"tps":{},"tps_per_gpu":{},)"
                         R"("mfu":null,"mem":0.5,"num_label_tokens":120}})",
                         s, 5.0 * std::exp(-s / 20.0) + 0.1 * std::sin(s), 1.0 + 0.3 * std::cos(s * 0.7), lr,
                         900 + 50 * std::sin(s * 0.3), 900)
          << "\n";
    if (s % val_every == 0) val << fmt::format(R"({{"step":{},"epoch":0,"val_loss":{}}})", s, 5.0 * std::exp(-s / 25.0)) << "\n";
  }
}

std::string error_of(const fs::path& dir) {
  return testing::error_message_of<Error>([&] { write_training_plots(dir); });
}

TEST(TrainingPlots, WritesPngAndSvgWithOneLinePerCurve) {
  TempDir dir;
  write_run(dir.path(), 40, 10);
  const auto files = write_training_plots(dir.path());
  EXPECT_EQ(files.png, dir / "training_curves.png");
  EXPECT_EQ(files.svg, dir / "training_curves.svg");
  EXPECT_FALSE(fs::exists(dir / "training_curves.png.tmp"));
  testing::expect_training_pictures(dir.path(), 40, 5);
}

TEST(TrainingPlots, RedrawingReplacesThePictures) {
  TempDir dir;
  write_run(dir.path(), 10, 5);
  write_training_plots(dir.path());
  write_run(dir.path(), 30, 5);  // the run went on
  write_training_plots(dir.path());
  testing::expect_training_pictures(dir.path(), 30, 7);
}

TEST(TrainingPlots, WithoutValidationOrWithOneStep) {
  TempDir dir;
  write_run(dir.path(), 1, 100);
  fs::remove(dir / "validation.jsonl");
  write_training_plots(dir.path());
  testing::expect_training_pictures(dir.path(), 1, 0);
}

TEST(TrainingPlots, NullValuesAreGapsNotErrors) {
  TempDir dir;
  std::ofstream(dir / "training.jsonl") << R"({"step":1,"loss":2.0,"grad_norm":1,"lr":0.1,"tps":5})" << "\n"
                                        << R"({"step":2,"loss":null,"grad_norm":1,"lr":0.1,"tps":5})" << "\n\n"
                                        << R"({"step":3,"loss":1.5,"grad_norm":1,"lr":0.1,"tps":5})" << "\n";
  const auto figure = training_figure(read_run_curves(dir.path()));
  ASSERT_EQ(figure.panels.size(), 4u);
  EXPECT_EQ(figure.panels[0].series.at(0).x, (std::vector<double>{1, 3}));
  EXPECT_EQ(figure.panels[1].series.at(0).x, (std::vector<double>{1, 2, 3}));
  EXPECT_NO_THROW(write_training_plots(dir.path()));
}

TEST(TrainingPlots, LongRunsAreThinnedKeepingSpikes) {
  RunCurves c;
  for (int s = 1; s <= 100000; ++s) {
    c.step.push_back(s);
    c.loss.push_back(s == 77777 ? 50.0 : 2.0);
    c.grad_norm.push_back(1);
    c.lr.push_back(1e-4);
    c.tps.push_back(1000);
  }
  const auto loss = training_figure(c).panels[0].series.at(0);
  EXPECT_LE(loss.x.size(), 4000u);
  EXPECT_GE(loss.x.size(), 1000u);
  EXPECT_EQ(*std::max_element(loss.y.begin(), loss.y.end()), 50.0);
  EXPECT_TRUE(std::is_sorted(loss.x.begin(), loss.x.end()));
}

TEST(TrainingPlots, BadLogsNameFileAndLine) {
  TempDir dir;
  EXPECT_NE(error_of(dir / "nope").find("nope/training.jsonl not found"), std::string::npos) << error_of(dir / "nope");
  std::ofstream(dir / "training.jsonl").flush();
  auto e = error_of(dir.path());
  EXPECT_NE(e.find("training.jsonl:1: expected at least one step, found an empty file"), std::string::npos) << e;
  std::ofstream(dir / "training.jsonl") << R"({"step":1,"loss":2,"grad_norm":1,"lr":0.1,"tps":5})" << "\n"
                                        << R"({"step":2,"loss":2,"grad_norm":1,"lr":0.1,"tps":5})" << "\n"
                                        << R"({"step":3,"loss":2,"grad_norm)" << "\n";
  e = error_of(dir.path());
  EXPECT_NE(e.find("training.jsonl:3: expected one JSON object per line"), std::string::npos) << e;
  std::ofstream(dir / "training.jsonl") << R"({"step":1,"loss":2,"grad_norm":1,"lr":0.1,"tps":5})" << "\n"
                                        << R"({"step":2,"grad_norm":1,"lr":0.1,"tps":5})" << "\n";
  e = error_of(dir.path());
  EXPECT_NE(e.find("training.jsonl:2: expected key \"loss\""), std::string::npos) << e;
  std::ofstream(dir / "training.jsonl") << R"({"step":1,"loss":"2","grad_norm":1,"lr":0.1,"tps":5})" << "\n";
  e = error_of(dir.path());
  EXPECT_NE(e.find("training.jsonl:1: expected a number under \"loss\", found \"2\""), std::string::npos) << e;
  std::ofstream(dir / "training.jsonl") << R"({"step":1,"loss":2,"grad_norm":1,"lr":0.1,"tps":5})" << "\n";
  std::ofstream(dir / "validation.jsonl") << R"({"step":0,"val_loss":3})" << "\n" << "[1, 2]\n";
  e = error_of(dir.path());
  EXPECT_NE(e.find("validation.jsonl:2: expected one JSON object per line"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir / "training_curves.png"));
}

TEST(TrainingPlots, UnwritableTargetIsAnErrorAndTheSinkOnlyWarns) {
  TempDir dir;
  write_run(dir.path(), 5, 5);
  fs::create_directories(dir / "training_curves.png" / "in_the_way");
  auto e = error_of(dir.path());
  EXPECT_NE(e.find("cannot replace"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir / "training_curves.png.tmp"));
  auto sink = make_plot_sink(dir.path());
  StepMetrics m;
  m.step = 5;
  sink->log_step(m);
  EXPECT_NO_THROW(sink->finish(true));
  // Drawing still works afterwards in the same process.
  fs::remove_all(dir / "training_curves.png");
  EXPECT_NO_THROW(write_training_plots(dir.path()));
}

TEST(TrainingPlots, SinkDrawsWhenTheRunFinishes) {
  TempDir dir;
  auto sink = make_plot_sink(dir.path());
  sink->finish(false);  // nothing logged, no training.jsonl: nothing to draw, no warning
  EXPECT_FALSE(fs::exists(dir / "training_curves.png"));
  write_run(dir.path(), 12, 6);
  sink->finish(true);
  testing::expect_training_pictures(dir.path(), 12, 3);
}

}  // namespace
}  // namespace automodel::train
